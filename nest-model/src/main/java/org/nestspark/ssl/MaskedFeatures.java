package org.nestspark.ssl;

/**
 * The output of {@link RandomBlockMasking} (docs/nest-numerics.md §4): the masked features {@code [B, F, T]} and the frame
 * mask {@code [B, T]}. NeMo's {@code masks (B, F, T)} output is the frame mask broadcast over the F channels
 * ({@link #masks()}).
 *
 * <p>Arrays are flat, C order, and returned without copying; treat them as read-only.
 */
public final class MaskedFeatures {
  private final float[] features;
  private final boolean[] frameMask;
  private final int batchSize;
  private final int numFeatures;
  private final int numFrames;

  MaskedFeatures(
      float[] features, boolean[] frameMask, int batchSize, int numFeatures, int numFrames) {
    this.features = features;
    this.frameMask = frameMask;
    this.batchSize = batchSize;
    this.numFeatures = numFeatures;
    this.numFrames = numFrames;
  }

  /** The masked features {@code [B, F, T]}: every masked frame's whole F-vector is the mask embedding. */
  public float[] features() {
    return features;
  }

  /** The frame mask {@code [B, T]}, index {@code b·T + t}. */
  public boolean[] frameMask() {
    return frameMask;
  }

  /** The frame mask as 1.0/0.0 floats {@code [B, T]}. */
  public float[] frameMaskAsFloat() {
    float[] out = new float[frameMask.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = frameMask[i] ? 1f : 0f;
    }
    return out;
  }

  /** NeMo's {@code masks} output {@code [B, F, T]}: 1.0 on all F channels of a masked frame, else 0. */
  public float[] masks() {
    float[] out = new float[batchSize * numFeatures * numFrames];
    for (int b = 0; b < batchSize; b++) {
      for (int t = 0; t < numFrames; t++) {
        if (frameMask[b * numFrames + t]) {
          for (int f = 0; f < numFeatures; f++) {
            out[(b * numFeatures + f) * numFrames + t] = 1f;
          }
        }
      }
    }
    return out;
  }

  /** Number of masked frames of utterance b. */
  public int maskedFrames(int b) {
    int n = 0;
    for (int t = 0; t < numFrames; t++) {
      if (frameMask[b * numFrames + t]) {
        n++;
      }
    }
    return n;
  }

  public int batchSize() {
    return batchSize;
  }

  public int numFeatures() {
    return numFeatures;
  }

  public int numFrames() {
    return numFrames;
  }
}
