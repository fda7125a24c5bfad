package org.nestspark.train;

import java.util.Objects;
import org.nd4j.linalg.schedule.ISchedule;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect;
import org.nd4j.shade.jackson.annotation.JsonAutoDetect.Visibility;
import org.nd4j.shade.jackson.annotation.JsonCreator;
import org.nd4j.shade.jackson.annotation.JsonProperty;
import org.nestspark.config.OptimSettings;

/**
 * NeMo's {@code NoamAnnealing} learning-rate schedule as a DL4J {@link ISchedule} (docs/nest-numerics.md §9):
 *
 * <pre>
 *   s = max(1, last_epoch)
 *   lr(s) = lr0 · d^−0.5 · min(s^−0.5, s · warmup^−1.5)      (warmup > 0)
 *   lr(s) = lr0 · d^−0.5 · s^−0.5                              (warmup = 0)
 *   lr(s) = max(lr(s), min_lr)                                 only for s > warmup
 * </pre>
 *
 * <p><b>Step indexing [quirk].</b> NeMo creates the scheduler with {@code last_epoch = 0} and steps it after
 * every optimiser step, so optimiser step k (1-based) uses lr(max(1, k−1)): steps 1 and 2 both use lr(1).
 * DL4J passes the 0-based iteration i (the number of steps already done) to {@link #valueAt}, and step k
 * is iteration i = k−1, so {@code valueAt(i, epoch) = lr(max(1, i))} reproduces NeMo exactly. The iteration
 * count is part of the graph configuration, so a graph restored from a checkpoint continues the schedule.
 * {@code max_steps} is passed by NeMo but not used by this schedule; min_lr is never reached in NEST's
 * 500k steps.
 *
 * <p>Values (docs/nest-numerics.md §9, lr0 = 5, warmup 25000): d = 512: lr(1) 5.590170e-08, lr(25000) 1.397542e-03 (peak),
 * lr(500000) 3.125000e-04; d = 176: lr(1) 9.534626e-08, peak 2.383656e-03.
 *
 * <p>Immutable; serialized as JSON by DL4J's configuration mapper ({@code @class} plus the four fields).
 */
@JsonAutoDetect(
    fieldVisibility = Visibility.ANY,
    getterVisibility = Visibility.NONE,
    isGetterVisibility = Visibility.NONE,
    setterVisibility = Visibility.NONE)
public final class NoamAnnealing implements ISchedule {
  private static final long serialVersionUID = 1L;

  @JsonProperty("initialLr")
  private final double initialLr;

  @JsonProperty("dModel")
  private final int dModel;

  @JsonProperty("warmupSteps")
  private final int warmupSteps;

  @JsonProperty("minLr")
  private final double minLr;

  /**
   * @param initialLr NeMo's {@code optim.lr} (5.0 for NEST)
   * @param dModel the encoder's d_model
   * @param warmupSteps warm-up steps (≥ 0)
   * @param minLr floor applied after warm-up
   */
  @JsonCreator
  public NoamAnnealing(
      @JsonProperty("initialLr") double initialLr,
      @JsonProperty("dModel") int dModel,
      @JsonProperty("warmupSteps") int warmupSteps,
      @JsonProperty("minLr") double minLr) {
    if (!(initialLr > 0) || dModel <= 0 || warmupSteps < 0 || !(minLr >= 0)) {
      throw new IllegalArgumentException(
          "NoamAnnealing needs lr > 0, d_model > 0, warmup_steps >= 0, min_lr >= 0; got lr="
              + initialLr
              + ", d_model="
              + dModel
              + ", warmup_steps="
              + warmupSteps
              + ", min_lr="
              + minLr);
    }
    if (initialLr < minLr) {
      // NeMo raises the same in get_lr()
      throw new IllegalArgumentException(
          "NoamAnnealing: initial lr " + initialLr + " is lower than min_lr " + minLr);
    }
    this.initialLr = initialLr;
    this.dModel = dModel;
    this.warmupSteps = warmupSteps;
    this.minLr = minLr;
  }

  /**
   * The schedule of {@code model.optim}: lr0 = {@code model.optim.lr}, d = {@code model.optim.sched.d_model},
   * min_lr = {@code model.optim.sched.min_lr}; warm-up = {@code int(warmup_ratio · trainer.max_steps)} when
   * {@code model.optim.sched.warmup_ratio} is set (it then takes precedence over {@code warmup_steps}, which
   * always has a default here; NeMo instead rejects both being set), else {@code warmup_steps}.
   */
  public static NoamAnnealing of(OptimSettings s) {
    return new NoamAnnealing(s.lr(), s.schedDModel(), s.warmupSteps(), s.minLr());
  }

  /** The learning rate of DL4J iteration {@code iteration} (0-based): lr(max(1, iteration)). */
  @Override
  public double valueAt(int iteration, int epoch) {
    return lr(Math.max(1, iteration));
  }

  /** NeMo's {@code _noam_annealing(lr0, step)} for {@code step = max(1, last_epoch)}. */
  public double lr(long step) {
    double s = Math.max(1, step);
    double normalize = Math.pow(dModel, -0.5);
    double mult;
    if (warmupSteps > 0) {
      mult = normalize * Math.min(Math.pow(s, -0.5), s * Math.pow(warmupSteps, -1.5));
    } else {
      mult = normalize * Math.pow(s, -0.5);
    }
    double out = initialLr * mult;
    if (s > warmupSteps) {
      out = Math.max(out, minLr);
    }
    return out;
  }

  /** The learning rate NeMo uses for optimiser step k (1-based): lr(max(1, k − 1)). */
  public double lrForOptimizerStep(long k) {
    return lr(Math.max(1, k - 1));
  }

  public double getInitialLr() {
    return initialLr;
  }

  public int getDModel() {
    return dModel;
  }

  public int getWarmupSteps() {
    return warmupSteps;
  }

  public double getMinLr() {
    return minLr;
  }

  @Override
  public ISchedule clone() {
    return this; // immutable
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof NoamAnnealing)) {
      return false;
    }
    NoamAnnealing n = (NoamAnnealing) o;
    return Double.compare(initialLr, n.initialLr) == 0
        && dModel == n.dModel
        && warmupSteps == n.warmupSteps
        && Double.compare(minLr, n.minLr) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(initialLr, dModel, warmupSteps, minLr);
  }

  @Override
  public String toString() {
    return "NoamAnnealing(lr="
        + initialLr
        + ", d_model="
        + dModel
        + ", warmup_steps="
        + warmupSteps
        + ", min_lr="
        + minLr
        + ")";
  }
}
