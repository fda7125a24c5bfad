package org.nestspark.ssl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation.Mode;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation.Result;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation.SkippedRows;

class MultiSpeakerNoiseAugmentationTest {
  /** A collated batch: audio rows of width W with lengths, noise rows with lengths. */
  private static final class Batch {
    final float[][] audio;
    final int[] audioLen;
    final float[][] noise;
    final int[] noiseLen;

    Batch(int[] audioLen, int[] noiseLen, long seed) {
      int w = 0;
      for (int l : audioLen) {
        w = Math.max(w, l);
      }
      SplittableRandom rng = new SplittableRandom(seed);
      this.audioLen = audioLen;
      this.noiseLen = noiseLen;
      audio = new float[audioLen.length][w];
      noise = new float[audioLen.length][w];
      for (int i = 0; i < audioLen.length; i++) {
        double amp = 0.05 + 0.5 * rng.nextDouble();
        for (int t = 0; t < audioLen[i]; t++) {
          audio[i][t] = (float) (amp * rng.nextGaussian());
        }
        for (int t = 0; t < Math.min(noiseLen[i], w); t++) {
          noise[i][t] = (float) (0.01 * rng.nextGaussian());
        }
      }
    }
  }

  private static double energy(float[] x, int len) {
    double e = 0;
    for (int t = 0; t < len; t++) {
      e += (double) x[t] * x[t];
    }
    return e / len;
  }

  /** 10·log10(E_a / E_noise over L_i) = r for every augmented row, both modes, over many batches. */
  @Test
  void snrIdentityHoldsForAugmentedRows() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder().build(); // NEST settings
    int noiseRows = 0;
    int speechRows = 0;
    int skipped = 0;
    double worst = 0;
    for (long seed = 0; seed < 40; seed++) {
      Batch b =
          new Batch(
              new int[] {16000, 23456, 40000, 17001, 31999, 16000, 25000, 38000},
              new int[] {16000, 5000, 40000, 17001, 100, 16000, 25000, 38000},
              seed);
      Result r = aug.apply(b.audio, b.audioLen, b.noise, b.noiseLen, seed);
      for (int i = 0; i < 8; i++) {
        int len = b.audioLen[i];
        if (r.mode(i) == Mode.SKIPPED) {
          skipped++;
          continue;
        }
        if (r.mode(i) == Mode.NOISE) {
          noiseRows++;
          assertTrue(r.ratioDb(i) >= -5 && r.ratioDb(i) < 20);
        } else {
          speechRows++;
          assertTrue(r.ratioDb(i) >= -5 && r.ratioDb(i) < 5);
        }
        double snr = 10 * Math.log10(energy(b.audio[i], len) / energy(r.noise()[i], len));
        worst = Math.max(worst, Math.abs(snr - r.ratioDb(i)));
        assertEquals(r.ratioDb(i), snr, 1e-4, "row " + i + " seed " + seed);
        assertEquals(len, r.noisyLen()[i]);
        assertEquals(len / 2, r.mixLen(i)); // mix_rate 0.5
        for (int t = 0; t < b.audio[i].length; t++) {
          assertEquals(b.audio[i][t] + r.noise()[i][t], r.noisyAudio()[i][t]);
        }
      }
    }
    assertTrue(
        noiseRows > 40 && speechRows > 40 && skipped > 100,
        noiseRows + " " + speechRows + " " + skipped);
    assertTrue(worst < 1e-5, "worst |SNR − r| " + worst);
  }

  /** One segment of mix_len = L/2 placed inside [0, L); tiled noise when the noise is shorter. */
  @Test
  void noiseModePlacesOneTiledSpanInsideTheUtterance() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder().prob(1).noiseRatio(1).build();
    float[][] audio = {new float[1000]};
    java.util.Arrays.fill(audio[0], 0, 900, 0.5f);
    float[][] noise = {new float[1000]};
    for (int t = 0; t < 7; t++) {
      noise[0][t] = t + 1; // noise_len 7, tiled
    }
    for (long seed = 0; seed < 50; seed++) {
      Result r = aug.apply(audio, new int[] {900}, noise, new int[] {7}, seed);
      assertEquals(Mode.NOISE, r.mode(0));
      float[] n = r.noise()[0];
      int first = -1;
      int count = 0;
      for (int t = 0; t < 1000; t++) {
        if (n[t] != 0f) {
          if (first < 0) {
            first = t;
          }
          count++;
        }
      }
      assertEquals(450, count);
      assertTrue(first >= 0 && first + 450 <= 900, "span [" + first + ", " + (first + 450) + ")");
      float scale = n[first]; // tiled pattern 1..7 times the scale
      for (int k = 0; k < 450; k++) {
        assertEquals(scale * ((k % 7) + 1), n[first + k], 1e-6 * Math.abs(scale) * 7);
      }
    }
  }

  @Test
  void noiseModeWithZeroNoiseLeavesAudioUnchanged() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder().prob(1).noiseRatio(1).build();
    Batch b = new Batch(new int[] {16000, 20000, 18000}, new int[] {16000, 20000, 18000}, 3L);
    float[][] zeros = new float[3][20000];
    Result r = aug.apply(b.audio, b.audioLen, zeros, b.noiseLen, 9L);
    for (int i = 0; i < 3; i++) {
      assertEquals(Mode.NOISE, r.mode(i));
      assertArrayEquals(b.audio[i], r.noisyAudio()[i]);
      assertEquals(b.audioLen[i], r.noisyLen()[i]);
    }
  }

  @Test
  void batchOfOneForcesNoiseMode() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder().prob(1).noiseRatio(0).build();
    Batch b = new Batch(new int[] {16000}, new int[] {16000}, 4L);
    for (long seed = 0; seed < 20; seed++) {
      Result r = aug.apply(b.audio, b.audioLen, b.noise, b.noiseLen, seed);
      assertEquals(Mode.NOISE, r.mode(0));
      assertTrue(r.ratioDb(0) >= -5 && r.ratioDb(0) < 20);
    }
  }

  /** Speech mode mixes a slice of another row's audio, never the row's own. */
  @Test
  void speechModeUsesOtherRowsAudio() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder().prob(1).noiseRatio(0).build();
    int w = 3000;
    int[] len = {3000, 2000, 2600};
    float[][] audio = new float[3][w];
    for (int i = 0; i < 3; i++) {
      for (int t = 0; t < len[i]; t++) {
        audio[i][t] = (i + 1) * 10000 + t; // row and position encoded in the value
      }
    }
    int[] sourceCount = new int[3];
    for (long seed = 0; seed < 60; seed++) {
      Result r = aug.apply(audio, len, new float[3][w], new int[] {3000, 2000, 2600}, seed);
      for (int i = 0; i < 3; i++) {
        assertEquals(Mode.SPEECH, r.mode(i));
        float[] n = r.noise()[i];
        int first = 0;
        while (n[first] == 0f) {
          first++;
        }
        int mix = len[i] / 2;
        assertEquals(0f, n[first + mix]);
        // sample k is scale·(V0 + k), V0 = 10000·(c+1) + start: recover V0 from the span's ends,
        // then the scale
        double n0 = n[first];
        double nl = n[first + mix - 1];
        long v0 = Math.round((mix - 1) * n0 / (nl - n0));
        double scale = n0 / v0;
        int src = (int) (v0 / 10000) - 1;
        int start = (int) (v0 % 10000);
        assertNotEquals(i, src, "row " + i + " mixed its own audio");
        assertTrue(start >= 0 && start + mix <= len[src]);
        sourceCount[src]++;
        for (int k = 0; k < mix; k += 97) {
          assertEquals(audio[src][start + k] * scale, n[first + k], 1e-4 * Math.abs(n[first + k]));
        }
      }
    }
    for (int c : sourceCount) {
      assertTrue(c > 20, java.util.Arrays.toString(sourceCount));
    }
  }

  @Test
  void skippedRowsFollowTheSwitch() {
    Batch b = new Batch(new int[] {16000, 24000}, new int[] {9000, 24000}, 5L);
    for (SkippedRows mode : SkippedRows.values()) {
      MultiSpeakerNoiseAugmentation aug =
          MultiSpeakerNoiseAugmentation.builder().prob(0).skippedRows(mode).build();
      Result r = aug.apply(b.audio, b.audioLen, b.noise, b.noiseLen, 1L);
      for (int i = 0; i < 2; i++) {
        assertEquals(Mode.SKIPPED, r.mode(i));
        assertTrue(Double.isNaN(r.ratioDb(i)));
        for (int t = 0; t < 24000; t++) {
          float want = mode == SkippedRows.CLEAN ? b.audio[i][t] : b.audio[i][t] + b.noise[i][t];
          assertEquals(want, r.noisyAudio()[i][t]);
        }
      }
      if (mode == SkippedRows.CLEAN) {
        assertArrayEquals(new int[] {16000, 24000}, r.noisyLen());
      } else {
        assertArrayEquals(new int[] {9000, 24000}, r.noisyLen()); // NeMo: the raw noise length
      }
    }
  }

  /** The switch does not change the random stream: augmented rows are identical under both settings. */
  @Test
  void switchDoesNotChangeAugmentedRowsAndResultsAreDeterministic() {
    Batch b =
        new Batch(new int[] {16000, 24000, 20000, 30000}, new int[] {8000, 24000, 20000, 100}, 6L);
    MultiSpeakerNoiseAugmentation clean = MultiSpeakerNoiseAugmentation.builder().build();
    MultiSpeakerNoiseAugmentation raw =
        MultiSpeakerNoiseAugmentation.builder().skippedRows(SkippedRows.RAW_NOISE).build();
    boolean sawSkipped = false;
    boolean sawAugmented = false;
    for (long seed = 0; seed < 10; seed++) {
      Result a = clean.apply(b.audio, b.audioLen, b.noise, b.noiseLen, seed);
      Result c = raw.apply(b.audio, b.audioLen, b.noise, b.noiseLen, seed);
      Result again = clean.apply(b.audio, b.audioLen, b.noise, b.noiseLen, seed);
      for (int i = 0; i < 4; i++) {
        assertEquals(a.mode(i), c.mode(i));
        assertArrayEquals(a.noisyAudio()[i], again.noisyAudio()[i]);
        if (a.mode(i) != Mode.SKIPPED) {
          assertArrayEquals(a.noisyAudio()[i], c.noisyAudio()[i]);
          sawAugmented = true;
        } else {
          sawSkipped = true;
        }
      }
    }
    assertTrue(sawSkipped && sawAugmented);
    Result s1 = clean.apply(b.audio, b.audioLen, b.noise, b.noiseLen, 1L);
    Result s2 = clean.apply(b.audio, b.audioLen, b.noise, b.noiseLen, 2L);
    boolean differ = false;
    for (int i = 0; i < 4; i++) {
      differ |= !java.util.Arrays.equals(s1.noisyAudio()[i], s2.noisyAudio()[i]);
    }
    assertTrue(differ);
  }

  /** prob 0.5 and noise_ratio 0.5: about half the rows augmented, half of those with noise. */
  @Test
  void selectionRatesFollowTheConfig() {
    MultiSpeakerNoiseAugmentation aug = MultiSpeakerNoiseAugmentation.builder().build();
    Batch b =
        new Batch(
            new int[] {1000, 1200, 900, 1100, 1000, 1000, 1000, 1000},
            new int[] {1000, 1200, 900, 1100, 1000, 1000, 1000, 1000},
            7L);
    int augmented = 0;
    int noise = 0;
    int rows = 0;
    SplittableRandom rng = new SplittableRandom(12);
    for (int rep = 0; rep < 500; rep++) {
      Result r = aug.apply(b.audio, b.audioLen, b.noise, b.noiseLen, rng);
      for (int i = 0; i < 8; i++) {
        rows++;
        if (r.mode(i) != Mode.SKIPPED) {
          augmented++;
          noise += r.mode(i) == Mode.NOISE ? 1 : 0;
        }
      }
    }
    assertEquals(0.5, (double) augmented / rows, 0.03); // sd 0.008
    assertEquals(0.5, (double) noise / augmented, 0.04); // sd 0.011
  }

  /** Several segments and speakers: the spans add up to mix_len, stay inside [0, L) and do not overlap. */
  @Test
  void multipleSegmentsAndSpeakers() {
    MultiSpeakerNoiseAugmentation aug =
        MultiSpeakerNoiseAugmentation.builder()
            .prob(1)
            .noiseRatio(0.5)
            .mixRate(0.2, 0.8)
            .numSegments(1, 4)
            .numSpeakers(1, 3)
            .build();
    int w = 5000;
    int[] len = {5000, 4000, 4500, 3000};
    float[][] audio = new float[4][w];
    float[][] noise = new float[4][w];
    for (int i = 0; i < 4; i++) {
      for (int t = 0; t < len[i]; t++) {
        audio[i][t] = 1 + (t % 13); // never zero inside the utterance
        noise[i][t] = 1 + (t % 11);
      }
    }
    for (long seed = 0; seed < 100; seed++) {
      Result r = aug.apply(audio, len, noise, len.clone(), seed);
      for (int i = 0; i < 4; i++) {
        int nonzero = 0;
        for (int t = 0; t < w; t++) {
          if (r.noise()[i][t] != 0f) {
            nonzero++;
            assertTrue(t < len[i]);
          }
        }
        int mix = r.mixLen(i);
        assertTrue(mix >= (int) (len[i] * 0.2f) && mix <= (int) (len[i] * 0.8f), "mix " + mix);
        assertEquals(mix, nonzero, "segments must not overlap");
        double snr = 10 * Math.log10(energy(audio[i], len[i]) / energy(r.noise()[i], len[i]));
        assertEquals(r.ratioDb(i), snr, 1e-4);
      }
    }
  }

  @Test
  void fromConfigReadsTheAugmentorSection() {
    NestConfig c = NestConfig.defaults();
    MultiSpeakerNoiseAugmentation a =
        MultiSpeakerNoiseAugmentation.of(c.settings().augmentor("model.train_ds.batch_augmentor"));
    assertEquals(SkippedRows.CLEAN, a.skippedRows());
    assertEquals(MultiSpeakerNoiseAugmentation.builder().build().toString(), a.toString());
    NestConfig raw =
        c.with(
            java.util.Map.of(
                "model.train_ds.batch_augmentor.skipped_rows",
                "raw_noise",
                "model.train_ds.batch_augmentor.prob",
                0.25));
    MultiSpeakerNoiseAugmentation b =
        MultiSpeakerNoiseAugmentation.of(
            raw.settings().augmentor("model.train_ds.batch_augmentor."));
    assertEquals(SkippedRows.RAW_NOISE, b.skippedRows());
    assertTrue(b.toString().contains("prob 0.25"));
    assertEquals(
        SkippedRows.CLEAN,
        MultiSpeakerNoiseAugmentation.of(
                c.settings().augmentor("model.validation_ds.batch_augmentor"))
            .skippedRows());
  }

  @Test
  void rejectsBadSettingsAndShapes() {
    assertThrows(
        IllegalArgumentException.class,
        () -> MultiSpeakerNoiseAugmentation.builder().prob(1.5).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> MultiSpeakerNoiseAugmentation.builder().mixRate(0.6, 0.5).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> MultiSpeakerNoiseAugmentation.builder().numSegments(0, 1).build());
    assertThrows(IllegalArgumentException.class, () -> SkippedRows.parse("noisy"));
    MultiSpeakerNoiseAugmentation a = MultiSpeakerNoiseAugmentation.builder().build();
    assertThrows(
        IllegalArgumentException.class,
        () ->
            a.apply(
                new float[][] {new float[10], new float[9]},
                new int[] {10, 9},
                new float[2][10],
                new int[] {1, 1},
                1L));
    assertThrows(
        IllegalArgumentException.class,
        () ->
            a.apply(
                new float[][] {new float[10]},
                new int[] {11},
                new float[1][10],
                new int[] {1},
                1L));
    assertFalse(a.toString().isEmpty());
  }
}
