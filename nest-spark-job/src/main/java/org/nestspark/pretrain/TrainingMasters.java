package org.nestspark.pretrain;

import org.apache.spark.storage.StorageLevel;
import org.deeplearning4j.spark.api.RDDTrainingApproach;
import org.deeplearning4j.spark.api.Repartition;
import org.deeplearning4j.spark.api.TrainingMaster;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;

import org.nestspark.config.NestConfig;

/**
 * The DL4J training master configured by {@code pretrain.*}: DL4J's {@link ParameterAveragingTrainingMaster}
 * with one {@link org.nd4j.linalg.dataset.api.MultiDataSet} per batch ({@code batchSizePerWorker} =
 * {@code model.train_ds.batch_size}, so batches reach the graph as built), {@code averaging_frequency} local
 * steps between averages, AdamW moments averaged with the parameters, the data passed directly (no export
 * to disk) and cached at {@code storage_level} between DL4J's count and its training pass.
 *
 * <p>Batch-norm running statistics are parameters of the graph with a no-op updater, so they are averaged
 * with the weights each round; see the README for how this compares with NeMo's {@code sync_batchnorm}.
 */
public final class TrainingMasters {
  private TrainingMasters() {}

  public static ParameterAveragingTrainingMaster parameterAveraging(NestConfig cfg, int numWorkers, StepHook hook) {
    int batchSize = cfg.getInt("model.train_ds.batch_size");
    return new ParameterAveragingTrainingMaster.Builder(numWorkers, batchSize)
        .batchSizePerWorker(batchSize)
        .averagingFrequency(cfg.getInt("pretrain.averaging_frequency"))
        .saveUpdater(cfg.getBoolean("pretrain.average_updater_state"))
        .workerPrefetchNumBatches(cfg.getInt("pretrain.prefetch_batches"))
        .repartionData(repartition(cfg.getString("pretrain.repartition")))
        .storageLevel(StorageLevel.fromString(cfg.getString("pretrain.storage_level")))
        .rddTrainingApproach(RDDTrainingApproach.Direct)
        .rngSeed(cfg.getLong("data.seed"))
        .collectTrainingStats(false)
        .trainingHooks(hook)
        .build();
  }

  static Repartition repartition(String v) {
    switch (v) {
      case "always":
        return Repartition.Always;
      case "never":
        return Repartition.Never;
      case "num_partitions_workers_differs":
        return Repartition.NumPartitionsWorkersDiffers;
      default:
        throw new IllegalArgumentException("pretrain.repartition: " + v);
    }
  }

  /** A short description for logs. */
  public static String describe(TrainingMaster<?, ?> m, int workers, NestConfig cfg) {
    return m.getClass().getSimpleName() + " with " + workers + " workers, averaging every " + cfg.getInt("pretrain.averaging_frequency")
        + " steps, batch " + cfg.getInt("model.train_ds.batch_size");
  }
}
