package org.nestspark.features;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import org.jtransforms.fft.DoubleFFT_1D;
import org.nestspark.config.PreprocessorParams;

/**
 * NeMo's log-mel featurizer ({@code AudioToMelSpectrogramPreprocessor} → {@code FilterbankFeatures},
 * docs/nest-numerics.md §1): waveforms in, {@code (B, 80, T)} normalised log-mel features and valid frame counts out.
 *
 * <p><b>Batches.</b> A batch is given as one {@code float[]} per utterance, like NeMo's zero-padded
 * {@code (B, Ns)} tensor: the batch width {@code Ns} is the longest row, shorter rows count as
 * zero-padded, and each utterance's length {@code L_b} is its row length unless lengths are passed
 * explicitly (then a row may carry padding beyond its length, exactly as NeMo's input). The output time
 * axis is {@code T = ceil_pad_to(1 + floor(Ns / hop))} (docs/nest-numerics.md §1 steps 4 and 10), so the same utterance in
 * a wider batch gets more padding frames but the same valid frames.
 *
 * <p><b>Precision.</b> NeMo computes in float32. Here pre-emphasis, dither and the window product are
 * float32 exactly as PyTorch does them; FFT, power, mel product, log and normalisation are float64; the
 * result is rounded to float32. Against NeMo's own output (golden data) raw log-mel values agree to
 * ≤ 2.2e-5 wherever the mel energy is well above the 2^-24 guard (log-mel ≥ −13); in near-silent bins
 * NeMo's float32 FFT noise (proportional to the frame's total energy) dominates and differences reach
 * ~1e-4 (normalised: up to 1.2e-4 in low-variance channels).
 *
 * <p><b>Digital silence [quirk].</b> A channel that is exactly constant over the valid frames (all-zero
 * audio) normalises to exactly 0 here, where NeMo outputs a machine-dependent constant produced by its
 * float32 summation (−0.27594203 in the golden data); see {@link #compute(float[][], int[], boolean,
 * long)} step 8 notes.
 *
 * <p><b>Work saved.</b> Only the valid frames {@code t < seq_len} are transformed: every other frame is
 * overwritten with {@code pad_value} by NeMo (step 9), so computing it would be wasted. Only FFT bins
 * inside some mel filter are squared (the Nyquist bin has zero weight), and the mel product uses each
 * filter's non-zero run only ({@link MelFilterbank#apply}).
 *
 * <p><b>Thread safety.</b> Instances are immutable and thread-safe. Each thread gets its own scratch
 * buffers and FFT plan (a {@link ThreadLocal} per instance), reused across calls, so share one instance
 * per JVM/executor and call it from any number of threads. Results do not depend on the thread.
 */
public final class FilterbankFeatures {
  /**
   * NeMo's {@code CONSTANT} added to the standard deviation in {@code normalize_batch} (docs/nest-numerics.md §1 step 8).
   */
  public static final double STD_EPS = 1e-5;

  /** Scratch arrays larger than this many elements are not kept between calls. */
  private static final int RETAIN_LIMIT = 1 << 22;

  private final PreprocessorParams params;
  private final MelFilterbank fb;
  private final float[] window;
  private final int nFft;
  private final int hop;
  private final int winLength;

  /** Zeros to the left of the window inside the n_fft frame: (n_fft − win_length) / 2 (56). */
  private final int winOffset;

  /** center=True padding on each side: n_fft / 2 (256). */
  private final int centerPad;

  private final int numBins;
  private final int numFeatures;
  private final float preemph;
  private final boolean hasPreemph;
  private final float ditherF;
  private final boolean magIsPower;
  private final boolean magIsAbs;
  private final double magPower;
  private final boolean log;
  private final boolean guardAdd;
  private final double guard;
  private final int normalize;
  private final int padTo;
  private final float padValue;
  private final ThreadLocal<Scratch> scratch;

  private static final int NORM_NONE = 0;
  private static final int NORM_PER_FEATURE = 1;
  private static final int NORM_ALL_FEATURES = 2;

  /** A featurizer with NeMo's NEST defaults ({@link PreprocessorParams#defaults()}). */
  public FilterbankFeatures() {
    this(PreprocessorParams.defaults());
  }

  public FilterbankFeatures(PreprocessorParams params) {
    this.params = Objects.requireNonNull(params);
    this.fb = MelFilterbank.of(params);
    this.nFft = params.nFft();
    this.hop = params.hopLength();
    this.winLength = params.winLength();
    this.window = Windows.window(params.window(), winLength);
    this.winOffset = (nFft - winLength) / 2;
    this.centerPad = nFft / 2;
    this.numBins = params.numBins();
    this.numFeatures = params.features();
    this.preemph = (float) params.preemph();
    this.hasPreemph = params.preemph() != 0.0;
    this.ditherF = (float) params.dither();
    this.magPower = params.magPower();
    this.magIsPower = magPower == 2.0;
    this.magIsAbs = magPower == 1.0;
    this.log = params.log();
    this.guardAdd = "add".equals(params.logZeroGuardType());
    this.guard = params.logZeroGuardValue();
    switch (params.normalize()) {
      case PreprocessorParams.NORMALIZE_PER_FEATURE:
        this.normalize = NORM_PER_FEATURE;
        break;
      case PreprocessorParams.NORMALIZE_ALL_FEATURES:
        this.normalize = NORM_ALL_FEATURES;
        break;
      default:
        this.normalize = NORM_NONE;
    }
    this.padTo = params.padTo();
    this.padValue = (float) params.padValue();
    this.scratch = ThreadLocal.withInitial(Scratch::new);
  }

  /** The settings. */
  public PreprocessorParams params() {
    return params;
  }

  /** The mel filterbank ({@code fb}). */
  public MelFilterbank filterbank() {
    return fb;
  }

  /** A copy of the float32 window ({@code win_length} taps, before centring in the n_fft frame). */
  public float[] window() {
    return window.clone();
  }

  // ------------------------------------------------------------------ frame counts

  /**
   * Valid frames of an utterance of {@code numSamples} samples: NeMo's {@code get_seq_len},
   * {@code floor((L + 2·(n_fft/2) − n_fft) / hop)}, i.e. {@code floor(L / 160)} for NEST (docs/nest-numerics.md §1 step 1);
   * never negative.
   */
  public int validFrames(int numSamples) {
    if (numSamples < 0) {
      throw new IllegalArgumentException("negative length " + numSamples);
    }
    return Math.max(0, Math.floorDiv(numSamples + 2 * centerPad - nFft, hop));
  }

  /**
   * STFT frames of a batch whose width (longest row) is {@code width}: {@code 1 + floor((Ns + 2·(n_fft/2)
   * − n_fft) / hop)} (docs/nest-numerics.md §1 step 4).
   */
  public int stftFrames(int width) {
    if (width < 0) {
      throw new IllegalArgumentException("negative width " + width);
    }
    return 1 + Math.max(0, Math.floorDiv(width + 2 * centerPad - nFft, hop));
  }

  /** The output time axis T for a batch of width {@code width}: STFT frames rounded up to pad_to (step 10). */
  public int paddedFrames(int width) {
    int t = stftFrames(width);
    if (padTo > 0 && t % padTo != 0) {
      t += padTo - t % padTo;
    }
    return t;
  }

  // ------------------------------------------------------------------ featurisation

  /** One utterance, eval mode: a batch of one. */
  public FeatureBatch computeSingle(float[] audio) {
    return compute(new float[][] {audio});
  }

  /** A batch in eval mode (no dither); each utterance's length is its row length. */
  public FeatureBatch compute(float[][] audio) {
    return compute(audio, rowLengths(audio), false, 0L);
  }

  /** A batch in eval mode (no dither) with explicit lengths {@code lengths[b] ≤ audio[b].length}. */
  public FeatureBatch compute(float[][] audio, int[] lengths) {
    return compute(audio, lengths, false, 0L);
  }

  /**
   * A batch in training mode: as {@link #compute(float[][], int[], boolean, long)} with
   * {@code training = true} and row lengths.
   */
  public FeatureBatch computeTraining(float[][] audio, long ditherSeed) {
    return compute(audio, rowLengths(audio), true, ditherSeed);
  }

  /**
   * The whole per-batch algorithm of docs/nest-numerics.md §1 (steps 1–11), per utterance b:
   *
   * <ol>
   *   <li>{@code seq_len_b = floor(L_b / 160)} ({@link #validFrames});
   *   <li>training only: dither {@code x += 1e-5 · N(0,1)};
   *   <li>pre-emphasis 0.97, samples {@code t ≥ L_b} zero;
   *   <li>STFT, center=True zero padding 256, hop 160, n_fft 512, 400-tap window at offset 56;
   *   <li>power {@code re² + im²};
   *   <li>mel filterbank product;
   *   <li>{@code log(mel + 2^-24)};
   *   <li>normalisation over the valid frames (per_feature: ddof 1, std NaN → 0, std += 1e-5).
   *       Deviation: an exactly constant channel (digital silence) gives exactly 0, where NeMo gives a
   *       machine-dependent constant from its float32 summation (−0.27594203 in the golden data; with
   *       AVX-512 PyTorch it would be +0.276 or +0.160);
   *   <li>frames {@code t ≥ seq_len_b} set to pad_value;
   *   <li>time axis right-padded with pad_value to a multiple of pad_to;
   *   <li>features {@code [B, F, T]} and {@code seq_len}.
   * </ol>
   *
   * <p>Only frames {@code t < seq_len_b} are computed (the others are overwritten in step 9 anyway).
   *
   * @param audio one row per utterance; the batch width is the longest row, shorter rows are
   *     implicitly zero-padded
   * @param lengths valid samples per utterance, {@code 0 ≤ lengths[b] ≤ audio[b].length}; samples at or
   *     beyond the length are ignored (NeMo zeroes them after pre-emphasis)
   * @param training training mode: dither is applied (when {@code dither > 0}); in eval mode it is not
   * @param ditherSeed seed of the dither noise: utterance {@code b} uses the {@code b}-th
   *     {@link SplittableRandom#split()} of {@code new SplittableRandom(ditherSeed)}, so the result is a
   *     function of (seed, batch); ignored in eval mode
   * @return features {@code [B, F, T]} and {@code seq_len}
   */
  public FeatureBatch compute(float[][] audio, int[] lengths, boolean training, long ditherSeed) {
    Objects.requireNonNull(audio, "audio");
    Objects.requireNonNull(lengths, "lengths");
    int batch = audio.length;
    if (lengths.length != batch) {
      throw new IllegalArgumentException(lengths.length + " lengths for " + batch + " rows");
    }
    int width = 0;
    for (int b = 0; b < batch; b++) {
      Objects.requireNonNull(audio[b], "audio row " + b);
      if (lengths[b] < 0 || lengths[b] > audio[b].length) {
        throw new IllegalArgumentException(
            "length " + lengths[b] + " of row " + b + " is outside [0, " + audio[b].length + "]");
      }
      width = Math.max(width, audio[b].length);
    }
    int frames = paddedFrames(width);
    int[] seqLen = new int[batch];
    long size = (long) batch * numFeatures * frames;
    if (size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "batch too large for one array: " + batch + " x " + numFeatures + " x " + frames);
    }
    float[] out = new float[(int) size];
    if (padValue != 0f) {
      Arrays.fill(out, padValue);
    }
    boolean dither = training && ditherF > 0f;
    SplittableRandom root = dither ? new SplittableRandom(ditherSeed) : null;
    Scratch s = scratch.get();
    for (int b = 0; b < batch; b++) {
      SplittableRandom rng = dither ? root.split() : null;
      seqLen[b] = validFrames(lengths[b]);
      featurizeOne(s, audio[b], lengths[b], seqLen[b], rng, out, b * numFeatures * frames, frames);
    }
    return new FeatureBatch(out, batch, numFeatures, frames, seqLen);
  }

  private static int[] rowLengths(float[][] audio) {
    Objects.requireNonNull(audio, "audio");
    int[] l = new int[audio.length];
    for (int b = 0; b < audio.length; b++) {
      l[b] = Objects.requireNonNull(audio[b], "audio row " + b).length;
    }
    return l;
  }

  /**
   * Featurises one utterance into {@code out[base + f·frames + t]} for {@code t < seq}; the other frames
   * are left at pad_value (steps 9 and 10).
   */
  private void featurizeOne(
      Scratch s,
      float[] x,
      int len,
      int seq,
      SplittableRandom rng,
      float[] out,
      int base,
      int frames) {
    if (seq == 0) {
      return; // every frame is masked (step 9); NeMo's NaN statistics for n == 0 never reach the
      // output
    }
    float[] y = s.signal(len);
    preprocess(x, len, rng, y);
    double[] logMel = s.logMel(numFeatures * seq);
    for (int t = 0; t < seq; t++) {
      frameSpectrum(s, y, len, t, fb.minBin(), fb.maxBin());
      fb.apply(s.power, s.mel);
      for (int f = 0; f < numFeatures; f++) {
        logMel[f * seq + t] = logOf(s.mel[f]);
      }
    }
    normalizeAndStore(logMel, seq, out, base, frames);
  }

  /**
   * docs/nest-numerics.md §1 steps 2–3: dither (training only; float32 {@code x + dither·N(0,1)} as PyTorch's
   * {@code x += dither * randn_like(x)}), then pre-emphasis {@code y[0] = x[0]},
   * {@code y[t] = x[t] − 0.97·x[t−1]} in float32. Only {@code t < len} is produced: NeMo zeroes
   * {@code t ≥ len} afterwards, which also removes the dither and pre-emphasis spill into the padding.
   */
  private void preprocess(float[] x, int len, SplittableRandom rng, float[] y) {
    if (len == 0) {
      return;
    }
    if (rng != null) {
      float d = ditherF;
      for (int i = 0; i < len; i++) {
        y[i] = x[i] + d * (float) rng.nextGaussian();
      }
    } else {
      System.arraycopy(x, 0, y, 0, len);
    }
    if (hasPreemph) {
      float a = preemph;
      float prev = y[0];
      for (int i = 1; i < len; i++) {
        float cur = y[i];
        y[i] = cur - a * prev;
        prev = cur;
      }
    }
  }

  /**
   * docs/nest-numerics.md §1 steps 4–5 for frame {@code t}: the samples {@code y[t·hop − n_fft/2 + 56 + j]} (zero outside
   * {@code [0, len)}: center=True constant padding and the batch's zero padding) times the window, the
   * product rounded to float32 as in torch.stft's {@code input.mul(window)}, a float64 real FFT of n_fft
   * points, then {@code |X_k|^mag_power} into {@code s.power[k]} for {@code k ∈ [k0, k1)}.
   * With mag_power 2 the power {@code re² + im²} is used directly; NeMo's {@code sqrt} then {@code ^2}
   * differs by float rounding only.
   */
  private void frameSpectrum(Scratch s, float[] y, int len, int t, int k0, int k1) {
    double[] fr = s.frame;
    int first = t * hop - centerPad + winOffset; // signal index of window tap 0
    int j0 = Math.max(0, -first);
    int j1 = Math.min(winLength, len - first);
    if (j1 < j0) {
      j1 = j0;
    }
    Arrays.fill(fr, 0, winOffset + j0, 0.0);
    final float[] w = window;
    for (int j = j0; j < j1; j++) {
      fr[winOffset + j] = w[j] * y[first + j];
    }
    Arrays.fill(fr, winOffset + j1, nFft, 0.0);
    s.fft.realForward(fr);
    double[] p = s.power;
    // JTransforms packing: fr[0] = Re X_0; even n: fr[1] = Re X_{n/2}, fr[2k], fr[2k+1] = Re, Im
    // X_k;
    // odd n: fr[n-1], fr[1] = Re, Im X_{(n-1)/2}.
    int half = nFft / 2;
    boolean even = (nFft & 1) == 0;
    // Interior bins 1 <= k < half use fr[2k], fr[2k+1]; bin half is special for both parities.
    int kStart = Math.max(k0, 1);
    int kEnd = Math.min(k1, half);
    for (int k = kStart; k < kEnd; k++) {
      double re = fr[2 * k];
      double im = fr[2 * k + 1];
      p[k] = re * re + im * im;
    }
    if (k0 == 0) {
      p[0] = fr[0] * fr[0];
    }
    if (k1 > half) {
      if (even) {
        p[half] = fr[1] * fr[1];
      } else {
        double re = fr[nFft - 1];
        double im = fr[1];
        p[half] = re * re + im * im;
      }
    }
    if (!magIsPower) {
      for (int k = k0; k < k1; k++) {
        double mag = Math.sqrt(p[k]);
        p[k] = magIsAbs ? mag : Math.pow(mag, magPower);
      }
    }
  }

  /** docs/nest-numerics.md §1 step 7: {@code log(mel + 2^-24)} ("add" guard) or {@code log(max(mel, guard))} ("clamp"). */
  private double logOf(double mel) {
    if (!log) {
      return mel;
    }
    return guardAdd ? Math.log(mel + guard) : Math.log(Math.max(mel, guard));
  }

  /**
   * docs/nest-numerics.md §1 steps 8–9: normalisation over the valid frames, then only the valid frames are stored (the
   * rest stay pad_value).
   *
   * <p>per_feature (NeMo's {@code normalize_batch}): per mel bin, {@code mean = Σx/n},
   * {@code std = sqrt(Σ(x − mean)²/(n − 1))} (ddof 1), NaN (n == 1) replaced by 0, then <b>1e-5 is added
   * to the std</b> [quirk: not to the variance], {@code x ← (x − mean)/std}. all_features: one mean and
   * ddof-1 std over all bins and valid frames of the utterance, 1e-5 added, no NaN guard (as NeMo; a
   * single-frame single-feature utterance gives NaN). Statistics are computed in float64 with the
   * corrected two-pass algorithm.
   *
   * <p><b>Deviation from NeMo, digital silence [quirk].</b> When a bin is exactly constant over the
   * valid frames (e.g. all-zero audio: every value is log(2^-24) = −16.635532), the mean here equals the
   * values exactly, the std is 0 + 1e-5 and the normalised features are exactly 0. NeMo sums in float32
   * with PyTorch's vectorised cascade sum, which leaves the mean a few ulps off (−3.8e-6 for the golden
   * 2 s silence), and (x − mean)/(|δ| + 1e-5) turns that rounding error into a constant of order 0.1–1:
   * −0.27594203 in the golden data. That value depends on PyTorch's SIMD width: an emulation of
   * {@code torch.sum}'s float32 cascade reproduces −0.27594203 with 8-lane (AVX2) vectors, but gives
   * +0.27594203 (batched) or +0.16011812 (alone) with 16-lane (AVX-512) vectors. So NeMo's value is an
   * accident of the machine and is not reproduced; both are finite and constant over the valid frames.
   * Channels that are not constant are unaffected (their normalised values agree with NeMo's to ~1e-4).
   */
  private void normalizeAndStore(double[] logMel, int seq, float[] out, int base, int frames) {
    int nf = numFeatures;
    if (normalize == NORM_PER_FEATURE) {
      for (int f = 0; f < nf; f++) {
        int r = f * seq;
        double[] ms = meanAndSumSq(logMel, r, seq);
        double mean = ms[0];
        double std = Math.sqrt(ms[1] / (seq - 1));
        if (Double.isNaN(std)) {
          std = 0.0; // n == 1: NeMo's masked_fill(isnan, 0)
        }
        std += STD_EPS;
        int o = base + f * frames;
        for (int t = 0; t < seq; t++) {
          out[o + t] = (float) ((logMel[r + t] - mean) / std);
        }
      }
    } else if (normalize == NORM_ALL_FEATURES) {
      int n = nf * seq;
      double[] ms = meanAndSumSq(logMel, 0, n);
      double mean = ms[0];
      double std = Math.sqrt(ms[1] / (n - 1)) + STD_EPS; // no NaN guard in NeMo's all_features
      for (int f = 0; f < nf; f++) {
        int r = f * seq;
        int o = base + f * frames;
        for (int t = 0; t < seq; t++) {
          out[o + t] = (float) ((logMel[r + t] - mean) / std);
        }
      }
    } else {
      for (int f = 0; f < nf; f++) {
        int r = f * seq;
        int o = base + f * frames;
        for (int t = 0; t < seq; t++) {
          out[o + t] = (float) logMel[r + t];
        }
      }
    }
  }

  /**
   * Mean and sum of squared deviations of {@code a[off .. off+n)} by the corrected two-pass algorithm
   * (the second pass adds back the first mean's rounding error), so a constant run gets exactly its
   * value as mean and 0 as sum of squares.
   */
  private static double[] meanAndSumSq(double[] a, int off, int n) {
    double sum = 0.0;
    for (int i = off; i < off + n; i++) {
      sum += a[i];
    }
    double mean = sum / n;
    double sd = 0.0;
    double ss = 0.0;
    for (int i = off; i < off + n; i++) {
      double d = a[i] - mean;
      sd += d;
      ss += d * d;
    }
    double corr = sd / n;
    return new double[] {mean + corr, Math.max(0.0, ss - sd * corr)};
  }

  /**
   * NeMo's {@code linear_spec=True} output for one utterance (eval mode): the pre-emphasised
   * {@code |STFT|^mag_power}, all {@code numBins} bins and all {@code 1 + floor(N/hop)} STFT frames
   * (including the never-valid last one), before mel, log, normalisation and padding (docs/nest-numerics.md §1 steps
   * 3–5). Returned as {@code [numBins][frames]} in float64.
   */
  public double[][] linearSpectrogram(float[] audio) {
    int len = audio.length;
    int frames = stftFrames(len);
    Scratch s = scratch.get();
    float[] y = s.signal(len);
    preprocess(audio, len, null, y);
    double[][] out = new double[numBins][frames];
    for (int t = 0; t < frames; t++) {
      frameSpectrum(s, y, len, t, 0, numBins);
      for (int k = 0; k < numBins; k++) {
        out[k][t] = s.power[k];
      }
    }
    return out;
  }

  /** Per-thread buffers and FFT plan. */
  private final class Scratch {
    final DoubleFFT_1D fft = new DoubleFFT_1D(nFft);
    final double[] frame = new double[nFft];
    final double[] power = new double[numBins];
    final double[] mel = new double[numFeatures];
    private float[] signal = new float[0];
    private double[] logMel = new double[0];

    float[] signal(int n) {
      if (signal.length >= n) {
        return signal;
      }
      float[] a = new float[Math.max(n, signal.length + signal.length / 2)];
      if (a.length <= RETAIN_LIMIT) {
        signal = a;
      }
      return a;
    }

    double[] logMel(int n) {
      if (logMel.length >= n) {
        return logMel;
      }
      double[] a = new double[Math.max(n, logMel.length + logMel.length / 2)];
      if (a.length <= RETAIN_LIMIT) {
        logMel = a;
      }
      return a;
    }
  }
}
