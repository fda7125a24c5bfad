package org.nestspark.features;

import org.nestspark.config.PreprocessorParams;

/**
 * librosa's mel filterbank ({@code librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False,
 * norm='slaney', dtype=float32)}), the {@code fb} buffer of NeMo's {@code FilterbankFeatures} (docs/nest-numerics.md §1,
 * "Mel filterbank").
 *
 * <p>Construction reproduces librosa's arithmetic: band edges from the Slaney mel scale in float64,
 * triangle weights {@code max(0, min(lower, upper))} computed in float64 and <b>stored as float32</b>, then
 * multiplied by the Slaney area norm {@code 2 / (mel_f[i+2] − mel_f[i])} in float64 and stored as
 * float32 again. For the NEST settings the result equals NeMo's {@code fb} (the golden {@code mel_fb.npy})
 * bit for bit, including the sign of its one {@code -0.0}.
 *
 * <p>Each filter is non-zero only on a short contiguous run of FFT bins ({@link #start(int)} inclusive to
 * {@link #end(int)} exclusive); {@link #apply(double[], double[])} uses only those runs. Immutable and
 * thread-safe.
 */
public final class MelFilterbank {
  private static final double F_SP = 200.0 / 3;
  private static final double MIN_LOG_HZ = 1000.0;
  private static final double MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
  private static final double LOG_STEP = StrictMath.log(6.4) / 27.0;

  private final int numFilters;
  private final int numBins;
  private final float[][] weights;
  private final double[] melF;
  private final int[] start;
  private final int[] end;

  /** Non-zero weights of all filters, concatenated; filter i owns [offset[i], offset[i+1]). */
  private final double[] packed;

  private final int[] offset;
  private final int minBin;
  private final int maxBin;

  private MelFilterbank(float[][] weights, double[] melF) {
    this.weights = weights;
    this.melF = melF;
    this.numFilters = weights.length;
    this.numBins = weights[0].length;
    this.start = new int[numFilters];
    this.end = new int[numFilters];
    this.offset = new int[numFilters + 1];
    int total = 0;
    int lo = numBins;
    int hi = 0;
    for (int i = 0; i < numFilters; i++) {
      int s = 0;
      while (s < numBins && weights[i][s] == 0f) {
        s++;
      }
      int e = numBins;
      while (e > s && weights[i][e - 1] == 0f) {
        e--;
      }
      start[i] = s;
      end[i] = e;
      offset[i] = total;
      total += e - s;
      if (e > s) {
        lo = Math.min(lo, s);
        hi = Math.max(hi, e);
      }
    }
    offset[numFilters] = total;
    this.minBin = Math.min(lo, hi);
    this.maxBin = hi;
    this.packed = new double[total];
    for (int i = 0; i < numFilters; i++) {
      for (int k = start[i]; k < end[i]; k++) {
        packed[offset[i] + k - start[i]] = weights[i][k];
      }
    }
  }

  /** The filterbank for these preprocessor settings (sample_rate, n_fft, features, lowfreq, highfreq, mel_norm). */
  public static MelFilterbank of(PreprocessorParams p) {
    return create(
        p.sampleRate(),
        p.nFft(),
        p.features(),
        p.lowFreq(),
        p.highFreq(),
        "slaney".equals(p.melNorm()));
  }

  /**
   * {@code librosa.filters.mel(sr=sampleRate, n_fft=nFft, n_mels=nMels, fmin=fmin, fmax=fmax,
   * htk=False, norm='slaney' if slaneyNorm else None, dtype=float32)}. docs/nest-numerics.md §1, "Mel filterbank".
   */
  public static MelFilterbank create(
      int sampleRate, int nFft, int nMels, double fmin, double fmax, boolean slaneyNorm) {
    if (sampleRate <= 0 || nFft < 1 || nMels < 1 || !(fmax > fmin) || fmin < 0) {
      throw new IllegalArgumentException(
          "bad mel filterbank settings: sr="
              + sampleRate
              + " n_fft="
              + nFft
              + " n_mels="
              + nMels
              + " fmin="
              + fmin
              + " fmax="
              + fmax);
    }
    int nBins = 1 + nFft / 2;
    // np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n * d))
    double d = 1.0 / sampleRate;
    double val = 1.0 / (nFft * d);
    double[] fftFreqs = new double[nBins];
    for (int k = 0; k < nBins; k++) {
      fftFreqs[k] = k * val;
    }
    // mel_frequencies(n_mels + 2, fmin, fmax): linspace in mel, then back to Hz
    int nPts = nMels + 2;
    double minMel = hzToMel(fmin);
    double maxMel = hzToMel(fmax);
    double step = (maxMel - minMel) / (nPts - 1);
    double[] melF = new double[nPts];
    for (int i = 0; i < nPts; i++) {
      double m =
          i == nPts - 1 ? maxMel : i * step + minMel; // np.linspace sets the endpoint exactly
      melF[i] = melToHz(m);
    }
    float[][] w = new float[nMels][nBins];
    for (int i = 0; i < nMels; i++) {
      double fdiffLo = melF[i + 1] - melF[i];
      double fdiffHi = melF[i + 2] - melF[i + 1];
      double enorm = 2.0 / (melF[i + 2] - melF[i]);
      for (int k = 0; k < nBins; k++) {
        double lower = -(melF[i] - fftFreqs[k]) / fdiffLo;
        double upper = (melF[i + 2] - fftFreqs[k]) / fdiffHi;
        // np.maximum(0, m) keeps m when m is ±0 (numpy's SIMD max returns its second operand on
        // ties): the
        // first filter's weight at 0 Hz is -0.0 in NeMo's fb, where Math.max(0.0, -0.0) would give
        // +0.0
        double m = Math.min(lower, upper);
        float v = (float) (m < 0 ? 0.0 : m); // stored float32 (librosa dtype)
        if (slaneyNorm) {
          v = (float) ((double) v * enorm); // float64 multiply, stored float32
        }
        w[i][k] = v;
      }
    }
    return new MelFilterbank(w, melF);
  }

  /** Slaney mel scale (librosa {@code hz_to_mel}, htk=False): linear below 1 kHz, logarithmic above. */
  public static double hzToMel(double hz) {
    double mel = hz / F_SP;
    if (hz >= MIN_LOG_HZ) {
      mel = MIN_LOG_MEL + StrictMath.log(hz / MIN_LOG_HZ) / LOG_STEP;
    }
    return mel;
  }

  /** Inverse of {@link #hzToMel(double)} (librosa {@code mel_to_hz}, htk=False). */
  public static double melToHz(double mel) {
    double hz = F_SP * mel;
    if (mel >= MIN_LOG_MEL) {
      hz = MIN_LOG_HZ * StrictMath.exp(LOG_STEP * (mel - MIN_LOG_MEL));
    }
    return hz;
  }

  /** Number of filters (80). */
  public int numFilters() {
    return numFilters;
  }

  /** Number of FFT bins (257). */
  public int numBins() {
    return numBins;
  }

  /** A copy of the dense float32 weights, {@code [numFilters][numBins]}. */
  public float[][] weights() {
    float[][] c = new float[numFilters][];
    for (int i = 0; i < numFilters; i++) {
      c[i] = weights[i].clone();
    }
    return c;
  }

  /** Weight of filter {@code i} at bin {@code k}. */
  public float weight(int i, int k) {
    return weights[i][k];
  }

  /** A copy of librosa's {@code mel_f}: the {@code numFilters + 2} band edges in Hz. */
  public double[] bandEdgesHz() {
    return melF.clone();
  }

  /** First bin where filter {@code i} is non-zero. */
  public int start(int i) {
    return start[i];
  }

  /** One past the last bin where filter {@code i} is non-zero ({@code start == end} for an empty filter). */
  public int end(int i) {
    return end[i];
  }

  /** The lowest bin any filter uses. */
  public int minBin() {
    return minBin;
  }

  /** One past the highest bin any filter uses (256 for NEST: the Nyquist bin has zero weight). */
  public int maxBin() {
    return maxBin;
  }

  /**
   * {@code mel[i] = Σ_k fb[i][k] · power[k]} over the non-zero run of each filter (docs/nest-numerics.md §1 step 6), in
   * float64. Only {@code power[minBin() .. maxBin())} is read.
   */
  public void apply(double[] power, double[] mel) {
    final double[] pk = packed;
    for (int i = 0; i < numFilters; i++) {
      int o = offset[i];
      int n = offset[i + 1] - o;
      int s = start[i];
      double acc = 0.0;
      for (int j = 0; j < n; j++) {
        acc += pk[o + j] * power[s + j];
      }
      mel[i] = acc;
    }
  }
}
