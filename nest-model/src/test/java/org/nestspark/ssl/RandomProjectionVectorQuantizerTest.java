package org.nestspark.ssl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;

/** The quantizer's algorithm on synthetic data: exact search = exhaustive search, grouping, initialisation. */
class RandomProjectionVectorQuantizerTest {

  private static float[] gaussianFeatures(int b, int f, int t, long seed, int zeroTailFrames) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] x = new float[b * f * t];
    for (int i = 0; i < b; i++) {
      int valid = t - (i % 2 == 1 ? zeroTailFrames : 0);
      for (int c = 0; c < f; c++) {
        for (int k = 0; k < valid; k++) {
          x[(i * f + c) * t + k] = (float) rng.nextGaussian();
        }
      }
    }
    return x;
  }

  @Test
  void fastSearchEqualsExhaustiveSearchAtNestSize() {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(80, 16, 1, 8192, 8, 7L);
    float[] x =
        gaussianFeatures(3, 80, 400, 11L, 20); // 20 zero frames: 2 all-zero tokens + 1 partial
    QuantizerOutput fast = q.quantize(x, 3, 80, 400);
    QuantizerOutput slow = q.quantizeExhaustive(x, 3, 80, 400);
    assertArrayEquals(slow.tokens(), fast.tokens());
    assertArrayEquals(slow.minDistance(), fast.minDistance());
    assertArrayEquals(slow.projected(), fast.projected());
    // z of an all-zero group is exactly zero; the partially padded group is a unit vector
    for (int d = 0; d < 16; d++) {
      assertEquals(0f, fast.projected()[(1 * 50 + 49) * 16 + d]);
    }
    double n = 0;
    for (int d = 0; d < 16; d++) {
      n += Math.pow(fast.projected()[(1 * 50 + 47) * 16 + d], 2);
    }
    assertEquals(1.0, n, 1e-6);
  }

  /**
   * Adversarial codebooks: exact duplicates, codes a few ulps apart, and codes 1e-9 … 1e-5 apart, probed with
   * z on and around them, two books. The screened search must return exactly the exhaustive answer (token and
   * distance) every time, and the probe set must really contain near-ties.
   */
  @Test
  void fastSearchEqualsExhaustiveSearchOnNearTies() {
    int c = 256;
    int dim = 16;
    int books = 2;
    SplittableRandom rng = new SplittableRandom(3);
    double[] cb = new double[books * c * dim];
    for (int r = 0; r < books * c; r++) {
      double[] v = new double[dim];
      int book = r / c;
      int k = r % c;
      if (k >= 128) {
        // a perturbed copy of an earlier code: exact duplicate, ulp flips, or relative noise 1e-9 …
        // 1e-5
        int src = book * c + (k % 16);
        System.arraycopy(cb, src * dim, v, 0, dim);
        int kind = k % 8;
        if (kind == 1) {
          v[k % dim] = Math.nextUp(v[k % dim]);
        } else if (kind == 2) {
          v[k % dim] = Math.nextDown(v[k % dim]);
        } else if (kind > 2) {
          double scale = Math.pow(10, -(kind + 2)); // 1e-5 … 1e-9
          for (int d = 0; d < dim; d++) {
            v[d] += scale * rng.nextGaussian();
          }
        }
      } else {
        for (int d = 0; d < dim; d++) {
          v[d] = rng.nextGaussian();
        }
      }
      double nrm = 0;
      for (double e : v) {
        nrm += e * e;
      }
      nrm = Math.sqrt(nrm);
      for (int d = 0; d < dim; d++) {
        cb[r * dim + d] =
            k >= 128 && k % 8 <= 2 ? v[d] : v[d] / nrm; // duplicates and ulp flips kept as is
      }
    }
    float[] proj = new float[books * dim * 8];
    RandomProjectionVectorQuantizer q =
        new RandomProjectionVectorQuantizer(1, dim, books, c, 8, proj, cb);
    int probes = 4000;
    float[] z = new float[probes * books * dim];
    for (int p = 0; p < probes; p++) {
      for (int h = 0; h < books; h++) {
        int code = rng.nextInt(c);
        double scale = p % 5 == 0 ? 0 : Math.pow(10, -rng.nextInt(4, 9));
        double[] v = new double[dim];
        double nrm = 0;
        for (int d = 0; d < dim; d++) {
          v[d] = cb[(h * c + code) * dim + d] + scale * rng.nextGaussian();
          nrm += v[d] * v[d];
        }
        for (int d = 0; d < dim; d++) {
          z[(p * books + h) * dim + d] = (float) (v[d] / Math.sqrt(nrm));
        }
      }
    }
    QuantizerOutput fast = q.assign(z.clone(), probes, 1, false);
    QuantizerOutput slow = q.assign(z.clone(), probes, 1, true);
    assertArrayEquals(slow.tokens(), fast.tokens());
    assertArrayEquals(slow.minDistance(), fast.minDistance());
    // the probes contain exact ties and gaps far below the float32 screening error
    int exactTies = 0;
    int nearTies = 0;
    for (int i = 0; i < probes * books; i++) {
      int h = i % books;
      double best = slow.minDistance()[i];
      int closer = 0;
      int equal = 0;
      for (int k = 0; k < c; k++) {
        double d = RandomProjectionVectorQuantizer.distance(z, i * dim, cb, (h * c + k) * dim, dim);
        if (d == best) {
          equal++;
        } else if (d - best < 1e-7) {
          closer++;
        }
      }
      if (equal > 1) {
        exactTies++;
      }
      if (closer > 0) {
        nearTies++;
      }
    }
    assertTrue(exactTies > 100, "exact ties probed: " + exactTies);
    assertTrue(nearTies > 100, "near ties (gap < 1e-7) probed: " + nearTies);
  }

  @Test
  void exactTiesGoToTheLowestIndex() {
    double[] cb = new double[4 * 2];
    double s = Math.sqrt(0.5);
    double[][] codes = {{1, 0}, {s, s}, {0, 1}, {s, s}};
    for (int k = 0; k < 4; k++) {
      cb[2 * k] = codes[k][0];
      cb[2 * k + 1] = codes[k][1];
    }
    RandomProjectionVectorQuantizer q =
        new RandomProjectionVectorQuantizer(1, 2, 1, 4, 1, new float[2], cb);
    float[] z = {(float) s, (float) s, 0.6f, 0.8f};
    QuantizerOutput fast = q.assign(z, 2, 1, false);
    assertEquals(1, fast.token(0, 0, 0)); // codes 1 and 3 are identical
    assertEquals(1, fast.token(1, 0, 0));
    assertArrayEquals(q.assign(z, 2, 1, true).tokens(), fast.tokens());
  }

  /** Token j is frames 8j … 8j+7 concatenated frame-major: input index tl·F + f. */
  @Test
  void groupingIsFrameMajor() {
    int f = 5;
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(f, 4, 1, 32, 8, 5L);
    float[] w = q.projWeight();
    int t = 24;
    for (int tl = 0; tl < 8; tl++) {
      for (int c = 0; c < f; c++) {
        float[] x = new float[f * t];
        x[c * t + 8 + tl] = 2f; // token 1 only
        float[] z = q.project(x, 1, f, t);
        double[] col = new double[4];
        double n = 0;
        for (int o = 0; o < 4; o++) {
          col[o] = (float) (2.0 * w[o * 8 * f + tl * f + c]);
          n += col[o] * col[o];
        }
        for (int o = 0; o < 4; o++) {
          assertEquals(0f, z[o]); // token 0
          assertEquals(col[o] / Math.sqrt(n), z[4 + o], 1e-7); // token 1
          assertEquals(0f, z[8 + o]); // token 2
        }
      }
    }
  }

  @Test
  void initialisationFollowsNemo() {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(80, 16, 1, 8192, 8, 42L);
    float[] w = q.projWeight();
    assertEquals(16 * 640, w.length);
    double sum = 0;
    double sq = 0;
    for (float v : w) {
      sum += v;
      sq += (double) v * v;
    }
    double mean = sum / w.length;
    double std = Math.sqrt(sq / w.length - mean * mean);
    double sigma = Math.sqrt(2.0 / (640 + 16)); // Xavier-normal, 0.055216
    assertEquals(0.055216, sigma, 1e-6);
    assertEquals(0.0, mean, 0.003);
    assertEquals(sigma, std, 0.03 * sigma);
    double[] cb = q.codebooks();
    assertEquals(8192 * 16, cb.length);
    for (int k = 0; k < 8192; k++) {
      double n = 0;
      for (int d = 0; d < 16; d++) {
        n += cb[k * 16 + d] * cb[k * 16 + d];
      }
      assertEquals(1.0, n, 1e-14);
    }
    RandomProjectionVectorQuantizer same =
        RandomProjectionVectorQuantizer.initialise(80, 16, 1, 8192, 8, 42L);
    assertArrayEquals(w, same.projWeight());
    assertArrayEquals(cb, same.codebooks());
    RandomProjectionVectorQuantizer other =
        RandomProjectionVectorQuantizer.initialise(80, 16, 1, 8192, 8, 43L);
    assertFalse(Arrays.equals(w, other.projWeight()));
    assertFalse(Arrays.equals(cb, other.codebooks()));
  }

  @Test
  void fromConfigUsesQuantizerKeys() {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.of(NestConfig.defaults().settings().quantizer(), 1L);
    assertEquals(80, q.featIn());
    assertEquals(16, q.codeDim());
    assertEquals(1, q.numBooks());
    assertEquals(8192, q.numClasses());
    assertEquals(8, q.combineTimeSteps());
  }

  @Test
  void rejectsBadShapes() {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(4, 2, 1, 8, 8, 1L);
    assertThrows(
        IllegalArgumentException.class,
        () -> q.quantize(new float[4 * 12], 1, 4, 12)); // 12 % 8 != 0
    assertThrows(
        IllegalArgumentException.class, () -> q.quantize(new float[5 * 16], 1, 5, 16)); // F
    assertThrows(
        IllegalArgumentException.class, () -> q.quantize(new float[4 * 15], 1, 4, 16)); // size
    assertThrows(
        IllegalArgumentException.class,
        () -> new RandomProjectionVectorQuantizer(4, 2, 1, 8, 8, new float[63], new double[16]));
    assertThrows(
        IllegalArgumentException.class,
        () -> new RandomProjectionVectorQuantizer(4, 2, 1, 8, 8, new float[64], new double[15]));
    double[] nan = new double[16];
    nan[3] = Double.NaN;
    assertThrows(
        IllegalArgumentException.class,
        () -> new RandomProjectionVectorQuantizer(4, 2, 1, 8, 8, new float[64], nan));
  }

  /** A NaN feature gives NaN distances; like torch's argmin the first NaN (code 0) is returned, no exception. */
  @Test
  void nonFiniteFeaturesFallBackToTheExhaustiveRule() {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(4, 2, 1, 8, 8, 1L);
    float[] x = gaussianFeatures(1, 4, 16, 2L, 0);
    x[3] = Float.NaN;
    QuantizerOutput out = q.quantize(x, 1, 4, 16);
    assertEquals(0, out.token(0, 0, 0));
    assertTrue(Double.isNaN(out.minDistance()[0]));
    assertArrayEquals(q.quantizeExhaustive(x, 1, 4, 16).tokens(), out.tokens());
  }

  @Test
  void survivesJavaSerialization() throws Exception {
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(80, 16, 1, 512, 8, 9L);
    float[] x = gaussianFeatures(2, 80, 64, 4L, 8);
    int[] before = q.quantize(x, 2, 80, 64).tokens();
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
      out.writeObject(q);
    }
    RandomProjectionVectorQuantizer back;
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bos.toByteArray()))) {
      back = (RandomProjectionVectorQuantizer) in.readObject();
    }
    assertArrayEquals(before, back.quantize(x, 2, 80, 64).tokens());
  }
}
