package org.nestspark.job.pretrain;

import org.nestspark.config.NestConfig;

/**
 * When the run validates, saves and stops (NeMo's trainer and ModelCheckpoint keys): validation every
 * {@code trainer.val_check_interval} steps, a checkpoint after each validation and every
 * {@code every_n_train_steps} steps, the end at {@code trainer.max_steps} or {@code trainer.max_epochs}
 * (-1 = no bound), whichever comes first. Rounds are cut so that none runs past one of these steps.
 */
final class CheckpointPolicy {
  final long maxSteps;
  final int maxEpochs;
  final int valInterval;
  final int everyN;

  CheckpointPolicy(NestConfig cfg) {
    this.maxSteps = cfg.getLong("trainer.max_steps");
    this.maxEpochs = cfg.getInt("trainer.max_epochs");
    this.valInterval = cfg.getInt("trainer.val_check_interval");
    this.everyN = cfg.getInt("exp_manager.checkpoint_callback_params.every_n_train_steps");
  }

  boolean finished(long step, int epoch) {
    return (maxSteps >= 0 && step >= maxSteps) || (maxEpochs >= 0 && epoch >= maxEpochs);
  }

  /** The next step after {@code step} at which the run validates, saves or stops. */
  long nextBoundary(long step) {
    long b = (step / valInterval + 1) * valInterval;
    if (everyN > 0) {
      b = Math.min(b, (step / everyN + 1) * everyN);
    }
    if (maxSteps >= 0) {
      b = Math.min(b, maxSteps);
    }
    return b;
  }

  boolean validatesAfter(long before, long after, boolean hasValidation) {
    return hasValidation && crossed(before, after, valInterval);
  }

  boolean savesAfter(long before, long after) {
    return everyN > 0 && crossed(before, after, everyN);
  }

  /**
   * Whether a checkpoint will be written right after a round from {@code before} to {@code after} steps
   * that ends the epoch's plan when {@code endsEpoch}.
   */
  boolean checkpointAfter(
      long before, long after, int epoch, boolean endsEpoch, boolean hasValidation) {
    return validatesAfter(before, after, hasValidation)
        || savesAfter(before, after)
        || (maxSteps >= 0 && after >= maxSteps)
        || (endsEpoch && maxEpochs >= 0 && epoch + 1 >= maxEpochs);
  }

  static boolean crossed(long before, long after, long interval) {
    return after / interval > before / interval;
  }
}
