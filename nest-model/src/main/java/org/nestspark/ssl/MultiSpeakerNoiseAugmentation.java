package org.nestspark.ssl;

import java.io.Serializable;
import java.util.Locale;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nestspark.config.AugmentorSettings;
import org.nestspark.data.AudioNoiseBatch;

/**
 * NeMo's batch augmentor {@code MultiSpeakerNoiseAugmentation} (docs/nest-numerics.md §3): builds the <em>noisy</em> audio of
 * NEST's denoising objective from a collated batch (clean audio zero-padded to the batch width W, its
 * lengths, the per-utterance noise from {@code NoiseSampler} padded or cut to W, and the noise lengths).
 *
 * <p>Per row i (length {@code L_i}), in NeMo's order of random draws:
 * <ol>
 *   <li>{@code u ~ U[0,1)}; {@code u > prob} → the row is skipped (see below).</li>
 *   <li>{@code mix_rate = U(min, max)} if {@code min < max}, else {@code min_mix_rate};
 *       {@code mix_len = max(1, int(L_i · mix_rate))} (the product in float32, as PyTorch computes a length
 *       tensor times a Python float).</li>
 *   <li>{@code num_segments ~ U{min … max}}, {@code num_speakers = min(U{min … max}, B)}; the segment lengths
 *       are a multinomial split of mix_len into equally likely segments.</li>
 *   <li>Mode: {@code U[0,1) < noise_ratio} or B = 1 → noise, {@code r ~ U(min_r_noise, max_r_noise)};
 *       else speech, {@code r ~ U(min_r_speech, max_r_speech)} (dB).</li>
 *   <li>Sources. Noise: the row's noise {@code [0, noise_len)} tiled to W; segment k is the next seg_len_k
 *       samples from index 0. Speech: {@code min(num_speakers, B−1)} other rows in random order; per segment,
 *       the candidate's audio {@code [0, L_c)} tiled to seg_len if shorter, else a slice starting at
 *       {@code U{0 … L_c − seg_len − 1}} (0 if equal); then the next candidate, or a random one once all were
 *       used.</li>
 *   <li>Placement into zeros(W): {@code min_start = 0}, {@code max_start = L_i − mix_len}; segment k starts
 *       at min_start if {@code min_start ≥ max_start}, else at {@code U{min_start … max_start − 1}}; then
 *       {@code min_start = start + seg_len_k}, {@code max_start += seg_len_k}.</li>
 *   <li>{@code E_a = Σ_{t<L_i} a² / L_i}, {@code E_n = Σ_{t<L_i} n² / L_i};
 *       {@code scale = sqrt(E_a / (10^(r/10)·E_n))} if {@code E_n > 0} else 0. So
 *       {@code 10·log10(E_a / E_scaled noise over L_i) = r} exactly (energies in float64 here, float32 in NeMo).</li>
 *   <li>{@code noise_i = scale · n_i}, {@code noisy_i = audio_i + noise_i}, {@code noisy_len_i = L_i}.</li>
 * </ol>
 *
 * <p><b>Skipped rows</b> ({@link SkippedRows}, {@code batch_augmentor.skipped_rows}): {@link SkippedRows#CLEAN}
 * (default, the likely intent): {@code noisy = audio}, {@code noisy_len = L_i}. {@link SkippedRows#RAW_NOISE}
 * (NeMo's behaviour, <b>[quirk]</b> docs/nest-numerics.md §14.1): {@code noisy = audio + raw dataset noise},
 * {@code noisy_len = raw noise_len} (which is shorter than L_i when the noise file was shorter). Both switch
 * settings consume the random stream identically.
 *
 * <p><b>Deviations</b> (only where NeMo crashes): a noise row with {@code noise_len = 0} in noise mode and a
 * speech candidate with {@code L_c = 0} divide by zero in NeMo; here they contribute silence (scale 0).
 * NeMo uses numpy's global stream; here one {@link SplittableRandom} per batch, rows in order, so the result
 * is a function of (seed, batch).
 */
public final class MultiSpeakerNoiseAugmentation implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What happens to rows the augmentor does not select. */
  public enum SkippedRows {
    /** noisy = audio, noisy_len = audio_len (the likely intent; default). */
    CLEAN,
    /** noisy = audio + raw noise, noisy_len = raw noise length (NeMo's actual behaviour, docs/nest-numerics.md §14.1). */
    RAW_NOISE;

    /** {@code clean} or {@code raw_noise} (the config values). */
    public static SkippedRows parse(String s) {
      switch (s.toLowerCase(Locale.ROOT)) {
        case "clean":
          return CLEAN;
        case "raw_noise":
          return RAW_NOISE;
        default:
          throw new IllegalArgumentException(
              "skipped_rows: '" + s + "' is not supported; expected clean or raw_noise");
      }
    }
  }

  /** How a row was treated. */
  public enum Mode {
    SKIPPED,
    NOISE,
    SPEECH
  }

  private final double prob;
  private final double noiseRatio;
  private final double minRSpeech;
  private final double maxRSpeech;
  private final double minRNoise;
  private final double maxRNoise;
  private final double minMixRate;
  private final double maxMixRate;
  private final int minNumSegments;
  private final int maxNumSegments;
  private final int minNumSpeakers;
  private final int maxNumSpeakers;
  private final SkippedRows skippedRows;

  private MultiSpeakerNoiseAugmentation(Builder b) {
    check(b.prob >= 0 && b.prob <= 1, "prob must be in [0, 1], got " + b.prob);
    check(
        b.noiseRatio >= 0 && b.noiseRatio <= 1,
        "noise_ratio must be in [0, 1], got " + b.noiseRatio);
    check(
        b.minRSpeech <= b.maxRSpeech,
        "min_r_speech " + b.minRSpeech + " > max_r_speech " + b.maxRSpeech);
    check(
        b.minRNoise <= b.maxRNoise, "min_r_noise " + b.minRNoise + " > max_r_noise " + b.maxRNoise);
    check(
        0 <= b.minMixRate && b.minMixRate <= b.maxMixRate && b.maxMixRate <= 1,
        "need 0 <= min_mix_rate <= max_mix_rate <= 1, got " + b.minMixRate + ", " + b.maxMixRate);
    check(
        1 <= b.minNumSegments && b.minNumSegments <= b.maxNumSegments,
        "need 1 <= min_num_segments <= max_num_segments, got "
            + b.minNumSegments
            + ", "
            + b.maxNumSegments);
    check(
        1 <= b.minNumSpeakers && b.minNumSpeakers <= b.maxNumSpeakers,
        "need 1 <= min_num_speakers <= max_num_speakers, got "
            + b.minNumSpeakers
            + ", "
            + b.maxNumSpeakers);
    this.prob = b.prob;
    this.noiseRatio = b.noiseRatio;
    this.minRSpeech = b.minRSpeech;
    this.maxRSpeech = b.maxRSpeech;
    this.minRNoise = b.minRNoise;
    this.maxRNoise = b.maxRNoise;
    this.minMixRate = b.minMixRate;
    this.maxMixRate = b.maxMixRate;
    this.minNumSegments = b.minNumSegments;
    this.maxNumSegments = b.maxNumSegments;
    this.minNumSpeakers = b.minNumSpeakers;
    this.maxNumSpeakers = b.maxNumSpeakers;
    this.skippedRows = Objects.requireNonNull(b.skippedRows, "skippedRows");
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** A builder preset to NEST's configuration (prob 0.5, noise_ratio 0.5, …, skipped rows CLEAN). */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * From the keys under {@code section}, e.g. {@code model.train_ds.batch_augmentor} or
   * {@code model.validation_ds.batch_augmentor}: prob, noise_ratio, min/max_r_speech, min/max_r_noise,
   * min/max_mix_rate, min/max_num_segments, min/max_num_speakers, skipped_rows.
   */
  public static MultiSpeakerNoiseAugmentation of(AugmentorSettings s) {
    return builder()
        .prob(s.prob())
        .noiseRatio(s.noiseRatio())
        .rSpeech(s.minRSpeech(), s.maxRSpeech())
        .rNoise(s.minRNoise(), s.maxRNoise())
        .mixRate(s.minMixRate(), s.maxMixRate())
        .numSegments(s.minNumSegments(), s.maxNumSegments())
        .numSpeakers(s.minNumSpeakers(), s.maxNumSpeakers())
        .skippedRows(SkippedRows.parse(s.skippedRows()))
        .build();
  }

  public SkippedRows skippedRows() {
    return skippedRows;
  }

  /** Augments a collated batch. */
  public Result apply(AudioNoiseBatch batch, SplittableRandom rng) {
    return apply(batch.audio(), batch.audioLen(), batch.noise(), batch.noiseLen(), rng);
  }

  /** {@link #apply(float[][], int[], float[][], int[], SplittableRandom)} with {@code new SplittableRandom(seed)}. */
  public Result apply(float[][] audio, int[] audioLen, float[][] noise, int[] noiseLen, long seed) {
    return apply(audio, audioLen, noise, noiseLen, new SplittableRandom(seed));
  }

  /**
   * Augments a collated batch. Inputs are not modified.
   *
   * @param audio B rows of equal width W (clean audio, zero-padded)
   * @param audioLen valid samples per row, {@code 0 ≤ L_i ≤ W}
   * @param noise B rows of sampled noise; rows are zero-padded or cut to W as NeMo's collate does
   * @param noiseLen NeMo's noise lengths
   */
  public Result apply(
      float[][] audio, int[] audioLen, float[][] noise, int[] noiseLen, SplittableRandom rng) {
    Objects.requireNonNull(audio, "audio");
    Objects.requireNonNull(audioLen, "audioLen");
    Objects.requireNonNull(noise, "noise");
    Objects.requireNonNull(noiseLen, "noiseLen");
    Objects.requireNonNull(rng, "rng");
    int batch = audio.length;
    if (audioLen.length != batch || noise.length != batch || noiseLen.length != batch) {
      throw new IllegalArgumentException(
          "audio, audioLen, noise and noiseLen must have one entry per row (" + batch + ")");
    }
    int width = batch == 0 ? 0 : audio[0].length;
    for (int i = 0; i < batch; i++) {
      if (audio[i].length != width) {
        throw new IllegalArgumentException(
            "audio row " + i + " has width " + audio[i].length + ", row 0 " + width);
      }
      if (audioLen[i] < 0 || audioLen[i] > width) {
        throw new IllegalArgumentException(
            "audio length " + audioLen[i] + " of row " + i + " is outside [0, " + width + "]");
      }
      if (noiseLen[i] < 0) {
        throw new IllegalArgumentException(
            "noise length " + noiseLen[i] + " of row " + i + " is negative");
      }
    }
    float[][] outNoise = new float[batch][];
    int[] outLen = new int[batch];
    Mode[] modes = new Mode[batch];
    double[] ratio = new double[batch];
    int[] mixLens = new int[batch];
    for (int i = 0; i < batch; i++) {
      int len = audioLen[i];
      float[] raw = fit(noise[i], width);
      if (rng.nextDouble() > prob) {
        modes[i] = Mode.SKIPPED;
        ratio[i] = Double.NaN;
        if (skippedRows == SkippedRows.RAW_NOISE) {
          outNoise[i] = raw;
          outLen[i] = noiseLen[i];
        } else {
          outNoise[i] = new float[width];
          outLen[i] = len;
        }
        continue;
      }
      double mixRate = minMixRate < maxMixRate ? uniform(rng, minMixRate, maxMixRate) : minMixRate;
      int mixLen = Math.max(1, (int) ((float) len * (float) mixRate));
      int numSegments = randint(rng, minNumSegments, maxNumSegments);
      int numSpeakers = Math.min(randint(rng, minNumSpeakers, maxNumSpeakers), batch);
      int[] segLens = multinomial(mixLen, numSegments, rng);
      boolean noiseMode = rng.nextDouble() < noiseRatio || batch == 1;
      double r =
          noiseMode ? uniform(rng, minRNoise, maxRNoise) : uniform(rng, minRSpeech, maxRSpeech);
      float[][] segments =
          noiseMode
              ? noiseSegments(raw, Math.min(noiseLen[i], width), width, segLens)
              : speechSegments(i, audio, audioLen, segLens, numSpeakers, rng);
      float[] n = new float[width];
      int minStart = 0;
      int maxStart = len - mixLen;
      for (int k = 0; k < segLens.length; k++) {
        int start = minStart;
        if (minStart < maxStart) {
          start = minStart + rng.nextInt(maxStart - minStart);
        }
        System.arraycopy(segments[k], 0, n, start, segLens[k]);
        minStart = start + segLens[k];
        maxStart += segLens[k];
      }
      double ea = 0;
      double en = 0;
      for (int t = 0; t < len; t++) {
        ea += (double) audio[i][t] * audio[i][t];
        en += (double) n[t] * n[t];
      }
      ea /= len;
      en /= len;
      double scale = en > 0 ? Math.sqrt(ea / (StrictMath.pow(10, r / 10) * en)) : 0.0;
      for (int t = 0; t < width; t++) {
        n[t] = (float) (scale * n[t]);
      }
      outNoise[i] = n;
      outLen[i] = len;
      modes[i] = noiseMode ? Mode.NOISE : Mode.SPEECH;
      ratio[i] = r;
      mixLens[i] = mixLen;
    }
    float[][] noisy = new float[batch][width];
    for (int i = 0; i < batch; i++) {
      for (int t = 0; t < width; t++) {
        noisy[i][t] = audio[i][t] + outNoise[i][t];
      }
    }
    return new Result(noisy, outLen, outNoise, modes, ratio, mixLens);
  }

  /** The noise row zero-padded or cut to the batch width (NeMo's collate). */
  private static float[] fit(float[] row, int width) {
    return java.util.Arrays.copyOf(Objects.requireNonNull(row, "noise row"), width);
  }

  /** Noise mode: the row's noise [0, noiseLen) tiled to W, consecutive segments from index 0. */
  private static float[][] noiseSegments(float[] raw, int noiseLen, int width, int[] segLens) {
    float[] tiled = tile(raw, noiseLen, width);
    float[][] out = new float[segLens.length][];
    int pos = 0;
    for (int k = 0; k < segLens.length; k++) {
      out[k] = java.util.Arrays.copyOfRange(tiled, pos, pos + segLens[k]);
      pos += segLens[k];
    }
    return out;
  }

  /** Speech mode: slices of other rows' audio. */
  private static float[][] speechSegments(
      int row,
      float[][] audio,
      int[] audioLen,
      int[] segLens,
      int numSpeakers,
      SplittableRandom rng) {
    int batch = audio.length;
    int[] others = new int[batch - 1];
    for (int j = 0, k = 0; j < batch; j++) {
      if (j != row) {
        others[k++] = j;
      }
    }
    int[] prefix =
        RandomBlockMasking.permutationPrefix(others.length, Math.min(numSpeakers, batch - 1), rng);
    int[] candidates = new int[prefix.length];
    for (int k = 0; k < prefix.length; k++) {
      candidates[k] = others[prefix[k]];
    }
    float[][] out = new float[segLens.length][];
    int sid = 0;
    for (int k = 0; k < segLens.length; k++) {
      int c = candidates[sid];
      int segLen = segLens[k];
      int lc = audioLen[c];
      if (segLen > lc) {
        out[k] = tile(audio[c], lc, segLen);
      } else {
        int start = lc > segLen ? rng.nextInt(lc - segLen) : 0;
        out[k] = java.util.Arrays.copyOfRange(audio[c], start, start + segLen);
      }
      sid++;
      if (sid >= candidates.length) {
        sid = rng.nextInt(candidates.length);
      }
    }
    return out;
  }

  /** {@code x[0:len]} repeated and cut to {@code n} samples; zeros when len is 0 (NeMo divides by zero). */
  private static float[] tile(float[] x, int len, int n) {
    float[] out = new float[n];
    if (len <= 0) {
      return out;
    }
    for (int pos = 0; pos < n; pos += len) {
      System.arraycopy(x, 0, out, pos, Math.min(len, n - pos));
    }
    return out;
  }

  /** Multinomial(total; 1/n, …, 1/n) as sequential binomials; {@code [total]} for n = 1. */
  private static int[] multinomial(int total, int n, SplittableRandom rng) {
    int[] out = new int[n];
    int left = total;
    for (int k = 0; k < n - 1; k++) {
      out[k] = RandomBlockMasking.binomial(left, 1.0 / (n - k), rng);
      left -= out[k];
    }
    out[n - 1] = left;
    return out;
  }

  /** {@code np.random.uniform(a, b)}: a + (b − a)·U[0, 1). */
  private static double uniform(SplittableRandom rng, double a, double b) {
    return a + (b - a) * rng.nextDouble();
  }

  /** Inclusive on both ends. */
  private static int randint(SplittableRandom rng, int a, int b) {
    return a + rng.nextInt(b - a + 1);
  }

  /** The augmented batch. Arrays are returned without copying. */
  public static final class Result {
    private final float[][] noisyAudio;
    private final int[] noisyLen;
    private final float[][] noise;
    private final Mode[] modes;
    private final double[] ratioDb;
    private final int[] mixLen;

    Result(
        float[][] noisyAudio,
        int[] noisyLen,
        float[][] noise,
        Mode[] modes,
        double[] ratioDb,
        int[] mixLen) {
      this.noisyAudio = noisyAudio;
      this.noisyLen = noisyLen;
      this.noise = noise;
      this.modes = modes;
      this.ratioDb = ratioDb;
      this.mixLen = mixLen;
    }

    /** {@code audio + noise}, B rows of width W. */
    public float[][] noisyAudio() {
      return noisyAudio;
    }

    /** NeMo's {@code noisy_audio_len}. */
    public int[] noisyLen() {
      return noisyLen;
    }

    /** The noise added per row: scaled mix for augmented rows, raw noise or zeros for skipped rows. */
    public float[][] noise() {
      return noise;
    }

    public Mode mode(int i) {
      return modes[i];
    }

    /** The drawn ratio r in dB (NaN for skipped rows). */
    public double ratioDb(int i) {
      return ratioDb[i];
    }

    /** The mixed span's length (0 for skipped rows). */
    public int mixLen(int i) {
      return mixLen[i];
    }
  }

  /** Settings, preset to NEST's configuration. */
  public static final class Builder {
    private double prob = 0.5;
    private double noiseRatio = 0.5;
    private double minRSpeech = -5.0;
    private double maxRSpeech = 5.0;
    private double minRNoise = -5.0;
    private double maxRNoise = 20.0;
    private double minMixRate = 0.5;
    private double maxMixRate = 0.5;
    private int minNumSegments = 1;
    private int maxNumSegments = 1;
    private int minNumSpeakers = 1;
    private int maxNumSpeakers = 1;
    private SkippedRows skippedRows = SkippedRows.CLEAN;

    private Builder() {}

    public Builder prob(double v) {
      prob = v;
      return this;
    }

    public Builder noiseRatio(double v) {
      noiseRatio = v;
      return this;
    }

    public Builder rSpeech(double min, double max) {
      minRSpeech = min;
      maxRSpeech = max;
      return this;
    }

    public Builder rNoise(double min, double max) {
      minRNoise = min;
      maxRNoise = max;
      return this;
    }

    public Builder mixRate(double min, double max) {
      minMixRate = min;
      maxMixRate = max;
      return this;
    }

    public Builder numSegments(int min, int max) {
      minNumSegments = min;
      maxNumSegments = max;
      return this;
    }

    public Builder numSpeakers(int min, int max) {
      minNumSpeakers = min;
      maxNumSpeakers = max;
      return this;
    }

    public Builder skippedRows(SkippedRows v) {
      skippedRows = v;
      return this;
    }

    public MultiSpeakerNoiseAugmentation build() {
      return new MultiSpeakerNoiseAugmentation(this);
    }
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "MultiSpeakerNoiseAugmentation(prob %s, noise_ratio %s, r_speech [%s, %s], r_noise [%s, %s], mix_rate [%s, %s],"
            + " segments %d..%d, speakers %d..%d, skipped rows %s)",
        prob,
        noiseRatio,
        minRSpeech,
        maxRSpeech,
        minRNoise,
        maxRNoise,
        minMixRate,
        maxMixRate,
        minNumSegments,
        maxNumSegments,
        minNumSpeakers,
        maxNumSpeakers,
        skippedRows);
  }
}
