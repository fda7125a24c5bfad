package org.nestspark.job.pretrain;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nestspark.train.SlicedEval;
import org.nestspark.train.TrainStep;

/**
 * Validation on the executors: the weights are broadcast, each partition builds its validation batches with
 * {@link BatchSource} (eval features: no dither; noise, augmentation and masks from
 * {@link BatchSpec#validationSeed}, independent of the step) and scores them in eval mode (no dropout,
 * batch norm with running statistics). The same weights therefore always give the same numbers, which NeMo's
 * random validation does not.
 *
 * <p>{@code val_loss} is NeMo's: the mean over batches of each batch's masked-token loss (Lightning averages
 * the per-batch {@code val_loss}); {@code val_masked_accuracy} is the fraction of all selected tokens
 * predicted right. Batches with no selected token are left out of both (NeMo: NaN).
 */
public final class Validator {
  private Validator() {}

  /** The validation numbers of one set of weights. */
  public record Result(double valLoss, double valMaskedAccuracy, int batches, long selectedTokens)
      implements Serializable {}

  record BatchScore(double loss, double correct, long selected) implements Serializable {}

  /** The graph's configuration and parameters as the executors receive them. */
  record Weights(String configurationJson, INDArray params) implements Serializable {
    ComputationGraph graph() {
      ComputationGraph g =
          new ComputationGraph(ComputationGraphConfiguration.fromJson(configurationJson));
      g.init(params.dup(), false);
      return g;
    }
  }

  /**
   * Scores {@code graph} on {@code specs} on the executors.
   *
   * @param source builds validation batches ({@code training = false})
   * @param partitions Spark partitions of the validation batches
   * @param batchSlices {@code trainer.batch_slices} as written (0 = auto), resolved on each executor: every
   *     batch is scored as that many slices at the same time ({@link SlicedEval}), the same numbers
   */
  public static Result validate(
      JavaSparkContext sc,
      ComputationGraph graph,
      List<BatchSpec> specs,
      BatchSource source,
      int partitions,
      int batchSlices) {
    Broadcast<Weights> weights =
        sc.broadcast(new Weights(graph.getConfiguration().toJson(), graph.params()));
    try {
      List<BatchScore> scores =
          sc.parallelize(specs, Math.max(1, Math.min(partitions, specs.size())))
              .mapPartitions(new Score(weights, source, batchSlices))
              .collect();
      return combine(scores);
    } finally {
      weights.destroy();
    }
  }

  /** Scores batches in this JVM (single-process use and tests). */
  public static Result validateLocally(ComputationGraph graph, List<MultiDataSet> batches) {
    SlicedEval eval = new SlicedEval(graph, 1);
    List<BatchScore> scores = new ArrayList<>();
    for (MultiDataSet b : batches) {
      scores.add(score(eval, b));
    }
    return combine(scores);
  }

  static BatchScore score(SlicedEval eval, MultiDataSet b) {
    SlicedEval.Score s = eval.score(b);
    return new BatchScore(s.loss(), s.accuracy() * s.selected(), s.selected());
  }

  static Result combine(List<BatchScore> scores) {
    double lossSum = 0;
    double correct = 0;
    long selected = 0;
    for (BatchScore s : scores) {
      lossSum += s.loss();
      correct += s.correct();
      selected += s.selected();
    }
    int n = scores.size();
    return new Result(
        n == 0 ? Double.NaN : lossSum / n,
        selected == 0 ? Double.NaN : correct / selected,
        n,
        selected);
  }

  private static final class Score implements FlatMapFunction<Iterator<BatchSpec>, BatchScore> {
    private static final long serialVersionUID = 1L;
    private final Broadcast<Weights> weights;
    private final BatchSource source;
    private final int batchSlices;

    Score(Broadcast<Weights> weights, BatchSource source, int batchSlices) {
      this.weights = weights;
      this.source = source;
      this.batchSlices = batchSlices;
    }

    @Override
    public Iterator<BatchScore> call(Iterator<BatchSpec> specs) {
      org.nestspark.job.spark.TaskDevices.bindTaskGpu();
      Iterator<MultiDataSet> batches = source.call(specs);
      if (!batches.hasNext()) {
        return java.util.Collections.emptyIterator();
      }
      SlicedEval eval =
          new SlicedEval(weights.value().graph(), TrainStep.resolveBatchSlices(batchSlices));
      List<BatchScore> out = new ArrayList<>();
      while (batches.hasNext()) {
        out.add(score(eval, batches.next()));
      }
      return out.iterator();
    }
  }
}
