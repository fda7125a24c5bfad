package org.nestspark.ssl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nestspark.io.NpyArray;

/**
 * Parity with NeMo's own quantizer (golden set A, {@code golden/quantizer/}): tokens, normalised projections
 * and distances for the golden batch (fed NeMo's own {@code batch_norm} features) and for the six utterances
 * one by one.
 */
class RandomProjectionVectorQuantizerGoldenTest {
  static RandomProjectionVectorQuantizer q;
  static float[] feats;
  static int[] lengths;
  static QuantizerOutput fast;

  @BeforeAll
  static void load() {
    q = SslGolden.quantizer();
    feats = SslGolden.batchNorm();
    lengths = SslGolden.batchLengths();
    fast = q.quantize(feats, SslGolden.B, SslGolden.F, SslGolden.T);
  }

  @Test
  void tokensEqualNemoAtEveryValidPosition() {
    NpyArray g = SslGolden.npy("quantizer/tokens_batch.npy.gz");
    assertArrayEquals(new int[] {6, 138, 1}, g.shape());
    long[] want = g.longData();
    int compared = 0;
    for (int b = 0; b < SslGolden.B; b++) {
      int valid = (lengths[b] + 7) / 8;
      for (int j = 0; j < valid; j++) {
        assertEquals(want[b * 138 + j], fast.token(b, j, 0), SslGolden.NAMES[b] + " token " + j);
        compared++;
      }
    }
    assertEquals(5 + 13 + 53 + 138 + 25 + 19, compared);
  }

  /**
   * All positions, padding included: the all-zero z of padded tokens ties every code to float64 rounding
   * (margin exactly 0); NeMo's fma-sequential distance kernel picks 447, and so must ours.
   */
  @Test
  void tokensEqualNemoAtPaddedPositionsToo() {
    long[] want = SslGolden.npy("quantizer/tokens_batch.npy.gz").longData();
    assertArrayEquals(want, fast.tokensAsLong());
    assertEquals(447, fast.token(0, 137, 0));
  }

  @Test
  void exhaustiveSearchAgreesWithFastSearch() {
    QuantizerOutput slow = q.quantizeExhaustive(feats, SslGolden.B, SslGolden.F, SslGolden.T);
    assertArrayEquals(slow.tokens(), fast.tokens());
    assertArrayEquals(slow.minDistance(), fast.minDistance());
  }

  /** z differs from PyTorch's float32 BLAS by rounding only: measured max 2.4e-7 (|z| ≤ 1). */
  @Test
  void normalisedProjectionMatchesNemo() {
    NpyArray g = SslGolden.npy("quantizer/proj_normed_batch.npy.gz");
    assertArrayEquals(new int[] {6, 138, 1, 16}, g.shape());
    float[] want = g.floatData();
    float[] got = fast.projected();
    assertEquals(want.length, got.length);
    double max = 0;
    for (int i = 0; i < want.length; i++) {
      max = Math.max(max, Math.abs(want[i] - got[i]));
    }
    assertTrue(max <= 5e-7, "max |Δz| = " + max);
  }

  @Test
  void minDistanceMatchesNemo() {
    double[] want = SslGolden.npy("quantizer/min_dist_batch.npy.gz").doubleData();
    double[] got = fast.minDistance();
    double max = 0;
    for (int i = 0; i < want.length; i++) {
      max = Math.max(max, Math.abs(want[i] - got[i]));
    }
    assertTrue(max <= 1e-6, "max |Δ min_dist| = " + max);
  }

  /**
   * Given NeMo's own z, the float64 stage reproduces NeMo bit for bit: every token and every distance
   * (this pins the fma-sequential kernel, not only the argmin).
   */
  @Test
  void distanceStageIsBitExactOnNemoProjections() {
    float[] z = SslGolden.npy("quantizer/proj_normed_batch.npy.gz").floatData();
    QuantizerOutput out = q.assign(z, SslGolden.B, 138, false);
    assertArrayEquals(
        SslGolden.npy("quantizer/tokens_batch.npy.gz").longData(), out.tokensAsLong());
    assertArrayEquals(
        SslGolden.npy("quantizer/min_dist_batch.npy.gz").doubleData(), out.minDistance());
  }

  /**
   * Why z's last-bit differences from PyTorch cannot flip a valid token: a change Δz moves every distance by
   * at most ‖Δz‖ ≤ 4·max|Δz_d| (D = 16), so a token can change only where NeMo's top-2 margin is below
   * 2‖Δz‖. NeMo's smallest valid margin (5.47e-5) is far above that.
   */
  @Test
  void validMarginsAreFarAboveProjectionDifferences() {
    double[] margin = SslGolden.npy("quantizer/margin_batch.npy.gz").doubleData();
    float[] zWant = SslGolden.npy("quantizer/proj_normed_batch.npy.gz").floatData();
    float[] z = fast.projected();
    double minMargin = Double.POSITIVE_INFINITY;
    double maxDz = 0;
    for (int b = 0; b < SslGolden.B; b++) {
      for (int j = 0; j < (lengths[b] + 7) / 8; j++) {
        minMargin = Math.min(minMargin, margin[b * 138 + j]);
        for (int d = 0; d < 16; d++) {
          int i = (b * 138 + j) * 16 + d;
          maxDz = Math.max(maxDz, Math.abs(z[i] - zWant[i]));
        }
      }
    }
    assertTrue(minMargin >= 5e-5, "min valid margin " + minMargin);
    assertTrue(2 * 4 * maxDz < minMargin / 10, "max |Δz| " + maxDz + " vs min margin " + minMargin);
  }

  @Test
  void tokensOfSingleUtterancesEqualNemo() {
    for (String name : SslGolden.NAMES) {
      NpyArray f = SslGolden.npy("features/single/" + name + "_norm.npy.gz");
      int t = f.dim(2);
      QuantizerOutput out = q.quantize(f.floatData(), 1, 80, t);
      NpyArray g = SslGolden.npy("quantizer/tokens_single/" + name + ".npy");
      assertArrayEquals(new int[] {1, t / 8, 1}, g.shape(), name);
      assertArrayEquals(g.longData(), out.tokensAsLong(), name);
    }
  }
}
