package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.config.NestConfig;
import org.nestspark.model.NestGraph;
import org.nestspark.restore.InitFromPretrained;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.AdamW;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.TrainStep;

/**
 * Where an attempt starts (NeMo's exp_manager {@code resume_if_exists}, {@code init_from_pretrained}):
 * <ul>
 *   <li><b>resume</b>: the newest checkpoint that verifies (damaged ones skipped with a warning naming them):
 *       its weights, AdamW state, step, epoch, position in the epoch's plan and counters; the metrics
 *       ({@link MetricsReader}) up to its step stay (readers drop later ones), and the validation metrics
 *       already recorded feed the checkpoint ranking;</li>
 *   <li><b>new</b>: a graph drawn from {@code data.seed}, optionally initialised from pretrained weights,
 *       and the run's {@code preview/} of the first batch.</li>
 * </ul>
 * Either way it settles the run's {@link FrozenModules} (quantizer, mask embedding): a resumed checkpoint's
 * own (a schema-1 checkpoint's drawn from {@code data.seed}, with a warning), a pretrained source's (NeMo's
 * own from a {@code .nemo}), or drawn from {@code data.seed} for a run from scratch.
 */
final class RunStart {
  final ComputationGraph graph;
  final int epoch;
  final int batchInEpoch;
  final TrainStep.Counters counters;

  /** The checkpoint step resumed from, -1 for a new run. */
  final long resumedFrom;

  /** True when the metrics already hold a validation at the resumed step. */
  final boolean validatedAtStart;

  /** The run's quantizer and mask embedding. */
  final FrozenModules frozen;

  /** This attempt's number: one more than the last attempt of the run folder's metrics (1 for the first). */
  final int attempt;

  private RunStart(
      ComputationGraph graph,
      int epoch,
      int batchInEpoch,
      TrainStep.Counters counters,
      long resumedFrom,
      boolean validatedAtStart,
      FrozenModules frozen,
      int attempt) {
    this.frozen = frozen;
    this.attempt = attempt;
    this.graph = graph;
    this.epoch = epoch;
    this.batchInEpoch = batchInEpoch;
    this.counters = counters;
    this.resumedFrom = resumedFrom;
    this.validatedAtStart = validatedAtStart;
  }

  static RunStart open(
      JavaSparkContext sc,
      NestConfig cfg,
      TrainingData data,
      CheckpointManager ckpts,
      FileSystem fs,
      Path runDir,
      Configuration hadoopConf,
      PrintStream out)
      throws IOException {
    MetricsReader.Result earlier = MetricsReader.read(fs, runDir);
    int attempt = earlier.lastAttempt() + 1;
    Checkpoint resumed = null;
    if (cfg.getBoolean("exp_manager.resume_if_exists")) {
      resumed = ckpts.resume(w -> out.println("[pretrain] warning: " + w)).orElse(null);
    }
    if (resumed != null) {
      JsonNode pos = MetricsLog.JSON.readTree(resumed.dataPosition());
      int epoch = pos.path("epoch").asInt();
      int batch = pos.path("batch").asInt();
      int superseded = 0;
      boolean validated = false;
      for (JsonNode r : earlier.records()) {
        if (r.path("step").asLong(0) > resumed.step()) {
          superseded++;
          continue;
        }
        if ("val".equals(r.path("kind").asText()) && r.has("val_loss")) {
          ckpts.recordMetric(r.path("step").asLong(), r.path("val_loss").asDouble(Double.NaN));
          validated |= r.path("step").asLong() == resumed.step();
        }
      }
      out.printf(
          Locale.ROOT,
          "[pretrain] attempt %d resuming %s at step %d (epoch %d, batch %d of the epoch); %d metrics records of earlier "
              + "attempts past that step are superseded%n",
          attempt,
          ckpts.dir(),
          resumed.step(),
          epoch,
          batch,
          superseded);
      long step = resumed.step();
      FrozenModules frozen =
          resumed.frozenModules(
              cfg,
              w -> out.println("[pretrain] warning: " + ckpts.dir() + " step " + step + ": " + w));
      return new RunStart(
          resumed.model(),
          epoch,
          batch,
          resumed.counters(),
          resumed.step(),
          validated,
          frozen,
          attempt);
    }
    Nd4j.getRandom().setSeed(cfg.getLong("data.seed"));
    ComputationGraph graph = NestGraph.build(cfg.settings(), AdamW.of(cfg.settings().optim()));
    InitFromPretrained.Report init = InitFromPretrained.apply(cfg, graph, hadoopConf);
    if (init != null) {
      out.println("[pretrain] " + init.summary());
    }
    FrozenModules frozen =
        init != null ? init.frozenModules(cfg) : FrozenModules.drawn(cfg.settings());
    out.println("[pretrain] quantizer and mask embedding: " + frozen.origin());
    Preview.write(sc, cfg, data.trainingSpec(data.plan(0), 0, 0), data.trainNoise, runDir, frozen);
    return new RunStart(graph, 0, 0, TrainStep.Counters.ZERO, -1, false, frozen, attempt);
  }
}
