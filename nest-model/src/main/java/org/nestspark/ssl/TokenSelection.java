package org.nestspark.ssl;

import java.io.Serializable;
import java.util.Objects;
import org.nestspark.config.LossSettings;

/**
 * Which token positions count in NeMo's {@code MultiMLMLoss} (docs/nest-numerics.md §7, step 1): the frame mask
 * {@code [B, T]} is grouped into {@code T / combine} tokens of {@code combine} consecutive frames (the
 * encoder's frame rate, T' = T/8), and a token is selected when the fraction of its masked frames is
 * <em>greater than</em> {@code mask_threshold}. NeMo computes that fraction as the float32 mean of the
 * {@code (combine·F)} mask values and compares it with the threshold in float32; as all F channels of a frame
 * share the mask, that is {@code fl32(n / combine) > fl32(threshold)} for n masked frames — with NEST's
 * 8 and 0.8: at least 7 of 8 frames (7/8 = 0.875 counts, 6/8 = 0.75 does not).
 *
 * <p>The result is the labels mask the trainer gives the graph's loss, at the encoder's frame rate. NeMo's
 * loss is the mean over the selected positions of the whole batch, so a batch with none selected gives
 * NaN in NeMo (docs/nest-numerics.md §14.6); {@link SelectedTokens#isEmpty()} lets the trainer detect and skip it.
 */
public final class TokenSelection implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int combine;
  private final double threshold;

  public TokenSelection(int combineTimeSteps, double maskThreshold) {
    if (combineTimeSteps <= 0) {
      throw new IllegalArgumentException(
          "combine_time_steps must be positive: " + combineTimeSteps);
    }
    if (!(maskThreshold >= 0 && maskThreshold <= 1)) {
      throw new IllegalArgumentException("mask_threshold must be in [0, 1]: " + maskThreshold);
    }
    this.combine = combineTimeSteps;
    this.threshold = maskThreshold;
  }

  /** {@code model.loss.combine_time_steps} and {@code model.loss.mask_threshold}. */
  public static TokenSelection of(LossSettings s) {
    return new TokenSelection(s.combineTimeSteps(), s.maskThreshold());
  }

  public int combineTimeSteps() {
    return combine;
  }

  public double maskThreshold() {
    return threshold;
  }

  /** The selection for the masks of {@link RandomBlockMasking}. */
  public SelectedTokens select(MaskedFeatures masked) {
    return select(masked.frameMask(), masked.batchSize(), masked.numFrames());
  }

  /**
   * The selection for a frame mask.
   *
   * @param frameMask {@code [B, T]}, index {@code b·T + t}
   * @param numFrames T, a multiple of combine_time_steps (NeMo's reshape requires it)
   */
  public SelectedTokens select(boolean[] frameMask, int batchSize, int numFrames) {
    Objects.requireNonNull(frameMask, "frameMask");
    if ((long) batchSize * numFrames != frameMask.length) {
      throw new IllegalArgumentException(
          "frame mask has " + frameMask.length + " values, not " + batchSize + "*" + numFrames);
    }
    if (numFrames % combine != 0) {
      throw new IllegalArgumentException(
          "T = " + numFrames + " is not a multiple of combine_time_steps = " + combine);
    }
    int tokens = numFrames / combine;
    float thr = (float) threshold;
    boolean[] sel = new boolean[batchSize * tokens];
    for (int b = 0; b < batchSize; b++) {
      for (int j = 0; j < tokens; j++) {
        int n = 0;
        int base = b * numFrames + j * combine;
        for (int k = 0; k < combine; k++) {
          if (frameMask[base + k]) {
            n++;
          }
        }
        sel[b * tokens + j] = (float) n / (float) combine > thr;
      }
    }
    return new SelectedTokens(sel, batchSize, tokens);
  }

  @Override
  public String toString() {
    return "TokenSelection(combine " + combine + ", threshold " + threshold + ")";
  }
}
