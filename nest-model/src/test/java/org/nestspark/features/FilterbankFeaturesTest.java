package org.nestspark.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.config.PreprocessorParams;
import org.nestspark.testkit.Golden;

/** Frame counts, docs/nest-numerics.md §1 golden values and the behaviour of {@link FilterbankFeatures}. */
class FilterbankFeaturesTest {
  private final FilterbankFeatures feats = new FilterbankFeatures();

  static float[] noise(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (0.1 * r.nextGaussian() + 0.3 * Math.sin(2 * Math.PI * 220 * i / 16000.0));
    }
    return x;
  }

  /** docs/nest-numerics.md §1 frame-count table: N → valid frames, STFT frames, padded T. */
  @Test
  void frameCountTable() {
    int[][] table = {
      {15999, 99, 100, 112},
      {16000, 100, 101, 112},
      {16160, 101, 102, 112},
      {48000, 300, 301, 304},
      {64000, 400, 401, 416},
      {160000, 1000, 1001, 1008},
    };
    for (int[] row : table) {
      int n = row[0];
      assertEquals(row[1], feats.validFrames(n), "valid " + n);
      assertEquals(row[2], feats.stftFrames(n), "stft " + n);
      assertEquals(row[3], feats.paddedFrames(n), "T " + n);
      FeatureBatch fb = feats.computeSingle(noise(n, n));
      assertEquals(row[3], fb.numFrames(), "computed T " + n);
      assertEquals(row[1], fb.length(0), "computed length " + n);
      int valid = row[1];
      for (int f = 0; f < 80; f++) {
        assertNotEquals(0f, fb.get(0, f, valid - 1), "last valid frame is computed");
        for (int t = valid; t < fb.numFrames(); t++) {
          assertEquals(0f, fb.get(0, f, t), 0f, "frame " + t + " >= seq_len is zero");
        }
      }
    }
    assertEquals(0, feats.validFrames(0));
    assertEquals(0, feats.validFrames(159));
    assertEquals(1, feats.validFrames(160));
  }

  /** The batch width sets T; each item keeps its own valid frames, bit-identical to computing it alone. */
  @Test
  void batchWidthOnlyAddsPadding() {
    float[] a = noise(48000, 1);
    float[] b = noise(15999, 2);
    FeatureBatch batch = feats.compute(new float[][] {a, b});
    assertEquals(304, batch.numFrames());
    assertArrayEquals(new int[] {300, 99}, batch.lengths());
    FeatureBatch alone = feats.computeSingle(b);
    assertEquals(112, alone.numFrames());
    for (int f = 0; f < 80; f++) {
      for (int t = 0; t < 304; t++) {
        float want = t < 112 ? alone.get(0, f, t) : 0f;
        assertEquals(want, batch.get(1, f, t), 0f);
      }
    }
  }

  /** Explicit lengths: samples at or beyond the length are ignored, as NeMo's masking after pre-emphasis. */
  @Test
  void explicitLengthsIgnoreTrailingSamples() {
    float[] full = noise(20000, 5);
    float[] trimmed = Arrays.copyOf(full, 16000);
    FeatureBatch withLen = feats.compute(new float[][] {full}, new int[] {16000});
    FeatureBatch ref =
        feats.compute(new float[][] {trimmed, new float[20000]}, new int[] {16000, 0});
    assertEquals(ref.numFrames(), withLen.numFrames()); // same width 20000
    assertEquals(100, withLen.length(0));
    float[] item0 = Arrays.copyOf(ref.data(), 80 * ref.numFrames());
    assertArrayEquals(item0, withLen.data());
    assertThrows(
        IllegalArgumentException.class,
        () -> feats.compute(new float[][] {trimmed}, new int[] {16001}));
    assertThrows(
        IllegalArgumentException.class,
        () -> feats.compute(new float[][] {trimmed}, new int[] {1, 2}));
  }

  @Test
  void zeroLengthGivesNoFramesAndNoNaN() {
    float[] a = noise(16000, 7);
    FeatureBatch fb = feats.compute(new float[][] {a, new float[0], new float[100]});
    assertArrayEquals(new int[] {100, 0, 0}, fb.lengths());
    assertEquals(112, fb.numFrames());
    for (float v : fb.data()) {
      assertTrue(Float.isFinite(v));
    }
    for (int b = 1; b < 3; b++) {
      for (int f = 0; f < 80; f++) {
        for (int t = 0; t < 112; t++) {
          assertEquals(0f, fb.get(b, f, t), 0f);
        }
      }
    }
    FeatureBatch alone = feats.computeSingle(a);
    assertArrayEquals(alone.item(0), fb.item(0));
    FeatureBatch empty = feats.compute(new float[][] {new float[0]});
    assertEquals(16, empty.numFrames()); // 1 STFT frame, padded to 16
    assertEquals(0, empty.length(0));
    FeatureBatch none = feats.compute(new float[0][]);
    assertEquals(0, none.batchSize());
  }

  /** One valid frame: the ddof-1 std is NaN in NeMo, replaced by 0, so the frame normalises to 0. */
  @Test
  void singleValidFrameNormalisesToZero() {
    FeatureBatch fb = feats.computeSingle(noise(200, 9));
    assertEquals(1, fb.length(0));
    for (int f = 0; f < 80; f++) {
      assertEquals(0f, fb.get(0, f, 0), 0f);
    }
  }

  /**
   * docs/nest-numerics.md §1 "Golden values": batch of 2 two-sine rows (16000 and 12345 samples). These values come
   * from a float32 PyTorch pipeline; f = 0 and f = 40 lie in spectral leakage close to float32's FFT
   * noise floor, where float32 and float64 FFTs differ by up to ~3e-5 (measured 3.2e-5), hence 5e-5.
   */
  @Test
  void specTwoSineGoldenValues() {
    float[] s = new float[16000];
    for (int n = 0; n < 16000; n++) {
      s[n] =
          (float)
              (0.5 * Math.sin(2 * Math.PI * 440 * n / 16000.0)
                  + 0.25 * Math.sin(2 * Math.PI * 3000 * n / 16000.0));
    }
    float[] r1 = new float[16000];
    System.arraycopy(s, 0, r1, 0, 12345);
    FeatureBatch fb = feats.compute(new float[][] {s, r1}, new int[] {16000, 12345});
    assertEquals(2, fb.batchSize());
    assertEquals(80, fb.numFeatures());
    assertEquals(112, fb.numFrames());
    assertArrayEquals(new int[] {100, 77}, fb.lengths());
    assertEquals(101, feats.stftFrames(16000));
    double tol = 5e-5;
    double worst = 0;
    double[][] f0 = {
      {6.6553521, 2.0658600, 0.4188429, 0.0766645}, {6.9766583, 2.1755571, 0.4526003, 0.0946451}
    };
    double[][] f40 = {{-0.1691227, -0.1622685, -0.1705999}, {-0.1634790, -0.1558379, -0.1651258}};
    double[] sumAbs = {2485.578, 1935.678};
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < 4; t++) {
        assertEquals(f0[b][t], fb.get(b, 0, t), tol, "row " + b + " f0 t" + t);
        worst = Math.max(worst, Math.abs(f0[b][t] - fb.get(b, 0, t)));
      }
      for (int t = 0; t < 3; t++) {
        assertEquals(f40[b][t], fb.get(b, 40, 10 + t), tol, "row " + b + " f40 t" + (10 + t));
        worst = Math.max(worst, Math.abs(f40[b][t] - fb.get(b, 40, 10 + t)));
      }
      double sum = 0;
      for (int f = 0; f < 80; f++) {
        for (int t = 0; t < 112; t++) {
          sum += Math.abs(fb.get(b, f, t));
        }
      }
      assertEquals(sumAbs[b], sum, 1e-3, "sum |X| row " + b);
    }
    System.out.printf("spec two-sine golden values: max abs diff %.3g%n", worst);
  }

  /** All-zero audio: every raw value is log(2^-24), normalised features are finite (exactly 0). */
  @Test
  void silenceIsFinite() {
    float[] z = new float[32000];
    FeatureBatch n = feats.computeSingle(z);
    FeatureBatch r =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("none").build())
            .computeSingle(z);
    float logGuard = (float) Math.log(Math.pow(2, -24));
    for (int f = 0; f < 80; f++) {
      for (int t = 0; t < 200; t++) {
        assertEquals(0f, n.get(0, f, t), 0f);
        assertEquals(logGuard, r.get(0, f, t), 0f);
      }
    }
    FeatureBatch all =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("all_features").build())
            .computeSingle(z);
    for (float v : all.data()) {
      assertEquals(0f, v, 0f);
    }
  }

  @Test
  void ditherOnlyInTrainingAndDeterministicPerSeed() {
    float[][] audio = {noise(16000, 11), new float[24000]};
    FeatureBatch eval1 = feats.compute(audio);
    FeatureBatch eval2 = feats.compute(audio, new int[] {16000, 24000}, false, 999L);
    assertArrayEquals(eval1.data(), eval2.data(), "eval mode ignores the seed: no dither");
    FeatureBatch tr1 = feats.computeTraining(audio, 42L);
    FeatureBatch tr2 = feats.computeTraining(audio, 42L);
    FeatureBatch tr3 = feats.computeTraining(audio, 43L);
    assertArrayEquals(tr1.data(), tr2.data(), "same seed, same features");
    assertFalse(Arrays.equals(tr1.data(), tr3.data()), "another seed, other dither");
    assertFalse(Arrays.equals(tr1.data(), eval1.data()), "training adds dither");
    // On speech-like audio dither is tiny: 1e-5 noise moves the normalised features only a little.
    float[] e0 = Arrays.copyOf(eval1.data(), 80 * eval1.numFrames());
    float[] t0 = Arrays.copyOf(tr1.data(), 80 * tr1.numFrames());
    assertTrue(Golden.maxAbsDiff(e0, t0) < 0.05, "dither changes loud audio little");
    // Dithered silence is no longer constant. Its raw log-mel has a std s of the order of 1e-5, so
    // per_feature (x - mean) / (s + 1e-5) has std s / (s + 1e-5) < 1 (NeMo's std + 1e-5 quirk).
    FeatureBatch rawTr =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("none").build())
            .computeTraining(audio, 42L);
    int b = 1;
    int len = tr1.length(b);
    assertEquals(150, len);
    for (int f = 0; f < 80; f++) {
      double sum = 0;
      for (int t = 0; t < len; t++) {
        sum += rawTr.get(b, f, t);
      }
      double mean = sum / len;
      double rawSs = 0;
      double ss = 0;
      for (int t = 0; t < len; t++) {
        float v = tr1.get(b, f, t);
        assertTrue(Float.isFinite(v));
        ss += v * v;
        rawSs += (rawTr.get(b, f, t) - mean) * (rawTr.get(b, f, t) - mean);
      }
      double rawStd = Math.sqrt(rawSs / (len - 1));
      double normStd = Math.sqrt(ss / (len - 1));
      assertTrue(rawStd > 1e-6, "bin " + f + " raw std " + rawStd);
      // raw features are float32 (ulp 1.9e-6 at -16.6), hence the loose tolerance
      assertEquals(rawStd / (rawStd + 1e-5), normStd, 0.05, "bin " + f);
    }
    // dither 0 in training equals eval
    FilterbankFeatures noDither =
        new FilterbankFeatures(PreprocessorParams.builder().dither(0).build());
    assertArrayEquals(eval1.data(), noDither.computeTraining(audio, 42L).data());
  }

  @Test
  void concurrentCallsGiveSequentialResults() throws Exception {
    int jobs = 8;
    float[][][] batches = new float[jobs][][];
    FeatureBatch[] seq = new FeatureBatch[jobs];
    for (int j = 0; j < jobs; j++) {
      batches[j] = new float[][] {noise(8000 + 1000 * j, j), noise(30000 - 2000 * j, 100 + j)};
      seq[j] = feats.computeTraining(batches[j], j);
    }
    ExecutorService pool = Executors.newFixedThreadPool(4);
    try {
      List<Future<FeatureBatch>> fut = new ArrayList<>();
      for (int rep = 0; rep < 3; rep++) {
        for (int j = 0; j < jobs; j++) {
          final int jj = j;
          fut.add(pool.submit(() -> feats.computeTraining(batches[jj], jj)));
        }
      }
      for (int i = 0; i < fut.size(); i++) {
        assertArrayEquals(seq[i % jobs].data(), fut.get(i).get().data());
      }
    } finally {
      pool.shutdown();
    }
  }

  @Test
  void normalisationVariantsFollowNemo() {
    float[] x = noise(40000, 21);
    FeatureBatch raw =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("none").build())
            .computeSingle(x);
    FeatureBatch per = feats.computeSingle(x);
    FeatureBatch all =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("all_features").build())
            .computeSingle(x);
    int len = raw.length(0);
    assertEquals(250, len);
    // per_feature: (x - mean_f) / (std_f + 1e-5), ddof 1, over valid frames
    double gSum = 0;
    double gSq = 0;
    for (int f = 0; f < 80; f++) {
      double s = 0;
      for (int t = 0; t < len; t++) {
        s += raw.get(0, f, t);
      }
      double mean = s / len;
      double ss = 0;
      for (int t = 0; t < len; t++) {
        ss += (raw.get(0, f, t) - mean) * (raw.get(0, f, t) - mean);
      }
      double std = Math.sqrt(ss / (len - 1)) + 1e-5;
      for (int t = 0; t < len; t++) {
        assertEquals((raw.get(0, f, t) - mean) / std, per.get(0, f, t), 2e-5);
      }
      gSum += s;
    }
    double gMean = gSum / (80.0 * len);
    for (int f = 0; f < 80; f++) {
      for (int t = 0; t < len; t++) {
        gSq += (raw.get(0, f, t) - gMean) * (raw.get(0, f, t) - gMean);
      }
    }
    double gStd = Math.sqrt(gSq / (80.0 * len - 1)) + 1e-5;
    for (int f = 0; f < 80; f++) {
      for (int t = 0; t < all.numFrames(); t++) {
        double want = t < len ? (raw.get(0, f, t) - gMean) / gStd : 0.0;
        assertEquals(want, all.get(0, f, t), 2e-5);
      }
    }
  }

  @Test
  void padValuePadToLogAndMagPowerOptions() {
    float[] x = noise(16000, 31);
    FeatureBatch padded =
        new FilterbankFeatures(PreprocessorParams.builder().padValue(-3.5).build())
            .computeSingle(x);
    FeatureBatch base = feats.computeSingle(x);
    for (int f = 0; f < 80; f++) {
      for (int t = 0; t < 112; t++) {
        assertEquals(t < 100 ? base.get(0, f, t) : -3.5f, padded.get(0, f, t), 0f);
      }
    }
    FilterbankFeatures noPad =
        new FilterbankFeatures(PreprocessorParams.builder().padTo(0).build());
    assertEquals(101, noPad.computeSingle(x).numFrames());
    FeatureBatch logMel =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("none").build())
            .computeSingle(x);
    FeatureBatch linMel =
        new FilterbankFeatures(PreprocessorParams.builder().normalize("none").log(false).build())
            .computeSingle(x);
    for (int f = 0; f < 80; f += 7) {
      for (int t = 0; t < 100; t += 9) {
        double want = Math.log(linMel.get(0, f, t) + Math.pow(2, -24));
        assertEquals(want, logMel.get(0, f, t), 1e-5);
      }
    }
    double[][] p2 = feats.linearSpectrogram(x);
    double[][] p1 =
        new FilterbankFeatures(PreprocessorParams.builder().magPower(1.0).build())
            .linearSpectrogram(x);
    assertEquals(257, p2.length);
    assertEquals(101, p2[0].length);
    for (int k = 0; k < 257; k++) {
      for (int t = 0; t < 101; t++) {
        assertEquals(Math.sqrt(p2[k][t]), p1[k][t], 1e-9 * (1 + p1[k][t]));
      }
    }
  }

  /** The STFT against a direct DFT, for the NEST n_fft and for even/odd non-power-of-2 sizes. */
  @Test
  void linearSpectrogramEqualsDirectDft() {
    float[] x = noise(3000, 41);
    for (int nFft : new int[] {512, 400, 401}) {
      FilterbankFeatures ff =
          new FilterbankFeatures(PreprocessorParams.builder().nFft(nFft).build());
      double[][] p = ff.linearSpectrogram(x);
      int frames = ff.stftFrames(x.length);
      int bins = nFft / 2 + 1;
      assertEquals(bins, p.length);
      assertEquals(frames, p[0].length);
      // pre-emphasis in float32, as the featurizer does
      float[] y = x.clone();
      for (int i = x.length - 1; i >= 1; i--) {
        y[i] = x[i] - 0.97f * x[i - 1];
      }
      float[] w = Windows.hann(400);
      int left = (nFft - 400) / 2;
      for (int t : new int[] {0, 1, frames / 2, frames - 1}) {
        double[] frame = new double[nFft];
        for (int j = 0; j < 400; j++) {
          int i = t * 160 - nFft / 2 + left + j;
          frame[left + j] = i >= 0 && i < y.length ? w[j] * y[i] : 0.0;
        }
        for (int k = 0; k < bins; k++) {
          double re = 0;
          double im = 0;
          for (int n = 0; n < nFft; n++) {
            double a = -2 * Math.PI * ((long) k * n % nFft) / nFft;
            re += frame[n] * Math.cos(a);
            im += frame[n] * Math.sin(a);
          }
          double want = re * re + im * im;
          assertEquals(want, p[k][t], 1e-9 * (1 + want), "n_fft " + nFft + " t " + t + " k " + k);
        }
      }
    }
  }

  /** The spectrum itself: a pure tone at an FFT bin centre peaks at that bin. */
  @Test
  void linearSpectrogramPeaksAtToneBin() {
    float[] x = new float[16000];
    double hz = 40 * 16000.0 / 512; // bin 40 = 1250 Hz
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) (0.5 * Math.sin(2 * Math.PI * hz * i / 16000.0));
    }
    FeatureBatch fbNoPre =
        new FilterbankFeatures(PreprocessorParams.builder().preemph(null).build()).computeSingle(x);
    assertEquals(100, fbNoPre.length(0));
    double[][] p =
        new FilterbankFeatures(PreprocessorParams.builder().preemph(null).build())
            .linearSpectrogram(x);
    int t = 50;
    int arg = 0;
    for (int k = 0; k < 257; k++) {
      if (p[k][t] > p[arg][t]) {
        arg = k;
      }
    }
    assertEquals(40, arg);
    // |X_40| = 0.5 * sum(window) / 2 for a tone at the bin centre
    double sumW = 0;
    for (float w : Windows.hann(400)) {
      sumW += w;
    }
    assertEquals(0.25 * sumW, Math.sqrt(p[40][t]), 1e-3 * 0.25 * sumW);
  }

  @Test
  void featureBatchViews() {
    FeatureBatch fb = feats.compute(new float[][] {noise(16000, 1), noise(8000, 2)});
    assertEquals(2 * 80 * 112, fb.data().length);
    assertEquals(fb.data()[fb.rowOffset(1, 3) + 5], fb.get(1, 3, 5), 0f);
    assertEquals(fb.get(1, 3, 5), fb.item(1)[3][5], 0f);
    assertArrayEquals(new int[] {2, 80, 112}, fb.toNpy().shape());
    assertArrayEquals(new long[] {100, 50}, fb.lengthsToNpy().longData());
    INDArray nd = fb.toINDArray();
    assertArrayEquals(new long[] {2, 80, 112}, nd.shape());
    assertEquals(DataType.FLOAT, nd.dataType());
    assertEquals(fb.get(1, 3, 5), nd.getFloat(1, 3, 5), 0f);
    assertEquals(fb.get(0, 79, 99), nd.getFloat(0, 79, 99), 0f);
    assertArrayEquals(new long[] {100, 50}, fb.lengthsToINDArray().toLongVector());
  }
}
