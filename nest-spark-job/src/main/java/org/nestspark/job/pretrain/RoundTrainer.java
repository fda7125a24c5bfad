package org.nestspark.job.pretrain;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.rdd.RDD;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.train.OuterNesterov;
import org.nestspark.train.TrainableParams;
import scala.Tuple2;
import scala.collection.JavaConverters;
import scala.collection.Seq;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;

/**
 * The driver's side of training in rounds, for both strategies ({@link TrainingStrategy}); it replaces DL4J's
 * {@code ParameterAveragingTrainingMaster}, whose workers rebuilt their graph from the configuration every
 * round and whose AdamW moments travelled both ways every round.
 *
 * <p>A round: the global parameters (and, for parameter averaging with {@code average_updater_state}, the
 * averaged AdamW moments) are broadcast once; one Spark task per worker ({@link RoundWorker}) trains that
 * worker's batches on the graph its executor keeps between rounds ({@link WorkerSlots}); Spark's
 * {@code treeReduce} sums the results; the driver then
 * <ul>
 *   <li>parameter averaging: sets the parameters (and moments) to the workers' mean;</li>
 *   <li>DiLoCo: takes the mean delta as the outer gradient and applies {@link OuterNesterov}.</li>
 * </ul>
 * Each task prefers the executor that kept its worker's state last round (Spark's process-local preferred
 * location); if that executor is gone the task runs elsewhere and the worker starts again there (counted).
 *
 * <p>The global step after a round is the step before it plus the round's planned steps per worker, whether
 * or not some of a worker's batches had to be skipped, so the plan, the schedule and checkpoints stay aligned.
 * With three or more workers the order Spark sums them in can vary between runs (float rounding in the last
 * bit, as with NCCL's all-reduce); with one or two it cannot.
 */
public final class RoundTrainer implements AutoCloseable {
  /**
   * Name of the Spark accumulator each round task adds its steps' batch hashes to ({@code "step:worker:sha256"},
   * {@link BatchHash}); Spark shows each task's update in its task-end listener event (and the event log),
   * so a re-run task's rebuilt batches can be compared with the first run's. Reset every round.
   */
  public static final String BATCH_SHA256_ACCUMULATOR = "nest.batch_sha256";

  private final JavaSparkContext sc;
  private final ComputationGraph global;
  private final TrainingStrategy strategy;
  private final Broadcast<RoundWorker.Attempt> attempt;
  private final CollectionAccumulator<String> batchHashes;
  private final boolean[] trainable;
  private final OuterNesterov outer;
  private final boolean preferLocations;
  private final Map<Integer, String> locations = new HashMap<>();
  private final Map<Integer, Long> lastRound = new HashMap<>();
  private long round;
  private StrategyState.Loaded resumeFrom;

  /** What one round did. */
  public record Outcome(
      List<StepRecord> records,
      int steps,
      int participants,
      long batches,
      long skippedUtterances,
      long emptyBatches,
      long failedBatches,
      List<String> reasons,
      double audioSeconds,
      double buildSeconds,
      double fitSeconds,
      long bytesDown,
      long bytesUp,
      int starts,
      int restarts,
      int reruns,
      List<String> notes,
      Map<Integer, String> innerStateSha256) {}

  /**
   * @param global the driver's graph: the global parameters (updated in place after every round)
   * @param source builds the training batches on the executors
   * @param seed {@code data.seed}
   * @param gradientClip {@code model.optim.gradient_clip_val}
   */
  public RoundTrainer(
      JavaSparkContext sc,
      ComputationGraph global,
      TrainingStrategy strategy,
      BatchSource source,
      long seed,
      double gradientClip,
      Configuration hadoopConf) {
    this.sc = sc;
    this.global = global;
    this.strategy = strategy;
    this.trainable = trainableMask(global);
    this.outer =
        strategy.diloco()
            ? new OuterNesterov(
                trainable.length, strategy.outerLr(), strategy.outerMomentum(), strategy.nesterov())
            : null;
    this.preferLocations = !sc.isLocal();
    int capacity =
        strategy.workerSlots() > 0 ? strategy.workerSlots() : defaultSlots(sc, strategy.workers());
    this.attempt =
        sc.broadcast(
            new RoundWorker.Attempt(
                UUID.randomUUID().toString(),
                global.getConfiguration().toJson(),
                seed,
                gradientClip,
                strategy,
                source,
                new SerializableHadoopConf(hadoopConf),
                capacity));
    this.batchHashes = sc.sc().collectionAccumulator(BATCH_SHA256_ACCUMULATOR);
  }

  /** Worker graphs an executor keeps: its task slots, plus one for a worker Spark moved there. */
  static int defaultSlots(JavaSparkContext sc, int workers) {
    if (sc.isLocal()) {
      return workers;
    }
    int cores = sc.getConf().getInt("spark.executor.cores", 1);
    int perTask = sc.getConf().getInt("spark.task.cpus", 1);
    return Math.max(1, cores / Math.max(1, perTask)) + 1;
  }

  public TrainingStrategy strategy() {
    return strategy;
  }

  /** DiLoCo: the outer Nesterov buffer (saved with checkpoints); null for parameter averaging. */
  public float[] outerMomentum() {
    return outer == null ? null : outer.buffer();
  }

  /** DiLoCo: continue from a checkpoint's state folder (outer momentum now, inner states in the next round). */
  public void resumeFrom(StrategyState.Loaded state) {
    outer.restore(state.outerMomentum());
    this.resumeFrom = state;
  }

  /**
   * Runs one round.
   *
   * @param perWorker each worker's batches for this round (a worker with none sits the round out)
   * @param epoch the epoch the batches belong to
   * @param saveStateDir DiLoCo: the checkpoint state folder the workers write their inner states to, when
   *     the round ends at a checkpoint; else null
   */
  public Outcome run(List<List<BatchSpec>> perWorker, int epoch, Path saveStateDir) {
    int stepBefore = global.getIterationCount();
    int steps = 0;
    List<Tuple2<RoundWorker.Task, Seq<String>>> tasks = new ArrayList<>();
    for (int w = 0; w < perWorker.size(); w++) {
      List<BatchSpec> specs = perWorker.get(w);
      if (specs.isEmpty()) {
        continue;
      }
      steps = Math.max(steps, specs.size());
      List<String> where = new ArrayList<>();
      if (preferLocations && locations.containsKey(w)) {
        where.add(locations.get(w));
      }
      tasks.add(
          new Tuple2<>(
              new RoundWorker.Task(w, specs, lastRound.getOrDefault(w, -1L)),
              JavaConverters.asScalaBuffer(where).toSeq()));
    }
    if (tasks.isEmpty()) {
      throw new IllegalArgumentException("a round without batches");
    }
    INDArray state = global.getUpdater() == null ? null : global.getUpdater().getStateViewArray();
    float[] params = RoundWorker.floats(global.params());
    RoundWorker.Input in =
        new RoundWorker.Input(
            round,
            stepBefore,
            epoch,
            params,
            strategy.shipsUpdaterState() && state != null ? RoundWorker.floats(state) : null,
            resumeFrom == null ? null : resumeFrom.dir().toString(),
            resumeFrom == null ? null : resumeFrom.workerSha256(),
            saveStateDir == null ? null : saveStateDir.toString());
    Broadcast<RoundWorker.Input> input = sc.broadcast(in);
    batchHashes.reset();
    RoundResult sum;
    try {
      ClassTag<RoundWorker.Task> tag = ClassTag$.MODULE$.apply(RoundWorker.Task.class);
      RDD<RoundWorker.Task> rdd = sc.sc().makeRDD(JavaConverters.asScalaBuffer(tasks).toSeq(), tag);
      JavaRDD<RoundResult> results =
          JavaRDD.fromRDD(rdd, tag).mapPartitions(new RoundWorker(attempt, input, batchHashes));
      sum = results.treeReduce((a, b) -> a.merge(b), 2);
    } finally {
      input.destroy();
    }
    if (sum.contributions != tasks.size()) {
      throw new IllegalStateException(
          "round "
              + round
              + ": "
              + sum.contributions
              + " worker results for "
              + tasks.size()
              + " workers");
    }
    apply(params, sum, state);
    global.getConfiguration().setIterationCount(stepBefore + steps);
    for (Tuple2<RoundWorker.Task, Seq<String>> t : tasks) {
      lastRound.put(t._1().worker(), round);
    }
    locations.putAll(sum.locations);
    round++;
    resumeFrom = null;
    long n = params.length;
    long s = state == null ? 0 : state.length();
    int p = tasks.size();
    return new Outcome(
        List.copyOf(sum.records),
        steps,
        p,
        sum.batches,
        sum.skippedUtterances,
        sum.emptyBatches,
        sum.failedBatches,
        List.copyOf(sum.reasons),
        sum.audioSeconds,
        sum.buildSeconds,
        sum.fitSeconds,
        p * strategy.bytesDownPerWorker(n, s),
        p * strategy.bytesUpPerWorker(n, s),
        sum.starts,
        sum.restarts,
        sum.reruns,
        List.copyOf(sum.notes),
        Map.copyOf(sum.innerStateSha256));
  }

  private void apply(float[] params, RoundResult sum, INDArray state) {
    float[] mean = mean(sum.vectorSum(), sum.contributions);
    if (strategy.diloco()) {
      outer.step(params, mean, trainable);
      global.params().assign(Nd4j.createFromArray(params));
    } else {
      global.params().assign(Nd4j.createFromArray(mean));
      if (sum.stateSum != null && state != null) {
        state.assign(Nd4j.createFromArray(mean(sum.stateSum, sum.contributions)));
      }
    }
  }

  /** {@code sum / k}, in place. */
  private static float[] mean(float[] sum, int k) {
    for (int i = 0; i < sum.length; i++) {
      sum[i] /= k;
    }
    return sum;
  }

  /** true for each flattened parameter an optimizer updates (false: batch-norm running statistics). */
  static boolean[] trainableMask(ComputationGraph g) {
    INDArray saved = g.params().dup();
    try {
      g.params().assign(0);
      for (TrainableParams.Param p : TrainableParams.of(g)) {
        if (p.trainable()) {
          p.value().assign(1);
        }
      }
      float[] m = RoundWorker.floats(g.params());
      boolean[] out = new boolean[m.length];
      for (int i = 0; i < m.length; i++) {
        out[i] = m[i] != 0;
      }
      return out;
    } finally {
      g.params().assign(saved);
    }
  }

  @Override
  public void close() {
    attempt.destroy();
  }
}
