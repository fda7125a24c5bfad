package org.nestspark.job.pretrain;

import java.io.Serializable;

/**
 * What one worker reported for one optimizer step ({@link RoundWorker}); the driver averages the workers'
 * records of a step into the step's metrics.
 *
 * @param step the optimizer step (1-based, the graph's iteration count after the step)
 * @param worker the Spark partition that trained it
 * @param loss the masked-token loss of the step (docs/nest-numerics.md §7), NaN when the step was not taken
 * @param correct masked tokens predicted right
 * @param selected masked tokens in the loss
 * @param audioSeconds seconds of valid (unpadded) input audio in the batch
 * @param fitSeconds wall time of forward + backward + update
 * @param undone true when the step gave a non-finite loss or gradients and was not taken (the record's historical name)
 * @param batchSha256 SHA-256 of the step's batch content ({@link BatchHash}): equal for a batch rebuilt by a
 *     re-run task or a resumed attempt
 */
public record StepRecord(
    long step,
    int worker,
    double loss,
    double correct,
    long selected,
    double audioSeconds,
    double fitSeconds,
    boolean undone,
    String batchSha256)
    implements Serializable {}
