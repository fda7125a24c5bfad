package org.nestspark.ssl;

import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

/**
 * The golden data of the SSL tests, read through the test kit's {@link Golden} ({@code golden/features}, {@code golden/quantizer},
 * {@code golden/masking}, {@code golden/loss}; see the READMEs there).
 */
public final class SslGolden {
  /** NeMo's batch order of the golden data. */
  public static final String[] NAMES = Golden.NAMES;

  public static final int B = 6;
  public static final int F = 80;
  public static final int T = 1104;

  private SslGolden() {}

  /** {@code golden/<rel>} (plain or gzip; {@link Golden#npy}). */
  public static NpyArray npy(String rel) {
    return Golden.npy(rel);
  }

  public static float[] batchNorm() {
    return npy("features/batch_norm.npy.gz").floatData();
  }

  public static int[] batchLengths() {
    long[] l = npy("features/batch_lengths.npy").longData();
    int[] out = new int[l.length];
    for (int i = 0; i < l.length; i++) {
      out[i] = (int) l[i];
    }
    return out;
  }

  public static RandomProjectionVectorQuantizer quantizer() {
    NpyArray w = npy("quantizer/proj_weight.npy.gz");
    NpyArray cb = npy("quantizer/codebooks.npy.gz");
    return new RandomProjectionVectorQuantizer(80, 16, 1, 8192, 8, w.floatData(), cb.doubleData());
  }

  public static boolean[] frameMask() {
    return npy("masking/frame_mask.npy.gz").booleanData();
  }
}
