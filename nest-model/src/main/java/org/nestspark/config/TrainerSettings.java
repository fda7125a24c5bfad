package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * What one training step takes from {@code trainer.*} and {@code model.optim.gradient_clip_val}.
 *
 * @param gradientClipVal clip the global gradient norm to this (0 = off)
 * @param batchSlices {@code trainer.batch_slices} as written: a positive number, or 0 for {@code auto}
 *     (resolved where the step runs: the compute thread count on the CPU backend, 1 on a GPU)
 * @param syncBatchnorm BatchNorm statistics over the whole batch across slices (NeMo's SyncBatchNorm)
 */
public record TrainerSettings(double gradientClipVal, int batchSlices, boolean syncBatchnorm)
    implements Serializable {

  static TrainerSettings read(Config c) {
    String slices = c.getValue("trainer.batch_slices").unwrapped().toString().strip();
    return new TrainerSettings(
        c.getDouble("model.optim.gradient_clip_val"),
        "auto".equals(slices) ? 0 : Integer.parseInt(slices),
        c.getBoolean("trainer.sync_batchnorm"));
  }
}
