package org.nestspark.train;

import java.io.Serializable;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;

/**
 * The decoupled weight decay of {@link AdamW} (docs/nest-numerics.md §9): {@code p ← p·(1 − η·wd)} with the current
 * learning rate η, on every parameter whose updater ({@code getUpdaterByParam}) is an {@code AdamW} with
 * {@code weightDecay > 0} — weights, biases, norm affine parameters and anything else trainable, as torch
 * does; {@code NoOp} parameters (BatchNorm running statistics) are untouched.
 *
 * <p>It runs as a training listener on {@code onGradientCalculation}: after the gradients were computed
 * at the old parameters and before DL4J's updater applies the Adam step, which is exactly torch's order
 * ({@code param.mul_(1 − lr·wd)} first, then {@code param.addcdiv_(…)}). The iteration it decayed for is
 * recorded per thread until the step is done, so {@link AdamWUpdater} can refuse to step without it.
 *
 * <p>Install it on every model that is fitted with an AdamW with weight decay, exactly once
 * ({@link TrainStep} does this; for Spark training masters, pass it with the worker listeners).
 */
public final class DecoupledWeightDecay extends BaseTrainingListener implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ThreadLocal<Integer> APPLIED_AT = new ThreadLocal<>();

  @Override
  public void onGradientCalculation(Model model) {
    if (!(model instanceof ComputationGraph)) {
      throw new IllegalArgumentException(
          "DecoupledWeightDecay supports ComputationGraph only, got " + model.getClass().getName());
    }
    ComputationGraph graph = (ComputationGraph) model;
    apply(graph, graph.getIterationCount(), graph.getEpochCount());
  }

  /** Forgets the mark once the step is done, so it can never vouch for another model's step. */
  @Override
  public void iterationDone(Model model, int iteration, int epoch) {
    APPLIED_AT.remove();
  }

  /** Decays the parameters of {@code graph} for DL4J iteration {@code iteration} (0-based). */
  public static void apply(ComputationGraph graph, int iteration, int epoch) {
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      if (p.updater() instanceof AdamW) {
        AdamW a = (AdamW) p.updater();
        if (a.getWeightDecay() > 0) {
          double lr = a.getLearningRate(iteration, epoch);
          p.value().muli(1.0 - lr * a.getWeightDecay());
        }
      }
    }
    APPLIED_AT.set(iteration);
  }

  /** True when this thread applied the decay for {@code iteration} last. */
  static boolean appliedAt(int iteration) {
    Integer i = APPLIED_AT.get();
    return i != null && i == iteration;
  }

  /** Marks the decay as done for {@code iteration} on this thread (for code that decays by other means). */
  static void markApplied(int iteration) {
    APPLIED_AT.set(iteration);
  }

  /** Clears this thread's mark. */
  static void clearMark() {
    APPLIED_AT.remove();
  }
}
