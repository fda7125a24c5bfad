package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.NestConfig;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.RunLock;
import org.nestspark.manifest.ManifestException;
import org.nestspark.model.NestGraph;
import org.nestspark.restore.NemoExport;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.NoamAnnealing;
import org.nestspark.train.Provenance;

/**
 * The Spark pretraining job (docs/nest-numerics.md §8, §9): NEST's denoising masked-token prediction trained in rounds on
 * persistent Spark workers. This class only sequences the parts:
 *
 * <ol>
 *   <li>{@link RunLock}: one live attempt per run folder, checked again before every checkpoint;</li>
 *   <li>{@link TrainingData}: manifests as metadata, the epoch plans, the validation batches;</li>
 *   <li>{@link RunStart}: resume from the newest valid checkpoint, or a new graph (optionally from pretrained
 *       weights) and its {@code preview/};</li>
 *   <li>{@link RoundTrainer}: rounds of {@link TrainingStrategy#stepsPerRound()} steps per worker
 *       (parameter averaging or DiLoCo), the batches built on the executors ({@link BatchSource});</li>
 *   <li>{@link StepMetrics}: the attempt's {@code metrics/attempt-NNNN.jsonl} ({@link MetricsLog}), its
 *       TensorBoard event file ({@link TensorBoardLog}) and the progress lines; NeMo's {@code hparams.yaml}
 *       and {@code cmd-args.log} ({@link NemoRunFiles});</li>
 *   <li>{@link Validator} and the {@link CheckpointManager}, when the {@link CheckpointPolicy} says so;</li>
 *   <li>{@link Preemption}: SIGTERM or {@code exp_manager.max_time_per_run} ends the attempt after the current
 *       round with a checkpoint ({@link PretrainExit#STOPPED}).</li>
 * </ol>
 *
 * <p>A step is one worker's optimizer step on one batch, as one GPU's step under NeMo's DDP, so
 * {@code max_steps}, {@code val_check_interval} and the Noam schedule count steps as NeMo does; a step
 * consumes {@code num_workers} batches (worker w takes batch {@code k·W + w} of the round as its k-th step).
 * The graph's iteration count is the step; it is saved in checkpoints.
 */
public final class PretrainJob {
  public static final String TRAIN = TrainingData.TRAIN;
  public static final String VALIDATION = TrainingData.VALIDATION;

  private final JavaSparkContext sc;
  private final NestConfig cfg;
  private final PrintStream out;
  private final Configuration hadoopConf;
  private final long seed;
  private final int workers;
  private final CheckpointPolicy policy;
  private final List<String> commandLine;
  private final Preemption preemption;
  private RunLock lock;

  private PretrainJob(
      JavaSparkContext sc,
      NestConfig cfg,
      PrintStream out,
      List<String> commandLine,
      Preemption preemption) {
    this.sc = sc;
    this.commandLine = commandLine;
    this.preemption = preemption;
    this.cfg = cfg;
    this.out = out;
    this.hadoopConf = sc.hadoopConfiguration();
    this.seed = cfg.getLong("data.seed");
    int w = cfg.getInt("pretrain.num_workers");
    this.workers = w > 0 ? w : Math.max(1, sc.defaultParallelism());
    this.policy = new CheckpointPolicy(cfg);
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
      problems.add(
          TRAIN
              + ".manifest_filepath: required (a NeMo JSONL manifest, several comma-separated, any Hadoop path)");
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
    return new Path(
        NestPaths.fromUserString(cfg.getString("exp_manager.exp_dir")),
        cfg.getString("exp_manager.name"));
  }

  /**
   * Runs (or resumes) the pretraining described by {@code cfg}.
   *
   * @param out progress lines and the summary
   */
  public static PretrainReport run(JavaSparkContext sc, NestConfig cfg, PrintStream out)
      throws IOException, ManifestException {
    return run(sc, cfg, out, List.of("nest", "pretrain"), Preemption.fromConfig(cfg));
  }

  /**
   * As {@link #run(JavaSparkContext, NestConfig, PrintStream)}.
   *
   * @param commandLine the command line, for {@code cmd-args.log}
   * @param preemption when to stop early with a checkpoint (SIGTERM, {@code exp_manager.max_time_per_run});
   *     {@link PretrainReport#stopReason()} then says why
   */
  public static PretrainReport run(
      JavaSparkContext sc,
      NestConfig cfg,
      PrintStream out,
      List<String> commandLine,
      Preemption preemption)
      throws IOException, ManifestException {
    checkConfig(cfg);
    return new PretrainJob(sc, cfg, out, commandLine, preemption).run();
  }

  private PretrainReport run() throws IOException, ManifestException {
    long startNanos = System.nanoTime();
    Path runDir = runDir(cfg);
    FileSystem fs = AtomicFiles.withoutChecksumFiles(runDir.getFileSystem(hadoopConf));
    fs.mkdirs(runDir);
    try (RunLock l =
        RunLock.acquire(
            runDir,
            hadoopConf,
            Duration.ofSeconds(cfg.getInt("pretrain.lock_ttl_seconds")),
            Duration.ofSeconds(cfg.getInt("pretrain.lock_heartbeat_seconds")))) {
      this.lock = l;
      return runLocked(runDir, fs, startNanos);
    }
  }

  private PretrainReport runLocked(Path runDir, FileSystem fs, long startNanos)
      throws IOException, ManifestException {
    sc.setJobDescription("pretrain: reading manifests");
    TrainingData data = new TrainingData(cfg, hadoopConf, out, workers);
    List<BatchSpec> valSpecs = data.validationSpecs();
    CheckpointManager ckpts =
        new CheckpointManager(
            runDir,
            hadoopConf,
            cfg.getInt("exp_manager.checkpoint_callback_params.save_last_k"),
            cfg.getInt("exp_manager.checkpoint_callback_params.save_top_k"),
            cfg.getString("exp_manager.checkpoint_callback_params.mode"));
    RunStart start = RunStart.open(sc, cfg, data, ckpts, fs, runDir, hadoopConf, out);
    writeRunConfig(fs, runDir);
    NemoRunFiles.writeHparams(fs, runDir, cfg);
    NemoRunFiles.appendCmdArgs(fs, runDir, commandLine);
    try (MetricsLog metrics = new MetricsLog(fs, runDir);
        TensorBoardLog tensorBoard =
            new TensorBoardLog(fs, runDir, start.attempt, start.resumedFrom)) {
      metrics.begin(start.attempt, start.resumedFrom);
      return train(runDir, fs, startNanos, data, valSpecs, ckpts, start, metrics, tensorBoard);
    }
  }

  private PretrainReport train(
      Path runDir,
      FileSystem fs,
      long startNanos,
      TrainingData data,
      List<BatchSpec> valSpecs,
      CheckpointManager ckpts,
      RunStart start,
      MetricsLog metrics,
      TensorBoardLog tensorBoard)
      throws IOException {
    ComputationGraph graph = start.graph;

    TrainingStrategy strategy = TrainingStrategy.fromConfig(cfg, workers);
    BatchSource trainSource =
        new BatchSource(cfg, TRAIN, data.trainNoise, hadoopConf, true, null, start.frozen);
    DataCounters valCounters = new DataCounters(sc, "validation");
    BatchSource valSource =
        new BatchSource(
            cfg, VALIDATION, data.validationNoise, hadoopConf, false, valCounters, start.frozen);
    StepMetrics sm =
        new StepMetrics(
            metrics,
            tensorBoard,
            out,
            NoamAnnealing.of(cfg.settings().optim()),
            cfg.getInt("trainer.log_every_n_steps"),
            policy.maxSteps,
            start.counters,
            startNanos);
    Run run = new Run(graph, ckpts, metrics, tensorBoard, sm, data.manifestSha256);
    run.frozen = start.frozen;
    run.step = graph.getIterationCount();
    run.epoch = start.epoch;
    run.batchInEpoch = start.batchInEpoch;

    try (RoundTrainer trainer =
        new RoundTrainer(
            sc,
            graph,
            strategy,
            trainSource,
            seed,
            cfg.getDouble("model.optim.gradient_clip_val"),
            hadoopConf)) {
      run.trainer = trainer;
      if (strategy.diloco() && start.resumedFrom >= 0) {
        try {
          trainer.resumeFrom(
              StrategyState.load(
                  ckpts.dir(), start.resumedFrom, (int) graph.numParams(), hadoopConf));
        } catch (IOException e) {
          out.println(
              "[pretrain] warning: DiLoCo state of step "
                  + start.resumedFrom
                  + " not usable ("
                  + e.getMessage()
                  + "): the outer momentum starts at zero and the workers with fresh AdamW moments");
        }
      }
      out.printf(
          Locale.ROOT,
          "[pretrain] %s: %d training utterances (%.1f h), %d validation; %s; %,d trainable parameters; run folder %s%n",
          cfg.getString("spark.app_name"),
          data.train.size(),
          data.trainHours(),
          data.validation.size(),
          strategy.describe(cfg.getInt(TRAIN + ".batch_size")),
          NestGraph.numTrainableParams(graph),
          runDir);

      long lastValidated = start.validatedAtStart ? start.resumedFrom : -1;
      long lastSaved = start.resumedFrom;
      double lastRoundWall = 0;
      String stopReason = null;
      List<int[]> plan = data.plan(run.epoch);
      double audioAtEpochStart = sm.totalAudio;
      int roundsThisEpoch =
          0; // rounds this attempt ran in the current epoch (a resume may start at its end)
      while (!policy.finished(run.step, run.epoch)) {
        if (run.batchInEpoch >= plan.size()) {
          if (roundsThisEpoch > 0) {
            requireAudio(
                sm.totalAudio - audioAtEpochStart, "epoch " + run.epoch, data.train.size());
          }
          audioAtEpochStart = sm.totalAudio;
          roundsThisEpoch = 0;
          sm.endEpoch(run.epoch, run.step);
          run.epoch++;
          run.batchInEpoch = 0;
          graph.getConfiguration().setEpochCount(run.epoch);
          if (policy.finished(run.step, run.epoch)) {
            break;
          }
          plan = data.plan(run.epoch);
          continue;
        }
        stopReason = preemption.reasonToStop();
        if (stopReason != null) {
          break;
        }
        long before = run.step;
        int stepsPerWorker =
            (int)
                Math.max(
                    1, Math.min(strategy.stepsPerRound(), policy.nextBoundary(before) - before));
        int take = Math.min(stepsPerWorker * workers, plan.size() - run.batchInEpoch);
        List<List<BatchSpec>> perWorker = new ArrayList<>();
        for (int w = 0; w < workers; w++) {
          perWorker.add(new ArrayList<>());
        }
        for (int i = 0; i < take; i++) {
          perWorker.get(i % workers).add(data.trainingSpec(plan, run.epoch, run.batchInEpoch + i));
        }
        long after = before + (take + workers - 1) / workers;
        boolean endsEpoch = run.batchInEpoch + take >= plan.size();
        // DiLoCo's workers save their inner state with a round that ends at a checkpoint, or that
        // the time budget will stop after
        boolean checkpointRound =
            policy.checkpointAfter(before, after, run.epoch, endsEpoch, !valSpecs.isEmpty())
                || preemption.budgetEndsWithin(lastRoundWall);
        Path stateDir =
            strategy.diloco() && checkpointRound ? StrategyState.dir(ckpts.dir(), after) : null;
        if (stateDir != null) {
          fs.mkdirs(stateDir);
        }
        sc.setJobDescription(
            String.format(
                Locale.ROOT,
                "pretrain: round of steps %d-%d (epoch %d, batches %d-%d)",
                before + 1,
                after,
                run.epoch,
                run.batchInEpoch,
                run.batchInEpoch + take - 1));
        long t0 = System.nanoTime();
        RoundTrainer.Outcome o = trainer.run(perWorker, run.epoch, stateDir);
        roundsThisEpoch++;
        double wall = (System.nanoTime() - t0) / 1e9;
        lastRoundWall = wall;
        run.step = graph.getIterationCount();
        run.batchInEpoch += take;
        sm.afterRound(o, wall, run.step, run.epoch, workers);
        run.pendingState =
            stateDir == null ? null : new PendingState(run.step, stateDir, o.innerStateSha256());

        if (policy.validatesAfter(before, run.step, !valSpecs.isEmpty())) {
          run.validate(valSpecs, valSource, valCounters);
          lastValidated = run.step;
          run.save(sm.lastValLoss);
          lastSaved = run.step;
        } else if (policy.savesAfter(before, run.step)) {
          run.save(Double.NaN);
          lastSaved = run.step;
        }
        run.flush();
      }
      if (stopReason != null) {
        // stopped early: no validation (it may take long), a checkpoint of the last round, then
        // exit PretrainExit.STOPPED
        out.println("[pretrain] stopping at step " + run.step + ": " + stopReason);
        if (lastSaved != run.step && run.step > 0) {
          run.save(Double.NaN);
        }
        ObjectNode stop = MetricsLog.record("stop");
        stop.put("step", run.step);
        stop.put("epoch", run.epoch);
        stop.put("reason", stopReason);
        metrics.add(stop);
      } else {
        if (run.step > start.resumedFrom) {
          requireAudio(
              sm.totalAudio,
              "this run (steps " + (Math.max(0, start.resumedFrom) + 1) + "-" + run.step + ")",
              data.train.size());
        }
        if (run.batchInEpoch >= plan.size()) {
          sm.endEpoch(run.epoch, run.step);
        }
        if (!valSpecs.isEmpty() && lastValidated != run.step) {
          run.validate(valSpecs, valSource, valCounters);
          run.save(sm.lastValLoss);
        } else if (lastSaved != run.step) {
          run.save(Double.NaN);
        }
      }
      run.flush();
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      PretrainReport report =
          new PretrainReport(
              runDir.toString(),
              start.resumedFrom,
              run.step,
              run.epoch,
              sm.lastTrainLoss,
              sm.lastValLoss,
              sm.lastValAccuracy,
              sm.firstTrainLoss,
              sm.totalAudio,
              seconds,
              ckpts.names(),
              ckpts.bestStep().orElse(-1L),
              sm.counters,
              sm.skippedUtterances,
              stopReason);
      out.println(report.summary());
      return report;
    }
  }

  /** The inner states the workers wrote at the end of the round that reached {@code step}. */
  private record PendingState(long step, Path dir, Map<Integer, String> workerSha256) {}

  /** The attempt's position and what it does at validation and checkpoint time. */

  /**
   * Fails the run when {@code what} trained on no audio at all: every utterance of its batches was skipped
   * (missing files, wrong paths, unreadable audio), so its steps moved nothing but the step counter. The
   * skip reasons were printed as they happened; the exit code is {@link PretrainExit#FAILED}.
   */
  static void requireAudio(double audioSeconds, String what, int utterances) throws IOException {
    if (audioSeconds <= 0) {
      throw new IOException(
          what
              + " trained on no audio: every utterance of its batches was skipped ("
              + utterances
              + " training utterances; the reasons are printed above as 'skipped ...'). Check model.train_ds.manifest_filepath and"
              + " the audio paths it names");
    }
  }

  private final class Run {
    final ComputationGraph graph;
    final CheckpointManager ckpts;
    final MetricsLog metrics;
    final TensorBoardLog tensorBoard;
    final StepMetrics sm;
    final Map<String, String> manifestSha;
    RoundTrainer trainer;
    long step;
    int epoch;
    int batchInEpoch;
    PendingState pendingState;

    /** The run's quantizer and mask embedding, saved with every checkpoint and written into the .nemo. */
    FrozenModules frozen;

    Run(
        ComputationGraph graph,
        CheckpointManager ckpts,
        MetricsLog metrics,
        TensorBoardLog tensorBoard,
        StepMetrics sm,
        Map<String, String> manifestSha) {
      this.graph = graph;
      this.ckpts = ckpts;
      this.metrics = metrics;
      this.tensorBoard = tensorBoard;
      this.sm = sm;
      this.manifestSha = manifestSha;
    }

    void validate(List<BatchSpec> specs, BatchSource source, DataCounters valCounters)
        throws IOException {
      sc.setJobDescription(
          String.format(
              Locale.ROOT, "pretrain: validation at step %d (%d batches)", step, specs.size()));
      valCounters.reset();
      long t0 = System.nanoTime();
      Validator.Result v =
          Validator.validate(
              sc, graph, specs, source, workers, cfg.settings().trainer().batchSlices());
      sm.validation(v, valCounters.snapshot(), step, epoch, (System.nanoTime() - t0) / 1e9);
    }

    void save(double valLoss) throws IOException {
      lock.ensureHeld(); // never write over a run another attempt has taken over
      sc.setJobDescription("pretrain: checkpoint at step " + step);
      if (trainer.strategy().diloco()) {
        if (pendingState != null && pendingState.step() == step) {
          FileSystem fs =
              AtomicFiles.withoutChecksumFiles(pendingState.dir().getFileSystem(hadoopConf));
          StrategyState.complete(
              fs,
              pendingState.dir(),
              workers,
              trainer.outerMomentum(),
              pendingState.workerSha256());
        } else {
          out.println(
              "[pretrain] warning: checkpoint at step "
                  + step
                  + " without the workers' inner states (a resume from it starts them fresh)");
        }
      }
      // every record up to this step is written (and visible, object stores included) before the
      // checkpoint is
      metrics.beforeCheckpoint();
      tensorBoard.beforeCheckpoint();
      ObjectNode pos = MetricsLog.JSON.createObjectNode();
      pos.put("epoch", epoch);
      pos.put("batch", batchInEpoch);
      Checkpoint c =
          new Checkpoint(
              graph,
              step,
              epoch,
              pos.toString(),
              seed,
              sm.counters,
              cfg.render(),
              Provenance.capture(cfg, manifestSha),
              frozen);
      Path p = ckpts.save(c, valLoss);
      out.println("[pretrain] saved " + p);
      if (cfg.getBoolean("exp_manager.checkpoint_callback_params.always_save_nemo")
          && Double.isFinite(valLoss)
          && ckpts.bestStep().orElse(-1L) == step) {
        // NeMo's exp_manager always_save_nemo: the best weights as <name>.nemo beside the
        // checkpoints
        Path nemo = new Path(ckpts.dir(), cfg.getString("exp_manager.name") + ".nemo");
        NemoExport.write(cfg, graph, frozen, Map.of(), nemo, hadoopConf);
        out.println("[pretrain] best val_loss so far: wrote " + nemo);
      }
    }

    void flush() throws IOException {
      metrics.flush();
      tensorBoard.flush();
    }
  }

  private void writeRunConfig(FileSystem fs, Path runDir) throws IOException {
    byte[] text = cfg.render().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(runDir, "config.conf"), o -> o.write(text));
  }
}
