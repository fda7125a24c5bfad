package org.nestspark.ssl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;

/**
 * The golden data copied into test resources ({@code golden/features}, {@code golden/quantizer},
 * {@code golden/masking}, {@code golden/loss}; see the READMEs there).
 */
public final class SslGolden {
  /** NeMo's batch order of the golden data. */
  public static final String[] NAMES = {
    "speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "silence_2s", "tone440_1p5s"
  };

  public static final int B = 6;
  public static final int F = 80;
  public static final int T = 1104;

  private SslGolden() {}

  /** {@code golden/<rel>} (plain or gzip). */
  public static NpyArray npy(String rel) {
    String path = "/golden/" + rel;
    try (InputStream in = SslGolden.class.getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource " + path);
      }
      return Npy.read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
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
