package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Frequency response, alignment and length rule of {@link Resampler} (the numbers in its javadoc). */
class ResamplerTest {

  @Test
  void outputLengthIsSoxs() {
    // {input rate, input samples, samples sox 14.4.2 `rate -v 16000` wrote} (measured with sox)
    long[][] sox = {
      {44100, 1, 0},
      {44100, 2, 1},
      {44100, 3, 1},
      {44100, 7, 3},
      {44100, 100, 36},
      {44100, 1001, 363},
      {44100, 16317, 5920},
      {44100, 16318, 5920},
      {44100, 44099, 16000},
      {44100, 44101, 16000},
      {48000, 1, 0},
      {48000, 2, 1},
      {48000, 3, 1},
      {48000, 7, 2},
      {48000, 1001, 334},
      {48000, 16318, 5439},
      {8000, 1, 2},
      {8000, 7, 14},
      {8000, 16317, 32634},
      {22050, 1, 1},
      {22050, 2, 1},
      {22050, 3, 2},
      {22050, 7, 5},
      {22050, 100, 73},
      {22050, 1001, 726},
      {22050, 16318, 11841},
      {22050, 44099, 31999},
      {22050, 44101, 32001},
      {11025, 1, 1},
      {11025, 2, 3},
      {11025, 3, 4},
      {11025, 7, 10},
      {11025, 100, 145},
      {11025, 1001, 1453},
      {32000, 1, 1},
      {32000, 3, 2},
      {32000, 7, 4},
      {32000, 1001, 501},
      {32000, 16317, 8159},
      {32000, 44101, 22051},
    };
    for (long[] c : sox) {
      assertEquals(
          c[2],
          Resampler.outputLength(c[1], (int) c[0], 16000),
          c[0] + " Hz, " + c[1] + " samples");
      assertEquals(c[2], new Resampler((int) c[0], 16000).process(new float[(int) c[1]]).length);
    }
    assertEquals(0, Resampler.outputLength(0, 44100, 16000));
  }

  @ParameterizedTest(name = "{0} Hz -> 16 kHz")
  @ValueSource(ints = {44100, 48000, 22050, 32000, 8000, 11025, 44056})
  void flatPassbandAndDeepStopband(int rate) {
    Resampler r = new Resampler(rate, 16000);
    double low = Math.min(rate, 16000);
    int n = (int) (0.1 * rate);
    int from = 300;
    // passband: 0 .. 0.9 x lower Nyquist within +-0.0002 dB
    double maxDev = 0;
    for (double f = 31; f <= 0.9 * low / 2; f += 97) {
      float[] y = r.process(Fixtures.sine(n, f, rate, 0.5, 0.3));
      double g = Fixtures.toneAmplitude(y, from, y.length - from, f, 16000) / 0.5;
      maxDev = Math.max(maxDev, Math.abs(Fixtures.db(g)));
    }
    assertTrue(maxDev < 0.0002, rate + ": passband deviation " + maxDev + " dB");
    // the cutoff: -6 dB at 0.95 x lower Nyquist
    double fc = 0.95 * low / 2;
    float[] yc = r.process(Fixtures.sine(n, fc, rate, 0.5, 0.3));
    double gc = Fixtures.db(Fixtures.toneAmplitude(yc, from, yc.length - from, fc, 16000) / 0.5);
    assertEquals(-6.02, gc, 0.05, rate + ": gain at 0.95 x Nyquist");
    // stopband: everything at or above the lower Nyquist (aliases / images) at least 99 dB down
    double worst = -1e9;
    if (rate > 16000) {
      for (double f = 8000; f < rate / 2.0; f += 61) {
        float[] y = r.process(Fixtures.sine(n, f, rate, 0.5, 0.3));
        worst =
            Math.max(
                worst, Fixtures.db(Fixtures.rms(y, from, y.length - from) / (0.5 / Math.sqrt(2))));
      }
    } else {
      for (double f = 29; f < rate / 2.0; f += 61) { // image of f lands at rate - f
        float[] y = r.process(Fixtures.sine(n, f, rate, 0.5, 0.3));
        double[] a =
            Fixtures.toneAmplitudes(y, from, y.length - from, new double[] {f, rate - f}, 16000);
        worst = Math.max(worst, Fixtures.db(a[1] / 0.5));
      }
    }
    assertTrue(worst < -99, rate + ": stopband only " + worst + " dB");
  }

  @Test
  void outOfBandToneAt10kHzIsRemoved() {
    float[] x = Fixtures.sine(44100 / 4, 10000, 44100, 0.9, 0);
    float[] y = Resampler.resample(x, 44100, 16000);
    double att = Fixtures.db(Fixtures.rms(y, 200, y.length - 200) / (0.9 / Math.sqrt(2)));
    assertTrue(att < -99, "10 kHz at 44.1 kHz attenuated by only " + (-att) + " dB");
  }

  @ParameterizedTest
  @ValueSource(ints = {44100, 8000, 22050})
  void zeroDelay(int rate) {
    // output sample n is input time n/16000: a 1 kHz sine keeps its phase exactly
    double phase = 0.7;
    float[] y = Resampler.resample(Fixtures.sine(rate / 5, 1000, rate, 0.5, phase), rate, 16000);
    double[] ab = Fixtures.toneFit(y, 300, y.length - 300, 1000, 16000); // a cos + b sin
    double got = Math.atan2(ab[0], ab[1]);
    assertEquals(phase, got, 1e-5);
    assertEquals(0.5, Math.hypot(ab[0], ab[1]), 1e-5);
  }

  @Test
  void tabulatedAndOnTheFlyCoefficientsAgree() {
    float[] x = Fixtures.sine(4410, 1234, 44100, 0.5, 0.1);
    for (int i = 0; i < x.length; i += 17) {
      x[i] += 0.2f;
    }
    Resampler r = new Resampler(44100, 16000);
    float[] tab = r.process(x);
    float[] direct = r.processDirect(x);
    assertArrayEquals(tab, direct);
  }

  @Test
  void dcAndEqualRates() {
    float[] ones = new float[8000];
    java.util.Arrays.fill(ones, 0.25f);
    float[] y = Resampler.resample(ones, 8000, 16000);
    for (int i = 300; i < y.length - 300; i++) {
      assertEquals(0.25, y[i], 0.25 * 3e-5);
    }
    float[] x = {1f, 2f, 3f};
    float[] same = Resampler.resample(x, 16000, 16000);
    assertArrayEquals(x, same);
    assertNotSame(x, same);
    assertThrows(IllegalArgumentException.class, () -> new Resampler(0, 16000));
  }
}
