package org.nestspark.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nestspark.config.PreprocessorParams;
import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

/** The slaney mel filterbank against NeMo's {@code fb} buffer and the docs/nest-numerics.md §1 golden values. */
class MelFilterbankTest {
  private final MelFilterbank fb = MelFilterbank.of(PreprocessorParams.defaults());

  @Test
  void matchesNemoFilterbank() {
    NpyArray g = Golden.npy("features/mel_fb.npy.gz");
    assertArrayEquals(new int[] {80, 257}, g.shape());
    float[] want = g.floatData();
    double max = 0;
    int bitExact = 0;
    for (int i = 0; i < 80; i++) {
      for (int k = 0; k < 257; k++) {
        float w = want[i * 257 + k];
        max = Math.max(max, Math.abs(fb.weight(i, k) - w));
        if (Float.floatToRawIntBits(fb.weight(i, k)) == Float.floatToRawIntBits(w)) {
          bitExact++;
        }
      }
    }
    System.out.printf(
        "mel filterbank: max abs diff %.3g, %d of %d values bit-identical%n",
        max, bitExact, 80 * 257);
    assertEquals(0.0, max, "max abs diff " + max);
    assertEquals(
        80 * 257,
        bitExact,
        "every value bit for bit, the sign of NeMo's one -0.0 (filter 0, 0 Hz) included");
    assertEquals(Float.floatToRawIntBits(-0f), Float.floatToRawIntBits(fb.weight(0, 0)));
  }

  @Test
  void specScalarValues() {
    assertEquals(80, fb.numFilters());
    assertEquals(257, fb.numBins());
    double total = 0;
    for (float[] row : fb.weights()) {
      for (float v : row) {
        total += v;
      }
    }
    assertEquals(2.55826078, total, 1e-7);
    double[] melF = fb.bandEdgesHz();
    assertEquals(82, melF.length);
    assertEquals(0.0, melF[0], 0.0);
    assertEquals(37.23921026, melF[1], 1e-7);
    assertEquals(7698.59321831, melF[80], 1e-7);
    assertEquals(8000.0, melF[81], 1e-9);
    // filter 0: bins 1, 2 only
    assertEquals(1, fb.start(0));
    assertEquals(3, fb.end(0));
    assertEquals(0.0225345604, fb.weight(0, 1), 1e-9);
    assertEquals(0.00863771047, fb.weight(0, 2), 1e-9);
    // filter 1: bins 2, 3
    assertEquals(2, fb.start(1));
    assertEquals(4, fb.end(1));
    assertEquals(0.0182157047, fb.weight(1, 2), 1e-9);
    assertEquals(0.0129565652, fb.weight(1, 3), 1e-9);
    // filter 39: bins 52..55
    assertEquals(52, fb.start(39));
    assertEquals(56, fb.end(39));
    float[] f39 = {0.00771109434f, 0.0155774029f, 0.00827295892f, 0.000703020429f};
    for (int j = 0; j < 4; j++) {
      assertEquals(f39[j], fb.weight(39, 52 + j), 1e-9);
    }
    // filter 79: bins 238..255, peak 0.0032521484 at bin 246
    assertEquals(238, fb.start(79));
    assertEquals(256, fb.end(79));
    int argmax = 238;
    for (int k = 238; k < 256; k++) {
      if (fb.weight(79, k) > fb.weight(79, argmax)) {
        argmax = k;
      }
    }
    assertEquals(246, argmax);
    assertEquals(0.0032521484, fb.weight(79, 246), 1e-9);
  }

  @Test
  void sparseRangesCoverEveryNonZeroAndNyquistIsUnused() {
    for (int i = 0; i < 80; i++) {
      for (int k = 0; k < 257; k++) {
        boolean inside = k >= fb.start(i) && k < fb.end(i);
        if (!inside) {
          assertEquals(0f, fb.weight(i, k), 0f, "filter " + i + " bin " + k);
        }
      }
      assertTrue(fb.end(i) - fb.start(i) <= 18, "filter " + i + " is short");
      assertTrue(fb.end(i) > fb.start(i));
    }
    for (int i = 0; i < 80; i++) {
      assertEquals(0f, fb.weight(i, 256), 0f);
    }
    assertEquals(1, fb.minBin());
    assertEquals(256, fb.maxBin());
  }

  @Test
  void applyEqualsDenseProduct() {
    double[] p = new double[257];
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    for (int k = 0; k < 257; k++) {
      p[k] = r.nextDouble() * 10;
    }
    double[] mel = new double[80];
    fb.apply(p, mel);
    for (int i = 0; i < 80; i++) {
      double dense = 0;
      for (int k = 0; k < 257; k++) {
        dense += fb.weight(i, k) * p[k];
      }
      assertEquals(dense, mel[i], 1e-12 * Math.abs(dense));
    }
  }

  @Test
  void melScaleRoundTripsAndIsLinearBelow1k() {
    assertEquals(15.0, MelFilterbank.hzToMel(1000.0), 1e-12);
    assertEquals(3.0 * 500 / 200, MelFilterbank.hzToMel(500.0), 1e-12);
    for (double hz : new double[] {0, 37.5, 999.9, 1000, 4321.5, 8000}) {
      assertEquals(hz, MelFilterbank.melToHz(MelFilterbank.hzToMel(hz)), 1e-9);
    }
  }

  @Test
  void noSlaneyNormGivesUnitPeakTriangles() {
    MelFilterbank plain = MelFilterbank.create(16000, 512, 80, 0, 8000, false);
    for (int i = 0; i < 80; i++) {
      float peak = 0;
      for (int k = 0; k < 257; k++) {
        peak = Math.max(peak, plain.weight(i, k));
        assertTrue(plain.weight(i, k) <= 1f);
      }
      assertTrue(peak > 0.4f, "filter " + i + " peak " + peak);
    }
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(
        IllegalArgumentException.class, () -> MelFilterbank.create(16000, 512, 80, 100, 50, true));
    assertThrows(
        IllegalArgumentException.class, () -> MelFilterbank.create(0, 512, 80, 0, 8000, true));
  }
}
