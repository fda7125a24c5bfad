package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Our {@link Resampler} against {@code sox in.wav -e floating-point -b 32 out.wav rate -v 16000} on the
 * committed signals resample/mix_RATE.wav (tones, a sweep to 0.875 x the lower Nyquist and, for
 * down-sampling, tones above 8 kHz that both must remove), 0.3 s each.
 */
class ResamplerVsSoxTest {
  /** Samples skipped at each end (50 ms) where the two filters' different lengths show. */
  private static final int EDGE = 800;

  private static double snrDb(float[] ref, float[] y, int lag) {
    double s = 0;
    double e = 0;
    for (int i = EDGE; i < ref.length - EDGE; i++) {
      double d = y[i + lag] - ref[i];
      s += (double) ref[i] * ref[i];
      e += d * d;
    }
    return 10 * Math.log10(s / e);
  }

  @ParameterizedTest(name = "{0} Hz -> 16 kHz: SNR vs sox > {1} dB")
  @CsvSource({"44100, 108", "48000, 110", "8000, 108", "22050, 107", "11025, 90", "32000, 110"})
  void matchesSoxVeryHighQuality(int rate, double minSnrDb) throws Exception {
    DecodedAudio in = Fixtures.decode("resample/mix_" + rate + ".wav");
    DecodedAudio sox = Fixtures.decode("resample/mix_" + rate + "_sox16k.wav");
    assertEquals(rate, in.sampleRate());
    assertEquals(16000, sox.sampleRate());
    float[] ours = Resampler.resample(in.channel(0), rate, 16000);
    float[] ref = sox.channel(0);

    // same length as sox (round half up of n * 16000 / rate)
    assertEquals(ref.length, ours.length);
    assertEquals(ref.length, Resampler.outputLength(in.frames(), rate, 16000));

    double snr = snrDb(ref, ours, 0);
    System.out.printf(
        "resampler vs sox rate -v, %d -> 16000: SNR %.1f dB (interior), lags -2..2:", rate, snr);
    // alignment: both are linear-phase and delay-compensated, so lag 0 must be the best match
    for (int lag = -2; lag <= 2; lag++) {
      double s = snrDb(ref, ours, lag);
      System.out.printf(" %.1f", s);
      if (lag != 0) {
        assertTrue(
            s < snr - 20,
            "lag " + lag + " matches better (" + s + " dB) than lag 0 (" + snr + " dB)");
      }
    }
    System.out.println();
    assertTrue(snr > minSnrDb, rate + " Hz: SNR against sox " + snr + " dB");

    // whole signal including the edges: still close (the filters' transients differ slightly there)
    double s = 0;
    double e = 0;
    for (int i = 0; i < ref.length; i++) {
      s += (double) ref[i] * ref[i];
      e += (double) (ours[i] - ref[i]) * (ours[i] - ref[i]);
    }
    double whole = 10 * Math.log10(s / e);
    System.out.printf(
        "resampler vs sox rate -v, %d -> 16000: SNR %.1f dB over the whole signal%n", rate, whole);
    assertTrue(whole > 50, rate + " Hz: whole-signal SNR against sox " + whole + " dB");
  }
}
