package org.nestspark.train;

import java.util.Arrays;
import java.util.Locale;

/**
 * Where the wall time of the last sliced training step went ({@code trainer.batch_slices} &gt; 1), for
 * benchmarks ({@code bench train}): taking it costs a few {@code System.nanoTime} calls a step.
 *
 * @param prepMs cutting the batch and copying the parameters into the replicas, before any slice runs
 * @param sliceMs per slice, forward and backward, rendezvous waits included
 * @param waitMs per slice, time spent waiting for the other slices in the BatchNorm rendezvous
 * @param mergeWaitMs slice 0 waiting, after its own backward pass, for the other slices to finish
 * @param mergeMs adding the other slices' gradients into slice 0's
 * @param updateMs after the merge: gradient clipping, the optimizer and weight decay (DL4J's rest of fit)
 * @param totalMs the whole step
 */
public record SliceTiming(
    double prepMs,
    double[] sliceMs,
    double[] waitMs,
    double mergeWaitMs,
    double mergeMs,
    double updateMs,
    double totalMs) {
  private static volatile SliceTiming last;

  /** The timing of this JVM's last sliced step, or null before the first. */
  public static SliceTiming last() {
    return last;
  }

  static void record(SliceTiming t) {
    last = t;
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "total %.0f ms: prepare %.0f, slices %s (of which rendezvous waits %s), merge wait %.0f, merge %.0f,"
            + " clip+optimizer %.0f",
        totalMs,
        prepMs,
        fmt(sliceMs),
        fmt(waitMs),
        mergeWaitMs,
        mergeMs,
        updateMs);
  }

  private static String fmt(double[] ms) {
    return Arrays.stream(ms)
        .mapToObj(v -> String.format(Locale.ROOT, "%.0f", v))
        .reduce((a, b) -> a + "/" + b)
        .orElse("-");
  }
}
