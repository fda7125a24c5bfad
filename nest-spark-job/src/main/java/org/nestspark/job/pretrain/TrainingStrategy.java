package org.nestspark.job.pretrain;

import java.io.Serializable;
import java.util.Locale;
import org.nestspark.config.NestConfig;
import org.nestspark.train.DeltaDtype;

/**
 * How the workers' steps are combined ({@code pretrain.strategy} and {@code pretrain.diloco.*}), read once
 * from the validated configuration. Both strategies run in rounds on persistent workers
 * ({@link RoundTrainer}): each worker takes {@link #stepsPerRound()} optimizer steps on its own batches,
 * then the driver combines the results.
 *
 * <ul>
 *   <li>{@code parameter_averaging} (the default, DL4J's semantics): every round starts all workers from the
 *       same parameters and (with {@code average_updater_state}) the same AdamW moments; the driver
 *       averages both. {@code averaging_frequency} steps per round.</li>
 *   <li>{@code diloco}: each worker keeps its own AdamW state across rounds (it never travels); only
 *       parameter deltas {@code θ_global − θ_worker} go to the driver, in {@link #deltaDtype()}, and the
 *       driver applies an outer Nesterov step ({@link org.nestspark.train.OuterNesterov}).
 *       {@code diloco.inner_steps} steps per round.</li>
 * </ul>
 *
 * @param kind the strategy
 * @param workers training workers (Spark tasks per round)
 * @param stepsPerRound optimizer steps each worker takes per round
 * @param averageUpdaterState parameter averaging: also average AdamW moments
 * @param outerLr diloco: η of the outer step
 * @param outerMomentum diloco: μ of the outer step
 * @param nesterov diloco: Nesterov's form of the momentum
 * @param deltaDtype diloco: how the deltas travel
 * @param prefetchBatches batches a worker builds ahead on a background thread (0 = build in the training thread)
 * @param workerSlots worker graphs an executor keeps between rounds (0 = its task slots)
 * @param batchSlices {@code trainer.batch_slices} as written (0 = auto, resolved on each executor)
 * @param syncBatchNorm {@code trainer.sync_batchnorm}: whether a worker's batch slices share BatchNorm statistics
 */
public record TrainingStrategy(
    Kind kind,
    int workers,
    int stepsPerRound,
    boolean averageUpdaterState,
    double outerLr,
    double outerMomentum,
    boolean nesterov,
    DeltaDtype deltaDtype,
    int prefetchBatches,
    int workerSlots,
    int batchSlices,
    boolean syncBatchNorm)
    implements Serializable {

  /** {@code pretrain.strategy}. */
  public enum Kind {
    PARAMETER_AVERAGING,
    DILOCO;

    public String key() {
      return name().toLowerCase(Locale.ROOT);
    }

    static Kind of(String key) {
      for (Kind k : values()) {
        if (k.key().equals(key)) {
          return k;
        }
      }
      throw new IllegalArgumentException("pretrain.strategy: '" + key + "'");
    }
  }

  /** The strategy of a validated configuration with {@code workers} resolved. */
  public static TrainingStrategy fromConfig(NestConfig cfg, int workers) {
    Kind kind = Kind.of(cfg.getString("pretrain.strategy"));
    int steps =
        kind == Kind.DILOCO
            ? cfg.getInt("pretrain.diloco.inner_steps")
            : cfg.getInt("pretrain.averaging_frequency");
    return new TrainingStrategy(
        kind,
        workers,
        steps,
        cfg.getBoolean("pretrain.average_updater_state"),
        cfg.getDouble("pretrain.diloco.outer_lr"),
        cfg.getDouble("pretrain.diloco.outer_momentum"),
        cfg.getBoolean("pretrain.diloco.nesterov"),
        DeltaDtype.of(cfg.getString("pretrain.diloco.delta_dtype")),
        cfg.getInt("pretrain.prefetch_batches"),
        cfg.getInt("pretrain.worker_slots"),
        cfg.settings().trainer().batchSlices(),
        cfg.getBoolean("trainer.sync_batchnorm"));
  }

  public boolean diloco() {
    return kind == Kind.DILOCO;
  }

  /** Parameter averaging with the AdamW moments averaged (they travel both ways every round). */
  public boolean shipsUpdaterState() {
    return kind == Kind.PARAMETER_AVERAGING && averageUpdaterState;
  }

  /** A short description for logs. */
  public String describe(int batchSize) {
    if (diloco()) {
      return String.format(
          Locale.ROOT,
          "DiLoCo with %d workers, %d inner steps per round, outer lr %s, momentum %s%s, deltas in %s, batch %d",
          workers,
          stepsPerRound,
          outerLr,
          outerMomentum,
          nesterov ? " (Nesterov)" : "",
          deltaDtype.key(),
          batchSize);
    }
    return String.format(
        Locale.ROOT,
        "parameter averaging with %d workers, averaging every %d steps%s, batch %d",
        workers,
        stepsPerRound,
        averageUpdaterState ? " (with AdamW moments)" : "",
        batchSize);
  }

  /**
   * Bytes the driver sends each worker at the start of a round: the parameters (float32) and, when
   * averaged, the AdamW moments.
   */
  public long bytesDownPerWorker(long numParams, long updaterStateLength) {
    return 4L * numParams + (shipsUpdaterState() ? 4L * updaterStateLength : 0);
  }

  /** Bytes a worker sends back at the end of a round. */
  public long bytesUpPerWorker(long numParams, long updaterStateLength) {
    if (diloco()) {
      return (long) deltaDtype.bytes() * numParams;
    }
    return 4L * numParams + (shipsUpdaterState() ? 4L * updaterStateLength : 0);
  }
}
