package org.nestspark.train;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.BooleanIndexing;
import org.nd4j.linalg.indexing.conditions.Conditions;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nestspark.config.NestSettings;
import org.nestspark.config.TrainerSettings;
import org.nestspark.model.nn.ComputeThreads;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One NaN-safe optimiser step of the NEST graph (docs/nest-numerics.md §8 training_step, §14.6): fits one
 * {@link MultiDataSet} on a {@link ComputationGraph} with these guards, in this order:
 *
 * <ol>
 *   <li><b>Empty selection.</b> If a labels mask selects no position (no masked token in the batch, easy with
 *       1-s clips), the batch is skipped and counted. NeMo has no guard and produces a NaN loss there
 *       [quirk, docs/nest-numerics.md §14.6]; DL4J would silently give score 0 and still move the parameters through Adam's
 *       momentum and the weight decay.</li>
 *   <li><b>Deterministic randomness.</b> ND4J's RNG (dropout) is reseeded from {@code (seed, iteration)}
 *       before the step ({@link #stepSeed}), so a run restored from a checkpoint draws the same dropout
 *       masks as an uninterrupted one.</li>
 *   <li><b>Non-finite step.</b> Once the gradients are computed (and, in a sliced step, merged), a
 *       non-finite score or gradient stops DL4J's {@code fit} before clipping, weight decay and the updater
 *       run, so the step is never taken: parameters (BatchNorm running statistics included), updater state
 *       (Adam m, v) and the iteration count keep their values; the batch is counted and reported. NeMo would
 *       carry the NaN on; skipping is nest-spark's choice. With a finite score and finite gradients the
 *       step cannot make a parameter non-finite (clipping scales by a finite factor or 0; AdamW's step
 *       {@code m / (sqrt(v)/c + eps)} is finite or 0 when {@code g²} overflows; the decay multiplies by a
 *       finite factor), so no copy of the parameters and optimizer state is kept to undo a step (it was
 *       12 bytes per parameter, 1.4 GB for a 115 M-parameter model).</li>
 * </ol>
 *
 * <p>The constructor installs the {@link DecoupledWeightDecay} listener (required by {@link AdamW} with
 * weight decay) and, when {@code gradientClipVal > 0}, {@link GradientClipping}, replacing earlier instances
 * of both so a graph is never decayed or clipped twice; other listeners are kept.
 *
 * <p>The step number is the graph's own iteration count (DL4J's 0-based iteration = optimiser steps done,
 * saved with the graph), so the learning-rate schedule, Adam's bias correction and the reseeding all follow
 * a restored graph. Not thread-safe: one TrainStep per graph and thread.
 */
public final class TrainStep {
  private static final Logger LOG = LoggerFactory.getLogger(TrainStep.class);

  /** What happened to a batch. */
  public enum Outcome {
    /** The parameters were updated. */
    DONE,
    /** The labels mask selected nothing: not fitted (NeMo: NaN loss). */
    SKIPPED_EMPTY,
    /** The step's score or gradients were not finite: the step was not taken. */
    SKIPPED_NON_FINITE
  }

  /**
   * The result of {@link #fit}.
   *
   * @param outcome what happened
   * @param step the optimiser step (1-based) this batch was for; unchanged by skipped batches
   * @param score the loss DL4J computed during the step (NaN when skipped for an empty selection)
   * @param learningRate the learning rate of this step (from the first trainable parameter's updater)
   */
  public record StepResult(Outcome outcome, long step, double score, double learningRate) {
    public boolean done() {
      return outcome == Outcome.DONE;
    }
  }

  /** Counters kept across steps (saved in checkpoints). */
  public record Counters(long stepsDone, long skippedEmpty, long skippedNonFinite) {
    public static final Counters ZERO = new Counters(0, 0, 0);

    public Counters {
      if (stepsDone < 0 || skippedEmpty < 0 || skippedNonFinite < 0) {
        throw new IllegalArgumentException("negative counter");
      }
    }
  }

  private final ComputationGraph graph;
  private final long seed;
  private final GradientClipping clipping;
  private final SlicedStep sliced;
  private long stepsDone;
  private long skippedEmpty;
  private long skippedNonFinite;

  /**
   * @param graph the graph to train (its updaters decide the optimiser, e.g. {@link AdamW})
   * @param seed base seed of the per-step reseeding ({@code data.seed})
   * @param gradientClipVal global-norm clip ({@code model.optim.gradient_clip_val}), 0 = off
   */
  public TrainStep(ComputationGraph graph, long seed, double gradientClipVal) {
    this(graph, seed, gradientClipVal, 1);
  }

  /**
   * As {@link #TrainStep(ComputationGraph, long, double)}, each batch cut into {@code batchSlices} slices run
   * concurrently on replicas of the graph ({@link SlicedStep}; 1 = the whole batch on this thread, with
   * multi-threaded ops).
   */
  public TrainStep(ComputationGraph graph, long seed, double gradientClipVal, int batchSlices) {
    this(graph, seed, gradientClipVal, batchSlices, true);
  }

  /**
   * As {@link #TrainStep(ComputationGraph, long, double, int)}; {@code syncBatchNorm}
   * ({@code trainer.sync_batchnorm}) says whether the slices' BatchNorm takes its training statistics over the
   * whole batch (true: the unsliced step up to rounding, NeMo's {@code SyncBatchNorm}) or over each slice's own
   * rows (false: as each GPU does in NeMo without it; no slice waits for another during the pass).
   */
  public TrainStep(
      ComputationGraph graph,
      long seed,
      double gradientClipVal,
      int batchSlices,
      boolean syncBatchNorm) {
    if (batchSlices < 1) {
      throw new IllegalArgumentException("batch_slices must be >= 1, got " + batchSlices);
    }
    if (!(gradientClipVal >= 0)) {
      throw new IllegalArgumentException("gradient_clip_val must be >= 0, got " + gradientClipVal);
    }
    this.graph = graph;
    this.seed = seed;
    this.clipping = gradientClipVal > 0 ? new GradientClipping(gradientClipVal) : null;
    this.sliced = batchSlices > 1 ? new SlicedStep(graph, batchSlices, syncBatchNorm) : null;
    List<TrainingListener> listeners = new ArrayList<>();
    if (sliced != null) {
      listeners.add(
          sliced.listener()); // the slices' gradients are merged before clipping and decay see them
    }
    // before every other listener sees the gradients, and before any of them changes a parameter
    listeners.add(new FiniteGuard(sliced));
    Collection<TrainingListener> existing = graph.getListeners();
    if (existing != null) {
      for (TrainingListener l : existing) {
        if (!(l instanceof DecoupledWeightDecay)
            && !(l instanceof GradientClipping)
            && !(l instanceof FiniteGuard)
            && !SlicedStep.isMergeListener(l)) {
          listeners.add(l);
        }
      }
    }
    if (clipping != null) {
      listeners.add(clipping);
    }
    listeners.add(new DecoupledWeightDecay());
    graph.setListeners(listeners);
  }

  /**
   * A step with {@code data.seed}, {@code model.optim.gradient_clip_val}, {@code trainer.batch_slices} and
   * {@code trainer.sync_batchnorm}
   * from the configuration.
   */
  public static TrainStep of(ComputationGraph graph, NestSettings s) {
    TrainerSettings t = s.trainer();
    return new TrainStep(
        graph,
        s.seed(),
        t.gradientClipVal(),
        resolveBatchSlices(t.batchSlices()),
        t.syncBatchnorm());
  }

  /** A {@code trainer.batch_slices} setting ({@link TrainerSettings#batchSlices()}) in this JVM: 0 (auto) is the compute thread count on the CPU backend, else 1. */
  public static int resolveBatchSlices(int setting) {
    if (setting > 0) {
      return setting;
    }
    return org.nestspark.model.nn.Kernels.cpuBackend() ? ComputeThreads.configured() : 1;
  }

  /** Slices per batch (1: unsliced). */
  public int batchSlices() {
    return sliced == null ? 1 : sliced.slices();
  }

  /**
   * The seed ND4J's RNG gets before DL4J iteration {@code iteration}: SplitMix64's finaliser of
   * {@code seed + (iteration + 1) · 0x9E3779B97F4A7C15}.
   */
  public static long stepSeed(long seed, long iteration) {
    long z = seed + 0x9E3779B97F4A7C15L * (iteration + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Fits one batch with the guards described above. */
  public StepResult fit(MultiDataSet batch) {
    int iteration = graph.getIterationCount();
    long step = iteration + 1L;
    double lr = learningRate(iteration, graph.getEpochCount());
    if (!selectsAnyPosition(batch)) {
      skippedEmpty++;
      LOG.warn(
          "step {}: the labels mask selects no position (NeMo would give a NaN loss); batch skipped ({} so far)",
          step,
          skippedEmpty);
      return new StepResult(Outcome.SKIPPED_EMPTY, step, Double.NaN, lr);
    }
    double score;
    try {
      if (sliced != null && batch.getFeatures(0).size(0) > 1) {
        score = sliced.fit(batch, stepSeed(seed, iteration));
      } else {
        Nd4j.getRandom().setSeed(stepSeed(seed, iteration));
        graph.fit(batch);
        score = graph.score();
      }
    } catch (NonFiniteStep e) {
      skippedNonFinite++;
      LOG.warn(
          "step {}: non-finite {} (score {}); step not taken, parameters and optimizer state unchanged ({} so far)",
          step,
          Double.isFinite(e.score) ? "gradients" : "loss",
          e.score,
          skippedNonFinite);
      return new StepResult(Outcome.SKIPPED_NON_FINITE, step, e.score, lr);
    }
    stepsDone++;
    return new StepResult(Outcome.DONE, step, score, lr);
  }

  /** The counters so far. */
  public Counters counters() {
    return new Counters(stepsDone, skippedEmpty, skippedNonFinite);
  }

  /** Continues counting from {@code c} (after restoring a checkpoint). */
  public void restoreCounters(Counters c) {
    stepsDone = c.stepsDone();
    skippedEmpty = c.skippedEmpty();
    skippedNonFinite = c.skippedNonFinite();
  }

  public long seed() {
    return seed;
  }

  public ComputationGraph graph() {
    return graph;
  }

  /** The clipping listener, or null when clipping is off. */
  public GradientClipping clipping() {
    return clipping;
  }

  /** True when no labels mask of {@code batch} is all zero (a missing mask selects everything). */
  public static boolean selectsAnyPosition(MultiDataSet batch) {
    INDArray[] masks = batch.getLabelsMaskArrays();
    if (masks == null) {
      return true;
    }
    for (INDArray m : masks) {
      if (m != null && !(m.amaxNumber().doubleValue() > 0)) {
        return false;
      }
    }
    return true;
  }

  private double learningRate(int iteration, int epoch) {
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      IUpdater u = p.updater();
      if (p.trainable() && u.hasLearningRate()) {
        return u.getLearningRate(iteration, epoch);
      }
    }
    return Double.NaN;
  }

  /**
   * Stops DL4J's {@code fit} ({@link NonFiniteStep}) when the step's score or merged gradient is not finite,
   * before the listeners after it (clipping, weight decay) and the updater change anything.
   */
  private static final class FiniteGuard extends BaseTrainingListener {
    private final SlicedStep sliced;

    FiniteGuard(SlicedStep sliced) {
      this.sliced = sliced;
    }

    @Override
    public void onGradientCalculation(Model model) {
      if (!(model instanceof ComputationGraph)) {
        return;
      }
      ComputationGraph g = (ComputationGraph) model;
      // a sliced step's score is every slice's (the merge listener has just summed them); the graph
      // itself holds slice 0's
      double score = sliced != null && sliced.merged() ? sliced.mergedScore() : g.score();
      INDArray gradient = g.getGradientsViewArray();
      if (!Double.isFinite(score) || (gradient != null && !allFinite(gradient))) {
        throw new NonFiniteStep(score);
      }
    }
  }

  /** Thrown from {@link FiniteGuard} through DL4J's {@code fit} to {@link #fit}; carries the step's score. */
  private static final class NonFiniteStep extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final double score;

    NonFiniteStep(double score) {
      super("non-finite score or gradient", null, false, false);
      this.score = score;
    }
  }

  /**
   * Whether every element is finite. The sum is a fast reduction (about 5 ms for the Small model's 14 M
   * parameters, against 76 ms for an element-wise condition check) and is non-finite whenever an element is;
   * only then (or if finite values overflowed the sum) are the elements checked one by one.
   */
  static boolean allFinite(INDArray a) {
    return Double.isFinite(a.sumNumber().doubleValue())
        || BooleanIndexing.and(a, Conditions.isFinite());
  }
}
