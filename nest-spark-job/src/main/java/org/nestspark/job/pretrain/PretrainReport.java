package org.nestspark.job.pretrain;

import java.util.List;
import java.util.Locale;
import org.nestspark.train.TrainStep;

/**
 * What a pretraining run (or one attempt of it) did.
 *
 * @param runDir the run folder
 * @param resumedFromStep the checkpoint step this attempt resumed from, -1 for a new run
 * @param step optimizer steps done at the end
 * @param epoch epochs done at the end
 * @param lastTrainLoss the last step's training loss (mean over workers)
 * @param valLoss the last validation loss (NaN without validation)
 * @param valMaskedAccuracy the last validation masked-token accuracy
 * @param firstTrainLoss the first training loss of this attempt
 * @param audioSeconds seconds of audio trained on in this attempt
 * @param wallSeconds wall time of this attempt
 * @param checkpoints the checkpoint files kept
 * @param bestStep the step of the best checkpoint (-1 when none was validated)
 * @param counters steps done and batches/steps skipped (whole run)
 * @param skippedUtterances utterances that could not be loaded in this attempt
 * @param stopReason why the attempt stopped before the end ({@link Preemption}: SIGTERM, max_time_per_run),
 *     null when it reached max_steps/max_epochs
 */
public record PretrainReport(
    String runDir,
    long resumedFromStep,
    long step,
    int epoch,
    double lastTrainLoss,
    double valLoss,
    double valMaskedAccuracy,
    double firstTrainLoss,
    double audioSeconds,
    double wallSeconds,
    List<String> checkpoints,
    long bestStep,
    TrainStep.Counters counters,
    long skippedUtterances,
    String stopReason) {

  /** True when the attempt stopped early with a checkpoint ({@link PretrainExit#STOPPED}). */
  public boolean stopped() {
    return stopReason != null;
  }

  public String summary() {
    return String.format(
        Locale.ROOT,
        "[pretrain] %s: step %d, epoch %d%s; train loss %.4f -> %.4f; val_loss %.4f, val_masked_accuracy %.4f; %.0f s of audio in %.0f s"
            + " (%.1f audio-s/s); skipped: %d utterances, %d batches without masked tokens, %d non-finite worker steps;"
            + " checkpoints %s (best: step %d); run folder %s",
        stopReason == null ? "done" : "stopped early (" + stopReason + "; run again to resume)",
        step,
        epoch,
        resumedFromStep >= 0 ? " (resumed from step " + resumedFromStep + ")" : "",
        firstTrainLoss,
        lastTrainLoss,
        valLoss,
        valMaskedAccuracy,
        audioSeconds,
        wallSeconds,
        audioSeconds / wallSeconds,
        skippedUtterances,
        counters.skippedEmpty(),
        counters.skippedNonFinite(),
        checkpoints,
        bestStep,
        runDir);
  }
}
