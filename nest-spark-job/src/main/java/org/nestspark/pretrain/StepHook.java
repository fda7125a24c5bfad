package org.nestspark.pretrain;

import org.apache.spark.TaskContext;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.updater.graph.ComputationGraphUpdater;
import org.deeplearning4j.spark.api.TrainingHook;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;

import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.train.TrainStep;

/**
 * Runs around every optimizer step a Spark training worker takes (DL4J {@link TrainingHook}) and gives the
 * workers what {@link TrainStep} gives a single process:
 *
 * <ul>
 *   <li><b>The step count.</b> DL4J's parameter-averaging worker rebuilds its graph from a clone of the
 *       configuration, and {@code ComputationGraphConfiguration.clone()} drops the iteration count: every
 *       round would start at iteration 0, freezing the learning-rate schedule at its first value and
 *       resetting AdamW's bias correction. The hook carries the driver graph's iteration count at the moment
 *       Spark serializes the round's task ({@link #writeObject}) and sets the worker graph's count from it
 *       before each step, so schedules and bias correction follow the global step.</li>
 *   <li><b>Reproducible dropout.</b> ND4J's RNG is reseeded from (data.seed, worker, iteration) before the
 *       step, so a task Spark re-runs after an executor loss draws the same masks.</li>
 *   <li><b>Non-finite steps are undone.</b> Parameters (batch-norm statistics included) and AdamW moments are
 *       snapshotted before the step and restored when the loss or a parameter is not finite, so one bad batch
 *       never reaches the parameter average. The iteration count still advances (the master counts rounds),
 *       the step is reported as undone.</li>
 *   <li><b>Metrics.</b> Loss, masked-token accuracy, selected tokens, audio seconds and fit time of each
 *       step go to the driver through a Spark accumulator ({@link StepRecord}).</li>
 * </ul>
 * Batches without a selected token never get here: {@link BatchSource} drops them.
 */
public final class StepHook implements TrainingHook {
  private static final long serialVersionUID = 1L;

  private final long seed;
  private final double hopSeconds;
  private final CollectionAccumulator<StepRecord> records;
  private transient ComputationGraph driverGraph;
  private int baseIteration;
  private transient int localSteps;
  private transient INDArray paramsBefore;
  private transient INDArray stateBefore;
  private transient long startNanos;
  private transient int iterationBefore;

  /**
   * @param seed {@code data.seed}
   * @param hopSeconds seconds per feature frame ({@code window_stride}), to turn valid frames into audio seconds
   */
  public StepHook(long seed, double hopSeconds, CollectionAccumulator<StepRecord> records) {
    this.seed = seed;
    this.hopSeconds = hopSeconds;
    this.records = records;
  }

  /** On the driver: the graph whose iteration count each round's workers continue from. */
  public void setDriverGraph(ComputationGraph graph) {
    this.driverGraph = graph;
  }

  private void writeObject(java.io.ObjectOutputStream out) throws java.io.IOException {
    if (driverGraph != null) {
      baseIteration = driverGraph.getIterationCount();
    }
    out.defaultWriteObject();
  }

  @Override
  public void preUpdate(MultiDataSet batch, Model model) {
    ComputationGraph g = (ComputationGraph) model;
    g.getConfiguration().setIterationCount(baseIteration + localSteps);
    localSteps++;
    iterationBefore = g.getIterationCount();
    paramsBefore = copy(paramsBefore, g.params());
    INDArray state = state(g);
    stateBefore = state == null ? null : copy(stateBefore, state);
    Nd4j.getRandom().setSeed(TrainStep.stepSeed(seed ^ (0x632BE59BD9B4E019L * (worker() + 1L)), iterationBefore));
    startNanos = System.nanoTime();
  }

  @Override
  public void postUpdate(MultiDataSet batch, Model model) {
    ComputationGraph g = (ComputationGraph) model;
    double fitSeconds = (System.nanoTime() - startNanos) / 1e9;
    double loss = g.score();
    MultiSoftmaxDecoderImpl decoder = NestGraph.decoder(g);
    long selected = decoder.getLastNumSelected();
    double correct = decoder.getLastAccuracy() * selected;
    boolean undone = false;
    if (!Double.isFinite(loss) || !BooleanIndexing.and(g.params(), Conditions.isFinite())) {
      g.params().assign(paramsBefore);
      INDArray state = state(g);
      if (state != null && stateBefore != null) {
        state.assign(stateBefore);
      }
      undone = true;
    }
    double audio = batch.getFeaturesMaskArray(0).sumNumber().doubleValue() * hopSeconds;
    records.add(new StepRecord(iterationBefore + 1L, worker(), undone ? Double.NaN : loss, undone ? 0 : correct, undone ? 0 : selected,
        audio, fitSeconds, undone));
  }

  @Override
  public void preUpdate(DataSet minibatch, Model model) {
    throw new UnsupportedOperationException("the NEST graph trains on MultiDataSets");
  }

  @Override
  public void postUpdate(DataSet minibatch, Model model) {
    throw new UnsupportedOperationException("the NEST graph trains on MultiDataSets");
  }

  private static int worker() {
    TaskContext tc = TaskContext.get();
    return tc == null ? 0 : tc.partitionId();
  }

  private static INDArray state(ComputationGraph g) {
    ComputationGraphUpdater u = g.getUpdater();
    return u == null ? null : u.getStateViewArray();
  }

  private static INDArray copy(INDArray into, INDArray from) {
    if (into == null || into.length() != from.length()) {
      return from.dup();
    }
    return into.assign(from);
  }
}
