package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code model.loss.*}: which tokens NeMo's {@code MultiMLMLoss} scores (docs/nest-numerics.md §7): a token
 * of {@code combine_time_steps} frames counts when more than {@code mask_threshold} of them are masked.
 */
public record LossSettings(int combineTimeSteps, double maskThreshold) implements Serializable {

  static LossSettings read(Config c) {
    return new LossSettings(
        c.getInt("model.loss.combine_time_steps"), c.getDouble("model.loss.mask_threshold"));
  }
}
