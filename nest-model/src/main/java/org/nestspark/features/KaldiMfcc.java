package org.nestspark.features;

/**
 * The MFCC features HuBERT's first k-means iteration clusters: {@code torchaudio.compliance.kaldi.mfcc}
 * with its defaults and {@code use_energy=False}, then first and second deltas
 * ({@code torchaudio.functional.compute_deltas}, window 5, edge frames replicated), stacked
 * {@code [13 MFCC, 13 Δ, 13 ΔΔ]} = 39 values per 10 ms frame. This is the recipe of fairseq's
 * {@code examples/hubert/simple_kmeans/dump_mfcc_feature.py} (the waveform as float in [-1, 1), not
 * rescaled to 16-bit integers); ESPnet's hubert1 recipe dumps MFCC with the same call.
 *
 * <p>Kaldi's defaults, as torchaudio applies them at 16 kHz: 25 ms frames (400 samples) every 10 ms (160),
 * {@code snip_edges} (only whole frames: {@code 1 + (N − 400) / 160} frames, none below 400 samples, so
 * frame m covers samples {@code [160m, 160m + 400)}), no dither, each frame's mean removed, pre-emphasis
 * 0.97 (the first sample against itself), the "povey" window (a symmetric Hann window to the power 0.85),
 * zero-padded to a 512-point FFT, the power spectrum, 23 triangular mel bins on Kaldi's mel scale
 * ({@code 1127 ln(1 + f/700)}) from 20 Hz to Nyquist, {@code ln(max(e, FLT_EPSILON))}, an orthonormal
 * DCT-II whose first column is {@code sqrt(1/23)}, the first 13 cepstra, and the cepstral lifter
 * {@code 1 + 11 sin(π i / 22)}.
 *
 * <p>Computed in float64 (torchaudio computes in float32: expect differences around 1e-5 relative). The
 * NumPy reference the tests compare against is {@code nest-model/src/test/resources/mfcc/kaldi_mfcc_reference.py}.
 * Thread-safe (scratch per call).
 */
public final class KaldiMfcc {
  /** Samples per frame at 16 kHz (25 ms). */
  public static final int FRAME_LENGTH = 400;

  /** Samples between frames at 16 kHz (10 ms). */
  public static final int FRAME_SHIFT = 160;

  /** Cepstra per frame. */
  public static final int NUM_CEPS = 13;

  /** Values per frame with deltas. */
  public static final int DIM = 3 * NUM_CEPS;

  private static final int FFT = 512;
  private static final int BINS = FFT / 2;
  private static final int MEL_BINS = 23;
  private static final double PREEMPH = 0.97;
  private static final double LIFTER = 22.0;
  private static final double LOW_FREQ = 20.0;
  private static final double EPS = Math.ulp(1.0f); // torch.finfo(torch.float).eps

  private final int sampleRate;
  private final double[] window = new double[FRAME_LENGTH];
  private final double[][] mel = new double[MEL_BINS][BINS];
  private final double[][] dct = new double[MEL_BINS][NUM_CEPS];
  private final double[] lifter = new double[NUM_CEPS];
  private final double[] cos = new double[FFT / 2];
  private final double[] sin = new double[FFT / 2];

  /** @param sampleRate 16000 (frame sizes are Kaldi's milliseconds at this rate) */
  public KaldiMfcc(int sampleRate) {
    if (sampleRate != 16000) {
      throw new IllegalArgumentException(
          "MFCC targets are defined at 16 kHz (HuBERT's recipe); model.sample_rate is "
              + sampleRate);
    }
    this.sampleRate = sampleRate;
    for (int i = 0; i < FRAME_LENGTH; i++) {
      double hann = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (FRAME_LENGTH - 1));
      window[i] = Math.pow(hann, 0.85);
    }
    double nyquist = sampleRate / 2.0;
    double melLow = melScale(LOW_FREQ);
    double melHigh = melScale(nyquist);
    double delta = (melHigh - melLow) / (MEL_BINS + 1);
    double binWidth = sampleRate / (double) FFT;
    for (int b = 0; b < MEL_BINS; b++) {
      double left = melLow + b * delta;
      double center = melLow + (b + 1) * delta;
      double right = melLow + (b + 2) * delta;
      for (int k = 0; k < BINS; k++) {
        double m = melScale(binWidth * k);
        double up = (m - left) / (center - left);
        double down = (right - m) / (right - center);
        mel[b][k] = Math.max(0, Math.min(up, down));
      }
    }
    for (int n = 0; n < MEL_BINS; n++) {
      for (int k = 0; k < NUM_CEPS; k++) {
        dct[n][k] =
            k == 0
                ? Math.sqrt(1.0 / MEL_BINS)
                : Math.cos(Math.PI / MEL_BINS * (n + 0.5) * k) * Math.sqrt(2.0 / MEL_BINS);
      }
    }
    for (int i = 0; i < NUM_CEPS; i++) {
      lifter[i] = 1 + 0.5 * LIFTER * Math.sin(Math.PI * i / LIFTER);
    }
    for (int i = 0; i < FFT / 2; i++) {
      cos[i] = Math.cos(2 * Math.PI * i / FFT);
      sin[i] = -Math.sin(2 * Math.PI * i / FFT);
    }
  }

  /** Kaldi's mel scale. */
  static double melScale(double f) {
    return 1127.0 * Math.log(1.0 + f / 700.0);
  }

  /** Frames of {@code numSamples} samples ({@code snip_edges}): {@code 1 + (N − 400) / 160}, 0 below 400. */
  public static int numFrames(int numSamples) {
    return numSamples < FRAME_LENGTH ? 0 : 1 + (numSamples - FRAME_LENGTH) / FRAME_SHIFT;
  }

  /** The sample rate. */
  public int sampleRate() {
    return sampleRate;
  }

  /** The 13 MFCCs of every frame, {@code [frames][13]}. */
  public double[][] mfcc(float[] x) {
    int m = numFrames(x.length);
    double[][] out = new double[m][NUM_CEPS];
    double[] re = new double[FFT];
    double[] im = new double[FFT];
    double[] frame = new double[FRAME_LENGTH];
    double[] logMel = new double[MEL_BINS];
    for (int t = 0; t < m; t++) {
      int s0 = t * FRAME_SHIFT;
      double mean = 0;
      for (int i = 0; i < FRAME_LENGTH; i++) {
        frame[i] = x[s0 + i];
        mean += frame[i];
      }
      mean /= FRAME_LENGTH;
      for (int i = 0; i < FRAME_LENGTH; i++) {
        frame[i] -= mean;
      }
      java.util.Arrays.fill(re, 0);
      java.util.Arrays.fill(im, 0);
      for (int i = FRAME_LENGTH - 1; i >= 0; i--) {
        double prev = frame[Math.max(0, i - 1)];
        re[i] = (frame[i] - PREEMPH * prev) * window[i];
      }
      fft(re, im);
      for (int b = 0; b < MEL_BINS; b++) {
        double e = 0;
        double[] w = mel[b];
        for (int k = 0; k < BINS; k++) {
          if (w[k] != 0) {
            e += w[k] * (re[k] * re[k] + im[k] * im[k]);
          }
        }
        logMel[b] = Math.log(Math.max(e, EPS));
      }
      for (int k = 0; k < NUM_CEPS; k++) {
        double c = 0;
        for (int n = 0; n < MEL_BINS; n++) {
          c += logMel[n] * dct[n][k];
        }
        out[t][k] = c * lifter[k];
      }
    }
    return out;
  }

  /**
   * HuBERT's iteration-0 features: MFCC, Δ and ΔΔ, {@code [frames][39]} flattened frame-major
   * (frame t's 39 values at {@code 39·t}); float32 like the dumped features.
   */
  public float[] hubertFeatures(float[] x) {
    double[][] c = mfcc(x);
    double[][] d = deltas(c);
    double[][] dd = deltas(d);
    float[] out = new float[c.length * DIM];
    for (int t = 0; t < c.length; t++) {
      for (int k = 0; k < NUM_CEPS; k++) {
        out[t * DIM + k] = (float) c[t][k];
        out[t * DIM + NUM_CEPS + k] = (float) d[t][k];
        out[t * DIM + 2 * NUM_CEPS + k] = (float) dd[t][k];
      }
    }
    return out;
  }

  /**
   * {@code torchaudio.functional.compute_deltas} with {@code win_length=5} along time:
   * {@code d[t] = Σ_{k=1..2} k·(x[t+k] − x[t−k]) / 10}, frames beyond the edges replicated.
   */
  public static double[][] deltas(double[][] x) {
    int m = x.length;
    double[][] d = new double[m][];
    for (int t = 0; t < m; t++) {
      int dim = x[t].length;
      d[t] = new double[dim];
      for (int k = 1; k <= 2; k++) {
        double[] next = x[Math.min(m - 1, t + k)];
        double[] prev = x[Math.max(0, t - k)];
        for (int j = 0; j < dim; j++) {
          d[t][j] += k * (next[j] - prev[j]);
        }
      }
      for (int j = 0; j < dim; j++) {
        d[t][j] /= 10.0;
      }
    }
    return d;
  }

  /** In-place iterative radix-2 FFT of length 512. */
  private void fft(double[] re, double[] im) {
    int n = FFT;
    for (int i = 1, j = 0; i < n; i++) {
      int bit = n >> 1;
      for (; (j & bit) != 0; bit >>= 1) {
        j ^= bit;
      }
      j ^= bit;
      if (i < j) {
        double tr = re[i];
        re[i] = re[j];
        re[j] = tr;
        double ti = im[i];
        im[i] = im[j];
        im[j] = ti;
      }
    }
    for (int len = 2; len <= n; len <<= 1) {
      int step = n / len;
      int half = len >> 1;
      for (int i = 0; i < n; i += len) {
        for (int k = 0; k < half; k++) {
          double wr = cos[k * step];
          double wi = sin[k * step];
          int a = i + k;
          int b = a + half;
          double xr = re[b] * wr - im[b] * wi;
          double xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
}
