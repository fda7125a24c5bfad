package org.nestspark.pretrain;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.deeplearning4j.spark.impl.graph.SparkComputationGraph;
import org.deeplearning4j.spark.impl.paramavg.ParameterAveragingTrainingMaster;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import org.nestspark.config.NestConfig;
import org.nestspark.data.BatchPlanner;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.RunLock;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.nemo.NemoExport;
import org.nestspark.train.AdamW;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.DecoupledWeightDecay;
import org.nestspark.train.GradientClipping;
import org.nestspark.train.InitFromPretrained;
import org.nestspark.train.NoamAnnealing;
import org.nestspark.train.Provenance;
import org.nestspark.train.TrainStep;

/**
 * The Spark pretraining job (spec §8, §9): NEST's denoising masked-token prediction trained with DL4J's
 * parameter averaging on Spark executors, driven from the driver in rounds.
 *
 * <p><b>Data.</b> The driver reads manifest metadata only. Each epoch's batches are planned on the driver
 * with {@link BatchPlanner} (seeded shuffle, duration buckets of {@code pretrain.bucket_batches} batches,
 * {@code drop_last}); a slice of the plan becomes an RDD of {@link BatchSpec}s and the executors build the
 * batches ({@link BatchSource}: decode, noise, augmentation, features, tokens, masks). Audio never reaches
 * the driver.
 *
 * <p><b>Training.</b> One Spark training job ({@link SparkComputationGraph#fitMultiDataSet}) per slice of
 * at most {@code pretrain.rounds_per_fit} averaging rounds; a round is {@code num_workers} workers taking
 * {@code averaging_frequency} steps each, then averaging parameters and AdamW moments. A step is one
 * worker's optimizer step on one batch, as one GPU's step under NeMo's DDP, so {@code max_steps},
 * {@code val_check_interval} and the learning-rate schedule count steps as NeMo does and consume
 * {@code num_workers} batches per step. The graph's iteration count is the step; it is saved in checkpoints,
 * so the Noam schedule continues across rounds and restarts.
 *
 * <p><b>Validation, checkpoints, resume.</b> Every {@code val_check_interval} steps and at the end,
 * {@link Validator} scores the whole validation manifest with fixed seeds, and {@link CheckpointManager}
 * saves a checkpoint (also every {@code every_n_train_steps}); with {@code always_save_nemo} the best weights
 * are also written as {@code checkpoints/<name>.nemo} (NeMo's layout, {@link NemoExport}). With {@code resume_if_exists} a run started
 * again on the same {@code exp_dir} continues from the newest valid checkpoint: same step, epoch, position
 * in the epoch's plan, weights, AdamW state and schedule; {@link MetricsLog} drops records after that step.
 *
 * <p><b>One attempt at a time.</b> The run folder is locked ({@link RunLock}: {@code <run>/.lock} with a
 * heartbeat; a crashed attempt's lock expires after {@code pretrain.lock_ttl_seconds}); a second attempt on the
 * same run is refused before any work, and every checkpoint write first checks that the lock is still ours.
 * A new run also writes {@code <run>/preview/} ({@link Preview}).
 *
 * <p><b>Progress.</b> A line every {@code log_every_n_steps} steps (loss, accuracy, lr, audio seconds per
 * second, ETA) and the {@link MetricsLog} records; every Spark job carries a description saying what it is.
 */
public final class PretrainJob {
  private static final Logger LOG = LoggerFactory.getLogger(PretrainJob.class);
  public static final String TRAIN = "model.train_ds";
  public static final String VALIDATION = "model.validation_ds";

  private final JavaSparkContext sc;
  private final NestConfig cfg;
  private final PrintStream out;
  private final Configuration hadoopConf;
  private final int batchSize;
  private final long seed;
  private final long maxSteps;
  private final int maxEpochs;
  private final int valInterval;
  private final int logEvery;
  private final int everyN;
  private final int workers;
  private final int averagingFrequency;
  private final double hopSeconds;
  private final NoamAnnealing schedule;
  private final boolean alwaysSaveNemo;
  private RunLock lock;

  private PretrainJob(JavaSparkContext sc, NestConfig cfg, PrintStream out) {
    this.sc = sc;
    this.cfg = cfg;
    this.out = out;
    this.hadoopConf = sc.hadoopConfiguration();
    this.batchSize = cfg.getInt(TRAIN + ".batch_size");
    this.seed = cfg.getLong("data.seed");
    this.maxSteps = cfg.getLong("trainer.max_steps");
    this.maxEpochs = cfg.getInt("trainer.max_epochs");
    this.valInterval = cfg.getInt("trainer.val_check_interval");
    this.logEvery = cfg.getInt("trainer.log_every_n_steps");
    this.everyN = cfg.getInt("exp_manager.checkpoint_callback_params.every_n_train_steps");
    int w = cfg.getInt("pretrain.num_workers");
    this.workers = w > 0 ? w : Math.max(1, sc.defaultParallelism());
    this.averagingFrequency = cfg.getInt("pretrain.averaging_frequency");
    this.hopSeconds = cfg.getDouble("model.preprocessor.window_stride");
    this.schedule = NoamAnnealing.fromConfig(cfg);
    this.alwaysSaveNemo = cfg.getBoolean("exp_manager.checkpoint_callback_params.always_save_nemo");
  }

  /**
   * Checks what must hold before any Spark or data work: a training manifest, an experiment folder and a
   * bound on the run.
   *
   * @throws IllegalArgumentException naming every problem
   */
  public static void checkConfig(NestConfig cfg) {
    List<String> problems = new ArrayList<>();
    if (cfg.getStringList(TRAIN + ".manifest_filepath").isEmpty()) {
      problems.add(TRAIN + ".manifest_filepath: required (a NeMo JSONL manifest, several comma-separated, any Hadoop path)");
    }
    if (!cfg.isSet("exp_manager.exp_dir")) {
      problems.add("exp_manager.exp_dir: required (the run folder; any Hadoop path)");
    }
    if (cfg.getLong("trainer.max_steps") < 0 && cfg.getInt("trainer.max_epochs") < 0) {
      problems.add("trainer.max_steps and trainer.max_epochs are both -1: the run would never end");
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(String.join("\n", problems));
    }
  }

  /** The run folder: {@code <exp_dir>/<name>}. */
  public static Path runDir(NestConfig cfg) {
    return new Path(NestPaths.fromUserString(cfg.getString("exp_manager.exp_dir")), cfg.getString("exp_manager.name"));
  }

  /**
   * Runs (or resumes) the pretraining described by {@code cfg}.
   *
   * @param out progress lines and the summary
   */
  public static PretrainReport run(JavaSparkContext sc, NestConfig cfg, PrintStream out) throws IOException, ManifestException {
    checkConfig(cfg);
    return new PretrainJob(sc, cfg, out).run();
  }

  // ------------------------------------------------------------------------------------------------ run

  private PretrainReport run() throws IOException, ManifestException {
    long startNanos = System.nanoTime();
    Path runDir = runDir(cfg);
    FileSystem fs = AtomicFiles.withoutChecksumFiles(runDir.getFileSystem(hadoopConf));
    fs.mkdirs(runDir);
    try (RunLock lock = RunLock.acquire(runDir, hadoopConf, java.time.Duration.ofSeconds(cfg.getInt("pretrain.lock_ttl_seconds")),
        java.time.Duration.ofSeconds(cfg.getInt("pretrain.lock_heartbeat_seconds")))) {
      this.lock = lock;
      return runLocked(runDir, fs, startNanos);
    }
  }

  private PretrainReport runLocked(Path runDir, FileSystem fs, long startNanos) throws IOException, ManifestException {
    // ---- manifests (driver: metadata only)
    sc.setJobDescription("pretrain: reading manifests");
    Map<String, String> manifestSha = new TreeMap<>();
    List<ManifestEntry> train = readManifests(TRAIN, true, manifestSha);
    List<ManifestEntry> trainNoise = readNoise(TRAIN, manifestSha);
    List<ManifestEntry> val = cfg.getStringList(VALIDATION + ".manifest_filepath").isEmpty() ? List.of() : readManifests(VALIDATION, false, manifestSha);
    List<ManifestEntry> valNoise = val.isEmpty() ? List.of() : readNoise(VALIDATION, manifestSha);
    BatchPlanner planner = new BatchPlanner(batchSize, cfg.getBoolean(TRAIN + ".shuffle"), cfg.getBoolean(TRAIN + ".drop_last"),
        cfg.getInt("pretrain.bucket_batches"), seed);
    double[] durations = durations(train);
    if (planner.plan(durations, 0).isEmpty()) {
      throw new ManifestException(TRAIN + ": " + train.size() + " usable utterances make no complete batch of " + batchSize
          + " (drop_last=" + cfg.getBoolean(TRAIN + ".drop_last") + ")");
    }
    List<BatchSpec> valSpecs = validationSpecs(val);

    // ---- the graph: resume, or new (optionally from pretrained weights)
    CheckpointManager ckpts = new CheckpointManager(runDir, hadoopConf, cfg.getInt("exp_manager.checkpoint_callback_params.save_last_k"),
        cfg.getInt("exp_manager.checkpoint_callback_params.save_top_k"), cfg.getString("exp_manager.checkpoint_callback_params.mode"));
    MetricsLog metrics = new MetricsLog(fs, runDir);
    ComputationGraph graph;
    int epoch = 0;
    int batchInEpoch = 0;
    TrainStep.Counters counters = TrainStep.Counters.ZERO;
    long resumedFrom = -1;
    Checkpoint resumed = null;
    if (cfg.getBoolean("exp_manager.resume_if_exists")) {
      resumed = ckpts.resume(w -> out.println("[pretrain] warning: " + w)).orElse(null);
    }
    if (resumed != null) {
      graph = resumed.model();
      JsonNode pos = MetricsLog.JSON.readTree(resumed.dataPosition());
      epoch = pos.path("epoch").asInt();
      batchInEpoch = pos.path("batch").asInt();
      counters = resumed.counters();
      resumedFrom = resumed.step();
      int dropped = metrics.load(resumed.step());
      for (JsonNode r : metrics.records()) {
        if ("val".equals(r.path("kind").asText()) && r.has("val_loss")) {
          ckpts.recordMetric(r.path("step").asLong(), r.path("val_loss").asDouble(Double.NaN));
        }
      }
      out.printf(Locale.ROOT, "[pretrain] resuming %s at step %d (epoch %d, batch %d of the epoch); %d later metrics records dropped%n",
          ckpts.dir(), resumed.step(), epoch, batchInEpoch, dropped);
    } else {
      Nd4j.getRandom().setSeed(seed);
      graph = NestGraph.build(cfg, AdamW.fromConfig(cfg));
      InitFromPretrained.Report init = InitFromPretrained.apply(cfg, graph, hadoopConf);
      if (init != null) {
        out.println("[pretrain] " + init.summary());
      }
      metrics.load(-1);
      List<int[]> first = planner.plan(durations, 0);
      List<ManifestEntry> entries = new ArrayList<>();
      for (int idx : first.get(0)) {
        entries.add(train.get(idx));
      }
      Preview.write(sc, cfg, new BatchSpec(0, 0, BatchSpec.trainingSeed(seed, 0, 0), entries), trainNoise, runDir);
    }
    writeRunConfig(fs, runDir);

    // ---- Spark training master with our hook and listeners
    CollectionAccumulator<StepRecord> stepRecords = sc.sc().collectionAccumulator("pretrain step records");
    StepHook hook = new StepHook(seed, hopSeconds, stepRecords);
    ParameterAveragingTrainingMaster master = TrainingMasters.parameterAveraging(cfg, workers, hook);
    SparkComputationGraph sparkGraph = new SparkComputationGraph(sc, graph, master);
    hook.setDriverGraph(graph);
    List<TrainingListener> listeners = new ArrayList<>();
    double clip = cfg.getDouble("model.optim.gradient_clip_val");
    if (clip > 0) {
      listeners.add(new GradientClipping(clip));
    }
    listeners.add(new DecoupledWeightDecay());
    sparkGraph.setListeners(listeners);
    DataCounters trainCounters = new DataCounters(sc, "train");
    DataCounters valCounters = new DataCounters(sc, "validation");
    BatchSource trainSource = new BatchSource(cfg, TRAIN, trainNoise, hadoopConf, true, trainCounters);
    BatchSource valSource = new BatchSource(cfg, VALIDATION, valNoise, hadoopConf, false, valCounters);

    out.printf(Locale.ROOT, "[pretrain] %s: %d training utterances (%.1f h), %d validation; %s; %,d trainable parameters; run folder %s%n",
        cfg.getString("spark.app_name"), train.size(), sum(durations) / 3600, val.size(), TrainingMasters.describe(master, workers, cfg),
        NestGraph.numTrainableParams(graph), runDir);

    // ---- the loop
    Loop loop = new Loop(graph, counters, metrics, ckpts, manifestSha, startNanos);
    loop.step = graph.getIterationCount();
    loop.epoch = epoch;
    loop.batchInEpoch = batchInEpoch;
    long lastValidated = resumed != null && metricsHasVal(metrics, resumed.step()) ? resumed.step() : -1;
    long lastSaved = resumedFrom;
    EpochTally tally = new EpochTally();
    List<int[]> plan = planner.plan(durations, loop.epoch);
    while (!loop.finished()) {
      if (loop.batchInEpoch >= plan.size()) {
        tally.write(metrics, loop.epoch, loop.step);
        tally = new EpochTally();
        loop.epoch++;
        loop.batchInEpoch = 0;
        graph.getConfiguration().setEpochCount(loop.epoch);
        if (loop.finished()) {
          break;
        }
        plan = planner.plan(durations, loop.epoch);
        continue;
      }
      long boundary = nextBoundary(loop.step);
      long rounds = Math.min(cfg.getInt("pretrain.rounds_per_fit"), ceilDiv(boundary - loop.step, averagingFrequency));
      int take = (int) Math.min(rounds * workers * averagingFrequency, plan.size() - loop.batchInEpoch);
      List<BatchSpec> specs = new ArrayList<>(take);
      for (int i = loop.batchInEpoch; i < loop.batchInEpoch + take; i++) {
        List<ManifestEntry> entries = new ArrayList<>();
        for (int idx : plan.get(i)) {
          entries.add(train.get(idx));
        }
        specs.add(new BatchSpec(loop.epoch, i, BatchSpec.trainingSeed(seed, loop.epoch, i), entries));
      }
      long stepBefore = loop.step;
      sc.setJobDescription(String.format(Locale.ROOT, "pretrain: build + train epoch %d batches %d-%d (from step %d)", loop.epoch,
          loop.batchInEpoch, loop.batchInEpoch + take - 1, stepBefore));
      trainCounters.reset();
      stepRecords.reset();
      long t0 = System.nanoTime();
      JavaRDD<MultiDataSet> data = sc.parallelize(specs, Math.max(1, Math.min(workers, specs.size()))).mapPartitions(trainSource);
      sparkGraph.fitMultiDataSet(data);
      data.unpersist(false);
      double wall = (System.nanoTime() - t0) / 1e9;
      graph.getConfiguration().setEpochCount(loop.epoch);
      loop.step = graph.getIterationCount();
      loop.batchInEpoch += take;
      DataCounters.Snapshot d = trainCounters.snapshot();
      for (String reason : d.reasons()) {
        out.println("[pretrain] skipped " + reason);
      }
      List<StepRecord> recs = new ArrayList<>(stepRecords.value());
      tally.add(d, recs);
      loop.afterFit(recs, d, wall, stepBefore);

      if (!valSpecs.isEmpty() && crossed(stepBefore, loop.step, valInterval)) {
        loop.validate(valSpecs, valSource, valCounters);
        lastValidated = loop.step;
        loop.save(loop.lastValLoss);
        lastSaved = loop.step;
      } else if (everyN > 0 && crossed(stepBefore, loop.step, everyN)) {
        loop.save(Double.NaN);
        lastSaved = loop.step;
      }
      metrics.flush();
    }
    if (loop.batchInEpoch >= plan.size() && tally.batches > 0) {
      tally.write(metrics, loop.epoch, loop.step);
    }
    if (!valSpecs.isEmpty() && lastValidated != loop.step) {
      loop.validate(valSpecs, valSource, valCounters);
      loop.save(loop.lastValLoss);
    } else if (lastSaved != loop.step) {
      loop.save(Double.NaN);
    }
    metrics.flush();
    double seconds = (System.nanoTime() - startNanos) / 1e9;
    PretrainReport report = new PretrainReport(runDir.toString(), resumedFrom, loop.step, loop.epoch, loop.lastTrainLoss, loop.lastValLoss,
        loop.lastValAccuracy, loop.firstTrainLoss, loop.totalAudio, seconds, ckpts.names(), ckpts.bestStep().orElse(-1L),
        loop.counters, loop.skippedUtterances);
    out.println(report.summary());
    return report;
  }

  // ------------------------------------------------------------------------------------------------ loop state

  /** The driver's loop state and what it does after each Spark training job. */
  private final class Loop {
    final ComputationGraph graph;
    final MetricsLog metrics;
    final CheckpointManager ckpts;
    final Map<String, String> manifestSha;
    final long startNanos;
    TrainStep.Counters counters;
    long step;
    int epoch;
    int batchInEpoch;
    long lastLogged;
    double lastTrainLoss = Double.NaN;
    double firstTrainLoss = Double.NaN;
    double lastValLoss = Double.NaN;
    double lastValAccuracy = Double.NaN;
    double totalAudio;
    double trainWall;
    long stepsThisAttempt;
    long skippedUtterances;
    // window since the last train record
    double winLoss;
    int winLossN;
    double winCorrect;
    long winSelected;

    Loop(ComputationGraph graph, TrainStep.Counters counters, MetricsLog metrics, CheckpointManager ckpts, Map<String, String> manifestSha,
        long startNanos) {
      this.graph = graph;
      this.counters = counters;
      this.metrics = metrics;
      this.ckpts = ckpts;
      this.manifestSha = manifestSha;
      this.startNanos = startNanos;
    }

    boolean finished() {
      return (maxSteps >= 0 && step >= maxSteps) || (maxEpochs >= 0 && epoch >= maxEpochs);
    }

    void afterFit(List<StepRecord> recs, DataCounters.Snapshot d, double wall, long stepBefore) {
      skippedUtterances += d.skippedUtterances();
      long stepsDone = step - stepBefore;
      stepsThisAttempt += stepsDone;
      trainWall += wall;
      // per step: mean loss over the workers that trained it
      Map<Long, double[]> bySteps = new TreeMap<>();
      long undone = 0;
      double fitSum = 0;
      double audio = 0;
      for (StepRecord r : recs) {
        double[] a = bySteps.computeIfAbsent(r.step(), k -> new double[4]);
        fitSum += r.fitSeconds();
        audio += r.audioSeconds();
        if (r.undone()) {
          undone++;
          continue;
        }
        a[0] += r.loss();
        a[1] += 1;
        a[2] += r.correct();
        a[3] += r.selected();
      }
      totalAudio += audio;
      counters = new TrainStep.Counters(counters.stepsDone() + recs.size() - undone, counters.skippedEmpty() + d.emptyBatches(),
          counters.skippedNonFinite() + undone);
      if (undone > 0) {
        out.printf(Locale.ROOT, "[pretrain] %d worker steps gave a non-finite loss or parameters and were undone%n", undone);
      }
      double prep = d.buildSeconds() / workers;
      double train = fitSum / workers;
      ObjectNode timing = MetricsLog.record("timing");
      timing.put("step", step);
      timing.put("epoch", epoch);
      timing.put("batches", d.batches());
      timing.put("wall_s", wall);
      timing.put("data_prep_s", prep);
      timing.put("train_s", train);
      timing.put("averaging_s", Math.max(0, wall - prep - train));
      timing.put("audio_s", audio);
      metrics.add(timing);

      double stepsPerSecond = stepsDone / wall;
      double audioPerSecond = audio / wall;
      for (Map.Entry<Long, double[]> e : bySteps.entrySet()) {
        double[] a = e.getValue();
        if (a[1] > 0) {
          double loss = a[0] / a[1];
          winLoss += loss;
          winLossN++;
          if (Double.isNaN(firstTrainLoss)) {
            firstTrainLoss = loss;
          }
          lastTrainLoss = loss;
        }
        winCorrect += a[2];
        winSelected += (long) a[3];
        long s = e.getKey();
        if (s % logEvery == 0 && s > lastLogged) {
          logTrain(s, audioPerSecond, stepsPerSecond);
        }
      }
    }

    private void logTrain(long s, double audioPerSecond, double stepsPerSecond) {
      double loss = winLossN == 0 ? Double.NaN : winLoss / winLossN;
      double acc = winSelected == 0 ? Double.NaN : winCorrect / winSelected;
      double lr = schedule.valueAt((int) (s - 1), epoch);
      double elapsed = (System.nanoTime() - startNanos) / 1e9;
      ObjectNode r = MetricsLog.record("train");
      r.put("step", s);
      r.put("epoch", epoch);
      r.put("train_loss", loss);
      r.put("masked_accuracy", acc);
      r.put("lr", lr);
      r.put("audio_seconds", totalAudio);
      r.put("audio_seconds_per_second", audioPerSecond);
      r.put("steps_per_second", stepsPerSecond);
      r.put("elapsed_s", elapsed);
      metrics.add(r);
      String eta = "";
      if (maxSteps > 0 && stepsThisAttempt > 0) {
        double perStep = trainWall / stepsThisAttempt;
        eta = " | ETA " + duration((maxSteps - s) * perStep);
      }
      out.printf(Locale.ROOT, "[pretrain] step %d%s | epoch %d | loss %.4f | acc %.4f | lr %.3e | %.1f audio-s/s | %.2f steps/s%s%n", s,
          maxSteps > 0 ? "/" + maxSteps : "", epoch, loss, acc, lr, audioPerSecond, stepsPerSecond, eta);
      lastLogged = s;
      winLoss = 0;
      winLossN = 0;
      winCorrect = 0;
      winSelected = 0;
    }

    void validate(List<BatchSpec> specs, BatchSource source, DataCounters valCounters) {
      sc.setJobDescription(String.format(Locale.ROOT, "pretrain: validation at step %d (%d batches)", step, specs.size()));
      valCounters.reset();
      long t0 = System.nanoTime();
      Validator.Result v = Validator.validate(sc, graph, specs, source, workers);
      DataCounters.Snapshot d = valCounters.snapshot();
      for (String reason : d.reasons()) {
        out.println("[pretrain] validation skipped " + reason);
      }
      lastValLoss = v.valLoss();
      lastValAccuracy = v.valMaskedAccuracy();
      ObjectNode r = MetricsLog.record("val");
      r.put("step", step);
      r.put("epoch", epoch);
      r.put("val_loss", v.valLoss());
      r.put("val_masked_accuracy", v.valMaskedAccuracy());
      r.put("val_batches", v.batches());
      r.put("val_tokens", v.selectedTokens());
      r.put("val_skipped_utterances", d.skippedUtterances());
      r.put("val_batches_without_tokens", d.emptyBatches());
      r.put("val_s", (System.nanoTime() - t0) / 1e9);
      metrics.add(r);
      out.printf(Locale.ROOT, "[pretrain] validation at step %d: val_loss %.4f | val_masked_accuracy %.4f | %d batches, %d tokens%n", step,
          v.valLoss(), v.valMaskedAccuracy(), v.batches(), v.selectedTokens());
    }

    void save(double valLoss) throws IOException {
      lock.ensureHeld(); // never write over a run another attempt has taken over
      sc.setJobDescription("pretrain: checkpoint at step " + step);
      ObjectNode pos = MetricsLog.JSON.createObjectNode();
      pos.put("epoch", epoch);
      pos.put("batch", batchInEpoch);
      Checkpoint c = new Checkpoint(graph, step, epoch, pos.toString(), seed, counters, cfg.render(), Provenance.capture(cfg, manifestSha));
      Path p = ckpts.save(c, valLoss);
      metrics.flush();
      out.println("[pretrain] saved " + p);
      if (alwaysSaveNemo && Double.isFinite(valLoss) && ckpts.bestStep().orElse(-1L) == step) {
        // NeMo's exp_manager always_save_nemo: the best weights as <name>.nemo beside the checkpoints
        Path nemo = new Path(ckpts.dir(), cfg.getString("exp_manager.name") + ".nemo");
        NemoExport.write(cfg, graph, Map.of(), nemo, hadoopConf);
        out.println("[pretrain] best val_loss so far: wrote " + nemo);
      }
    }
  }

  /** Per-epoch counts for the {@code epoch} record. */
  private static final class EpochTally {
    long skippedUtterances;
    long empty;
    long failed;
    long undone;
    long batches;

    void add(DataCounters.Snapshot d, List<StepRecord> recs) {
      skippedUtterances += d.skippedUtterances();
      empty += d.emptyBatches();
      failed += d.failedBatches();
      batches += d.batches();
      for (StepRecord r : recs) {
        if (r.undone()) {
          undone++;
        }
      }
    }

    void write(MetricsLog metrics, int epoch, long step) {
      ObjectNode r = MetricsLog.record("epoch");
      r.put("epoch", epoch);
      r.put("step", step);
      r.put("batches", batches);
      r.put("skipped_utterances", skippedUtterances);
      r.put("skipped_empty_batches", empty);
      r.put("skipped_failed_batches", failed);
      r.put("skipped_non_finite_steps", undone);
      metrics.add(r);
    }
  }

  // ------------------------------------------------------------------------------------------------ helpers

  private long nextBoundary(long step) {
    long b = Long.MAX_VALUE;
    b = Math.min(b, (step / valInterval + 1) * valInterval);
    if (everyN > 0) {
      b = Math.min(b, (step / everyN + 1) * everyN);
    }
    if (maxSteps >= 0) {
      b = Math.min(b, maxSteps);
    }
    return b;
  }

  static boolean crossed(long before, long after, long interval) {
    return after / interval > before / interval;
  }

  private static long ceilDiv(long a, long b) {
    return Math.max(1, (a + b - 1) / b);
  }

  private static boolean metricsHasVal(MetricsLog m, long step) {
    for (JsonNode r : m.records()) {
      if ("val".equals(r.path("kind").asText()) && r.path("step").asLong() == step) {
        return true;
      }
    }
    return false;
  }

  private List<BatchSpec> validationSpecs(List<ManifestEntry> val) {
    if (val.isEmpty()) {
      return List.of();
    }
    BatchPlanner p = new BatchPlanner(cfg.getInt(VALIDATION + ".batch_size"), false, cfg.getBoolean(VALIDATION + ".drop_last"),
        cfg.getInt("pretrain.bucket_batches"), seed);
    List<int[]> plan = p.plan(durations(val), 0);
    List<BatchSpec> specs = new ArrayList<>();
    for (int i = 0; i < plan.size(); i++) {
      List<ManifestEntry> entries = new ArrayList<>();
      for (int idx : plan.get(i)) {
        entries.add(val.get(idx));
      }
      specs.add(new BatchSpec(-1, i, BatchSpec.validationSeed(seed, i), entries));
    }
    return specs;
  }

  private List<ManifestEntry> readManifests(String section, boolean required, Map<String, String> sha) throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".manifest_filepath");
    ManifestReader reader = new ManifestReader(hadoopConf, cfg.getDouble(section + ".min_duration"), cfg.getDouble(section + ".max_duration"));
    ManifestReadResult r = reader.read(files);
    report(section, r);
    sha.putAll(r.sha256());
    if (r.entries().isEmpty() && required) {
      throw new ManifestException(section + ".manifest_filepath: no usable entry in " + String.join(", ", files));
    }
    return r.entries();
  }

  private List<ManifestEntry> readNoise(String section, Map<String, String> sha) throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".noise_manifest");
    if (files.isEmpty()) {
      return List.of();
    }
    ManifestReadResult r = ManifestReader.unfiltered(hadoopConf).read(files);
    report(section + ".noise_manifest", r);
    sha.putAll(r.sha256());
    return r.entries();
  }

  private void report(String section, ManifestReadResult r) throws ManifestException {
    List<ManifestProblem> problems = r.problems();
    for (ManifestProblem p : problems) {
      out.println("[pretrain] " + section + ": skipped " + p);
    }
    if (!problems.isEmpty() && "fail".equals(cfg.getString("data.on_error"))) {
      throw new ManifestException(section + ": " + problems.size() + " bad manifest lines and data.on_error=fail; first: " + problems.get(0));
    }
  }

  private void writeRunConfig(FileSystem fs, Path runDir) throws IOException {
    byte[] text = cfg.render().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(runDir, "config.conf"), o -> o.write(text));
  }

  /** Manifest durations for {@link BatchPlanner} (-1 where an entry has none). */
  public static double[] durations(List<ManifestEntry> entries) {
    double[] d = new double[entries.size()];
    for (int i = 0; i < d.length; i++) {
      Double v = entries.get(i).duration();
      d[i] = v == null ? -1 : v;
    }
    return d;
  }

  private static double sum(double[] a) {
    double s = 0;
    for (double v : a) {
      s += Math.max(0, v);
    }
    return s;
  }

  static String duration(double seconds) {
    long s = Math.max(0, Math.round(seconds));
    return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }

}
