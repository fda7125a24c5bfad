package org.nestspark.job.pretrain;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayDeque;
import java.util.Collections;
import java.util.Deque;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.storage.BlockManagerId;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.job.spark.TaskDevices;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.train.TrainStep;

/**
 * The executor side of a round ({@link RoundTrainer}): one Spark task per worker and round. The task takes
 * its worker's kept state on this executor ({@link WorkerSlots}) or builds it, loads the round's
 * parameters, trains its batches one guarded {@link TrainStep} at a time (reseeded dropout, non-finite steps
 * not taken), and returns a {@link RoundResult}: its parameters (parameter averaging, with the AdamW moments
 * when they are averaged) or its delta {@code θ_global − θ_worker} (DiLoCo), the step records and counts.
 *
 * <p>Re-runs are safe: a task that fails in the middle of a round discards its slot (the next attempt starts
 * the worker from the round's parameters); a task Spark runs again for a round this executor already
 * finished answers from the kept state, which still holds the round's result.
 */
final class RoundWorker implements FlatMapFunction<Iterator<RoundWorker.Task>, RoundResult> {
  private static final long serialVersionUID = 1L;

  /** What every round of an attempt shares (broadcast once per attempt). */
  record Attempt(
      String id,
      String configurationJson,
      long seed,
      double gradientClip,
      TrainingStrategy strategy,
      BatchSource source,
      SerializableHadoopConf hadoopConf,
      int slotCapacity)
      implements Serializable {}

  /**
   * One round's input (broadcast once per round).
   *
   * @param round the round's number within the attempt (0, 1, ...)
   * @param iteration the global step before the round (the graph's iteration count)
   * @param params the global parameters θ (float32, the graph's flattened order)
   * @param updaterState the averaged AdamW state view (parameter averaging with moments), else null
   * @param resumeStateDir DiLoCo, first round after a resume: the checkpoint's state folder, else null
   * @param resumeSha256 the SHA-256 recorded for each worker's file in that folder
   * @param saveStateDir DiLoCo, a round that ends at a checkpoint: where workers write their inner states, else null
   */
  record Input(
      long round,
      int iteration,
      int epoch,
      float[] params,
      float[] updaterState,
      String resumeStateDir,
      java.util.Map<Integer, String> resumeSha256,
      String saveStateDir)
      implements Serializable {}

  /**
   * One worker's share of a round.
   *
   * @param worker the worker
   * @param specs its batches, in order
   * @param previousRound the last round this worker took part in (-1: none in this attempt); its kept state
   *     is used only when it finished exactly that round
   */
  record Task(int worker, List<BatchSpec> specs, long previousRound) implements Serializable {}

  private final Broadcast<Attempt> attempt;
  private final Broadcast<Input> input;
  private final CollectionAccumulator<String> batchHashes;

  /**
   * @param batchHashes receives {@code "step:worker:sha256"} for each step the task reports (Spark's named
   *     accumulator {@value RoundTrainer#BATCH_SHA256_ACCUMULATOR}, so each task's batch hashes appear in its
   *     task-end listener event), or null
   */
  RoundWorker(
      Broadcast<Attempt> attempt,
      Broadcast<Input> input,
      CollectionAccumulator<String> batchHashes) {
    this.attempt = attempt;
    this.input = input;
    this.batchHashes = batchHashes;
  }

  @Override
  public Iterator<RoundResult> call(Iterator<Task> tasks) throws Exception {
    if (!tasks.hasNext()) {
      return Collections.emptyIterator();
    }
    Task task = tasks.next();
    if (tasks.hasNext()) {
      throw new IllegalStateException("a round partition holds more than one worker");
    }
    // on GPU executors: the device Spark assigned this task, before any array is made; a worker's
    // kept graph
    // lives on one device, so it is kept per device (one GPU per executor keeps every worker's
    // state)
    String device = TaskDevices.bindTaskGpu().orElse("");
    RoundResult res = run(attempt.value(), input.value(), task, device);
    if (batchHashes != null) {
      for (StepRecord r : res.records) {
        batchHashes.add(r.step() + ":" + r.worker() + ":" + r.batchSha256());
      }
    }
    return Collections.singletonList(res).iterator();
  }

  /** Runs one worker's round in this JVM on the CPU (tests without Spark). */
  static RoundResult run(Attempt a, Input in, Task task) throws IOException {
    return run(a, in, task, "");
  }

  /** Runs one worker's round in this JVM on {@code device} ("" on the CPU). */
  static RoundResult run(Attempt a, Input in, Task task, String device) throws IOException {
    String owner = device.isEmpty() ? a.id() : a.id() + "@gpu" + device;
    WorkerSlots.Slot slot = WorkerSlots.take(owner, task.worker());
    if (slot != null && !slot.dirty && slot.round == in.round() && slot.lastSummary != null) {
      RoundResult again = slot.lastSummary.summary();
      again.reruns = 1;
      again.starts = 0;
      again.restarts = 0;
      vectors(a, in, slot.graph, again);
      WorkerSlots.release(slot, a.slotCapacity());
      return again;
    }
    RoundResult res = new RoundResult();
    boolean kept =
        slot != null
            && !slot.dirty
            && task.previousRound() >= 0
            && slot.round == task.previousRound();
    if (!kept) {
      if (slot != null) {
        WorkerSlots.discard(slot);
      }
      slot = newSlot(a, owner, task.worker());
      res.starts = 1;
    }
    slot.dirty = true;
    try {
      ComputationGraph g = slot.graph;
      g.params().assign(Nd4j.createFromArray(in.params()));
      INDArray state = g.getUpdater() == null ? null : g.getUpdater().getStateViewArray();
      if (in.updaterState() != null && state != null) {
        state.assign(Nd4j.createFromArray(in.updaterState()));
      }
      if (!kept && a.strategy().diloco() && state != null) {
        restoreInnerState(a, in, task, state, res);
      }
      train(a, in, task, slot, res);
      vectors(a, in, g, res);
      if (in.saveStateDir() != null && a.strategy().diloco() && state != null) {
        Path dir = new Path(in.saveStateDir());
        FileSystem fs = AtomicFiles.withoutChecksumFiles(dir.getFileSystem(a.hadoopConf().get()));
        res.innerStateSha256.put(
            task.worker(),
            StrategyState.writeVector(
                fs, new Path(dir, StrategyState.workerFile(task.worker())), floats(state)));
      }
      res.contributions = 1;
      res.locations.put(task.worker(), location());
      slot.round = in.round();
      slot.lastSummary = res.summary();
      slot.dirty = false;
      WorkerSlots.release(slot, a.slotCapacity());
      return res;
    } catch (RuntimeException | IOException | Error e) {
      WorkerSlots.discard(slot);
      throw e;
    }
  }

  private static WorkerSlots.Slot newSlot(Attempt a, String owner, int worker) {
    ComputationGraph g =
        new ComputationGraph(ComputationGraphConfiguration.fromJson(a.configurationJson()));
    g.init();
    // dropout differs between workers and is reproducible per (worker, step)
    // trainer.batch_slices resolved here: auto is this executor's compute threads (CPU) or 1 (GPU)
    TrainStep step =
        new TrainStep(
            g,
            a.seed() ^ (0x632BE59BD9B4E019L * (worker + 1L)),
            a.gradientClip(),
            TrainStep.resolveBatchSlices(a.strategy().batchSlices()),
            a.strategy().syncBatchNorm());
    return new WorkerSlots.Slot(owner, worker, g, step);
  }

  /**
   * DiLoCo: a worker that starts in this JVM continues from the checkpoint's inner state on the first round
   * after a resume; anywhere else it starts from zero moments, counted as a restart when the run was already
   * going.
   */
  private static void restoreInnerState(
      Attempt a, Input in, Task task, INDArray state, RoundResult res) {
    int worker = task.worker();
    String sha = in.resumeSha256() == null ? null : in.resumeSha256().get(worker);
    if (in.resumeStateDir() != null && sha != null) {
      Path file = new Path(in.resumeStateDir(), StrategyState.workerFile(worker));
      try {
        FileSystem fs = file.getFileSystem(a.hadoopConf().get());
        state.assign(
            Nd4j.createFromArray(StrategyState.readVector(fs, file, (int) state.length(), sha)));
        return;
      } catch (IOException | RuntimeException e) {
        res.notes.add(
            "worker "
                + worker
                + ": inner state not restored ("
                + e.getMessage()
                + "); it starts from zero moments");
      }
    } else if (in.resumeStateDir() != null) {
      res.notes.add(
          "worker "
              + worker
              + ": the checkpoint holds no inner state for it; it starts from zero moments");
    }
    state.assign(0);
    if (in.resumeStateDir() == null && task.previousRound() >= 0) {
      res.restarts = 1;
    }
  }

  private static void train(
      Attempt a, Input in, Task task, WorkerSlots.Slot slot, RoundResult res) {
    ComputationGraph g = slot.graph;
    List<BatchSpec> specs = task.specs();
    try (Prefetch batches = new Prefetch(a.source(), specs, a.strategy().prefetchBatches())) {
      for (int k = 0; k < specs.size(); k++) {
        BatchSource.Built b = batches.get(k);
        res.buildSeconds += b.buildSeconds();
        res.skippedUtterances += b.skipped().size();
        for (String r : b.skipped()) {
          if (res.reasons.size() < RoundResult.MAX_REASONS) {
            res.reasons.add(r);
          }
        }
        if (b.batch() == null) {
          if (b.failed()) {
            res.failedBatches++;
          } else {
            res.emptyBatches++;
          }
          continue;
        }
        res.batches++;
        res.audioSeconds += b.audioSeconds();
        g.getConfiguration().setIterationCount(in.iteration() + k);
        g.getConfiguration().setEpochCount(in.epoch());
        long t0 = System.nanoTime();
        String batchSha256 = BatchHash.sha256(b.batch());
        TrainStep.StepResult r = slot.step.fit(b.batch());
        double fit = (System.nanoTime() - t0) / 1e9;
        res.fitSeconds += fit;
        long step = in.iteration() + k + 1L;
        switch (r.outcome()) {
          case DONE:
            {
              MultiSoftmaxDecoderImpl d = NestGraph.decoder(g);
              long selected = d.getLastNumSelected();
              res.records.add(
                  new StepRecord(
                      step,
                      task.worker(),
                      r.score(),
                      d.getLastAccuracy() * selected,
                      selected,
                      b.audioSeconds(),
                      fit,
                      false,
                      batchSha256));
              break;
            }
          case SKIPPED_NON_FINITE:
            res.records.add(
                new StepRecord(
                    step,
                    task.worker(),
                    Double.NaN,
                    0,
                    0,
                    b.audioSeconds(),
                    fit,
                    true,
                    batchSha256));
            break;
          default:
            res.emptyBatches++;
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while building batches", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("building a batch failed: " + e.getCause(), e.getCause());
    }
    g.getConfiguration().setIterationCount(in.iteration() + specs.size());
  }

  /** Fills the result's vectors from the worker's graph after its steps. */
  private static void vectors(Attempt a, Input in, ComputationGraph g, RoundResult res) {
    float[] local = floats(g.params());
    if (a.strategy().diloco()) {
      float[] global = in.params();
      float[] delta = new float[local.length];
      for (int i = 0; i < delta.length; i++) {
        delta[i] = global[i] - local[i];
      }
      if (a.strategy().deltaDtype() == org.nestspark.train.DeltaDtype.FLOAT32) {
        res.sum = delta;
      } else {
        res.dtype = a.strategy().deltaDtype();
        res.encoded = res.dtype.encode(delta);
      }
    } else {
      res.sum = local;
      if (a.strategy().shipsUpdaterState() && g.getUpdater() != null) {
        res.stateSum = floats(g.getUpdater().getStateViewArray());
      }
    }
    res.contributions = 1;
  }

  /** The values of a flat array as float32 (copying only the array's own elements). */
  static float[] floats(INDArray a) {
    INDArray flat = a.offset() == 0 && a.data().length() == a.length() ? a : a.dup();
    return flat.data().asFloat();
  }

  /** "executor_HOST_ID": where this worker's state lives, as a Spark preferred location. */
  static String location() {
    SparkEnv env = SparkEnv.get();
    if (env == null) {
      return "";
    }
    BlockManagerId id = env.blockManager().blockManagerId();
    return "executor_" + id.host() + "_" + id.executorId();
  }

  /** Batches built in order, up to {@code ahead} of the training thread on one background thread. */
  private static final class Prefetch implements AutoCloseable {
    private final BatchSource source;
    private final List<BatchSpec> specs;
    private final int ahead;
    private final ExecutorService pool;
    private final Deque<Future<BatchSource.Built>> queue = new ArrayDeque<>();
    private int submitted;

    Prefetch(BatchSource source, List<BatchSpec> specs, int ahead) {
      this.source = source;
      this.specs = specs;
      this.ahead = ahead;
      this.pool =
          ahead > 0
              ? Executors.newSingleThreadExecutor(
                  r -> {
                    Thread t = new Thread(r, "nest-batch-prefetch");
                    t.setDaemon(true);
                    return t;
                  })
              : null;
    }

    BatchSource.Built get(int k) throws InterruptedException, ExecutionException {
      if (pool == null) {
        return source.buildOne(specs.get(k));
      }
      while (submitted < specs.size() && submitted <= k + ahead) {
        BatchSpec s = specs.get(submitted++);
        queue.addLast(pool.submit(() -> source.buildOne(s)));
      }
      return queue.removeFirst().get();
    }

    @Override
    public void close() {
      if (pool != null) {
        pool.shutdownNow();
      }
    }
  }
}
