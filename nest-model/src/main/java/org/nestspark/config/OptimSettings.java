package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;
import java.util.List;

/**
 * {@code model.optim.*}: AdamW with NoamAnnealing (docs/nest-numerics.md §9). {@code warmupSteps} is
 * resolved: NeMo's {@code int(warmup_ratio · trainer.max_steps)} when {@code sched.warmup_ratio} is set (it
 * then wins over {@code warmup_steps}, which always has a default here), else {@code sched.warmup_steps}.
 */
public record OptimSettings(
    double lr,
    double beta1,
    double beta2,
    double eps,
    double weightDecay,
    double gradientClipVal,
    int schedDModel,
    int warmupSteps,
    double minLr)
    implements Serializable {

  static OptimSettings read(Config c) {
    String o = "model.optim.";
    List<Double> betas = c.getDoubleList(o + "betas");
    int warmup =
        c.hasPath(o + "sched.warmup_ratio")
            ? warmupFromRatio(c.getDouble(o + "sched.warmup_ratio"), c.getLong("trainer.max_steps"))
            : c.getInt(o + "sched.warmup_steps");
    return new OptimSettings(
        c.getDouble(o + "lr"),
        betas.get(0),
        betas.get(1),
        c.getDouble(o + "eps"),
        c.getDouble(o + "weight_decay"),
        c.getDouble(o + "gradient_clip_val"),
        c.getInt(o + "sched.d_model"),
        warmup,
        c.getDouble(o + "sched.min_lr"));
  }

  /** NeMo's {@code int(warmup_ratio * max_steps)} (truncation toward zero). */
  public static int warmupFromRatio(double warmupRatio, long maxSteps) {
    if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
      throw new IllegalArgumentException(
          "model.optim.sched.warmup_ratio must be in [0, 1], got " + warmupRatio);
    }
    if (maxSteps <= 0) {
      throw new IllegalArgumentException(
          "model.optim.sched.warmup_ratio needs trainer.max_steps > 0, got " + maxSteps);
    }
    return (int) (warmupRatio * maxSteps);
  }
}
