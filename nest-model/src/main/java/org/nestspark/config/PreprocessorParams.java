package org.nestspark.config;

import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * The settings of NeMo's {@code AudioToMelSpectrogramPreprocessor} / {@code FilterbankFeatures}
 * (docs/nest-numerics.md §1, "Effective parameters"). Immutable; build with {@link #builder()}, whose defaults are the
 * NEST defaults ({@link #defaults()}). Each setter names the NeMo config key it stands for
 * ({@code model.preprocessor.<key>}); {@link Builder#build()} rejects impossible combinations with an
 * {@link IllegalArgumentException} whose message names that key.
 *
 * <p>Derived values follow NeMo's constructor: {@code win_length = int(window_size · sample_rate)},
 * {@code hop_length = int(window_stride · sample_rate)}, {@code n_fft = n_fft or
 * 2^ceil(log2(win_length))}, {@code highfreq = highfreq or sample_rate / 2}.
 *
 * <p>Not supported (NeMo options NEST never sets): {@code exact_pad: true}, {@code frame_splicing > 1},
 * {@code pad_to: "max"}, {@code nb_augmentation_prob > 0}, {@code stft_conv}, the string guard values
 * {@code "tiny"} / {@code "eps"} and the fixed_mean/fixed_std normalisation.
 */
public final class PreprocessorParams implements java.io.Serializable {
  private static final long serialVersionUID = 1L;

  /** Normalisation types understood by {@link FilterbankFeatures} (NeMo's {@code normalize}). */
  public static final String NORMALIZE_PER_FEATURE = "per_feature";

  /** One mean and std over all features and valid frames of an utterance. */
  public static final String NORMALIZE_ALL_FEATURES = "all_features";

  /** No normalisation ({@code normalize: null} in NeMo). */
  public static final String NORMALIZE_NONE = "none";

  /** Window names of NeMo's {@code torch_windows} map. */
  public static final Set<String> WINDOWS =
      Set.of("hann", "hamming", "blackman", "bartlett", "none");

  private final int sampleRate;
  private final double windowSize;
  private final double windowStride;
  private final int winLength;
  private final int hopLength;
  private final int nFft;
  private final int features;
  private final double lowFreq;
  private final double highFreq;
  private final double preemph;
  private final double dither;
  private final boolean log;
  private final String logZeroGuardType;
  private final double logZeroGuardValue;
  private final String normalize;
  private final int padTo;
  private final double padValue;
  private final double magPower;
  private final String window;
  private final String melNorm;

  private PreprocessorParams(Builder b) {
    this.sampleRate = b.sampleRate;
    this.windowSize = b.windowSize;
    this.windowStride = b.windowStride;
    this.winLength = (int) (b.windowSize * b.sampleRate);
    this.hopLength = (int) (b.windowStride * b.sampleRate);
    this.nFft = b.nFft != null ? b.nFft : nextPow2(winLength);
    this.features = b.features;
    this.lowFreq = b.lowFreq;
    this.highFreq = b.highFreq != null ? b.highFreq : b.sampleRate / 2.0;
    this.preemph = b.preemph != null ? b.preemph : 0.0;
    this.dither = b.dither;
    this.log = b.log;
    this.logZeroGuardType = b.logZeroGuardType;
    this.logZeroGuardValue = b.logZeroGuardValue;
    this.normalize = b.normalize;
    this.padTo = b.padTo;
    this.padValue = b.padValue;
    this.magPower = b.magPower;
    this.window = b.window;
    this.melNorm = b.melNorm;
  }

  private static int nextPow2(int n) {
    int p = 1;
    while (p < n) {
      p <<= 1;
    }
    return p;
  }

  /** NeMo's defaults for NEST (docs/nest-numerics.md §1): the values listed on each {@link Builder} setter. */
  public static PreprocessorParams defaults() {
    return builder().build();
  }

  /** A builder starting from the NEST defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder starting from these settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.sampleRate = sampleRate;
    b.windowSize = windowSize;
    b.windowStride = windowStride;
    b.nFft = nFft;
    b.features = features;
    b.lowFreq = lowFreq;
    b.highFreq = highFreq;
    b.preemph = preemph == 0.0 ? null : preemph;
    b.dither = dither;
    b.log = log;
    b.logZeroGuardType = logZeroGuardType;
    b.logZeroGuardValue = logZeroGuardValue;
    b.normalize = normalize;
    b.padTo = padTo;
    b.padValue = padValue;
    b.magPower = magPower;
    b.window = window;
    b.melNorm = melNorm;
    return b;
  }

  /** {@code sample_rate} (Hz). */
  public int sampleRate() {
    return sampleRate;
  }

  /** {@code window_size} (seconds). */
  public double windowSize() {
    return windowSize;
  }

  /** {@code window_stride} (seconds). */
  public double windowStride() {
    return windowStride;
  }

  /** Window length in samples, {@code int(window_size · sample_rate)} (400). */
  public int winLength() {
    return winLength;
  }

  /** Hop in samples, {@code int(window_stride · sample_rate)} (160). */
  public int hopLength() {
    return hopLength;
  }

  /** {@code n_fft} (512). */
  public int nFft() {
    return nFft;
  }

  /** Number of one-sided FFT bins, {@code n_fft / 2 + 1} (257). */
  public int numBins() {
    return nFft / 2 + 1;
  }

  /** {@code features}: number of mel filters (80). */
  public int features() {
    return features;
  }

  /** {@code lowfreq} (Hz). */
  public double lowFreq() {
    return lowFreq;
  }

  /** {@code highfreq} (Hz), {@code sample_rate / 2} when not set. */
  public double highFreq() {
    return highFreq;
  }

  /** {@code preemph}; 0 means none. */
  public double preemph() {
    return preemph;
  }

  /** {@code dither}: standard deviation of the Gaussian noise added in training mode only. */
  public double dither() {
    return dither;
  }

  /** {@code log}. */
  public boolean log() {
    return log;
  }

  /** {@code log_zero_guard_type}: "add" or "clamp". */
  public String logZeroGuardType() {
    return logZeroGuardType;
  }

  /** {@code log_zero_guard_value} (2^-24). */
  public double logZeroGuardValue() {
    return logZeroGuardValue;
  }

  /** {@code normalize}: {@link #NORMALIZE_PER_FEATURE}, {@link #NORMALIZE_ALL_FEATURES} or {@link #NORMALIZE_NONE}. */
  public String normalize() {
    return normalize;
  }

  /** {@code pad_to}: the time axis is right-padded to a multiple of this; 0 means no padding. */
  public int padTo() {
    return padTo;
  }

  /** {@code pad_value}: value of masked and padded frames. */
  public double padValue() {
    return padValue;
  }

  /** {@code mag_power}. */
  public double magPower() {
    return magPower;
  }

  /** {@code window}: one of {@link #WINDOWS}. */
  public String window() {
    return window;
  }

  /** {@code mel_norm}: "slaney" or "none". */
  public String melNorm() {
    return melNorm;
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof PreprocessorParams)) {
      return false;
    }
    PreprocessorParams p = (PreprocessorParams) o;
    return sampleRate == p.sampleRate
        && Double.compare(windowSize, p.windowSize) == 0
        && Double.compare(windowStride, p.windowStride) == 0
        && nFft == p.nFft
        && features == p.features
        && Double.compare(lowFreq, p.lowFreq) == 0
        && Double.compare(highFreq, p.highFreq) == 0
        && Double.compare(preemph, p.preemph) == 0
        && Double.compare(dither, p.dither) == 0
        && log == p.log
        && logZeroGuardType.equals(p.logZeroGuardType)
        && Double.compare(logZeroGuardValue, p.logZeroGuardValue) == 0
        && normalize.equals(p.normalize)
        && padTo == p.padTo
        && Double.compare(padValue, p.padValue) == 0
        && Double.compare(magPower, p.magPower) == 0
        && window.equals(p.window)
        && melNorm.equals(p.melNorm);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
        sampleRate,
        windowSize,
        windowStride,
        nFft,
        features,
        lowFreq,
        highFreq,
        preemph,
        dither,
        log,
        logZeroGuardType,
        logZeroGuardValue,
        normalize,
        padTo,
        padValue,
        magPower,
        window,
        melNorm);
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "PreprocessorParams{sample_rate=%d, window_size=%s, window_stride=%s, n_fft=%d, features=%d,"
            + " lowfreq=%s, highfreq=%s, preemph=%s, dither=%s, log=%s, log_zero_guard_type=%s,"
            + " log_zero_guard_value=%s, normalize=%s, pad_to=%d, pad_value=%s, mag_power=%s,"
            + " window=%s, mel_norm=%s}",
        sampleRate,
        windowSize,
        windowStride,
        nFft,
        features,
        lowFreq,
        highFreq,
        preemph,
        dither,
        log,
        logZeroGuardType,
        logZeroGuardValue,
        normalize,
        padTo,
        padValue,
        magPower,
        window,
        melNorm);
  }

  /** Builder with NeMo's NEST defaults. Not thread-safe. */
  public static final class Builder {
    private int sampleRate = 16000;
    private double windowSize = 0.025;
    private double windowStride = 0.01;
    private Integer nFft = 512;
    private int features = 80;
    private double lowFreq = 0.0;
    private Double highFreq = null;
    private Double preemph = 0.97;
    private double dither = 1e-5;
    private boolean log = true;
    private String logZeroGuardType = "add";
    private double logZeroGuardValue = Math.pow(2, -24);
    private String normalize = NORMALIZE_PER_FEATURE;
    private int padTo = 16;
    private double padValue = 0.0;
    private double magPower = 2.0;
    private String window = "hann";
    private String melNorm = "slaney";

    private Builder() {}

    /** {@code model.preprocessor.sample_rate}, default 16000. */
    public Builder sampleRate(int v) {
      this.sampleRate = v;
      return this;
    }

    /** {@code model.preprocessor.window_size} in seconds, default 0.025. */
    public Builder windowSize(double v) {
      this.windowSize = v;
      return this;
    }

    /** {@code model.preprocessor.window_stride} in seconds, default 0.01. */
    public Builder windowStride(double v) {
      this.windowStride = v;
      return this;
    }

    /** {@code model.preprocessor.n_fft}, default 512; null means the next power of 2 ≥ win_length. */
    public Builder nFft(Integer v) {
      this.nFft = v;
      return this;
    }

    /** {@code model.preprocessor.features} (mel filters), default 80. */
    public Builder features(int v) {
      this.features = v;
      return this;
    }

    /** {@code model.preprocessor.lowfreq} in Hz, default 0. */
    public Builder lowFreq(double v) {
      this.lowFreq = v;
      return this;
    }

    /** {@code model.preprocessor.highfreq} in Hz, default null, meaning sample_rate / 2. */
    public Builder highFreq(Double v) {
      this.highFreq = v;
      return this;
    }

    /** {@code model.preprocessor.preemph}, default 0.97; null or 0 means none. */
    public Builder preemph(Double v) {
      this.preemph = v;
      return this;
    }

    /** {@code model.preprocessor.dither}, default 1e-5 (applied in training mode only). */
    public Builder dither(double v) {
      this.dither = v;
      return this;
    }

    /** {@code model.preprocessor.log}, default true. */
    public Builder log(boolean v) {
      this.log = v;
      return this;
    }

    /** {@code model.preprocessor.log_zero_guard_type}: "add" (default) or "clamp". */
    public Builder logZeroGuardType(String v) {
      this.logZeroGuardType = v;
      return this;
    }

    /** {@code model.preprocessor.log_zero_guard_value}, default 2^-24. */
    public Builder logZeroGuardValue(double v) {
      this.logZeroGuardValue = v;
      return this;
    }

    /**
     * {@code model.preprocessor.normalize}: "per_feature" (default), "all_features", or "none" / null /
     * "null" for none.
     */
    public Builder normalize(String v) {
      this.normalize = v == null || v.equals("null") ? NORMALIZE_NONE : v;
      return this;
    }

    /** {@code model.preprocessor.pad_to}, default 16; 0 means no padding. */
    public Builder padTo(int v) {
      this.padTo = v;
      return this;
    }

    /** {@code model.preprocessor.pad_value}, default 0. */
    public Builder padValue(double v) {
      this.padValue = v;
      return this;
    }

    /** {@code model.preprocessor.mag_power}, default 2.0. */
    public Builder magPower(double v) {
      this.magPower = v;
      return this;
    }

    /** {@code model.preprocessor.window}: hann (default), hamming, blackman, bartlett or none. */
    public Builder window(String v) {
      this.window = v;
      return this;
    }

    /** {@code model.preprocessor.mel_norm}: "slaney" (default) or "none" / null. */
    public Builder melNorm(String v) {
      this.melNorm = v == null || v.equals("null") ? "none" : v;
      return this;
    }

    /**
     * Validates and builds.
     *
     * @throws IllegalArgumentException naming the offending {@code model.preprocessor.*} key
     */
    public PreprocessorParams build() {
      require(sampleRate > 0, "sample_rate", "must be > 0, got " + sampleRate);
      require(
          windowSize > 0 && Double.isFinite(windowSize),
          "window_size",
          "must be > 0, got " + windowSize);
      require(
          windowStride > 0 && Double.isFinite(windowStride),
          "window_stride",
          "must be > 0, got " + windowStride);
      int winLength = (int) (windowSize * sampleRate);
      int hopLength = (int) (windowStride * sampleRate);
      require(
          winLength >= 1,
          "window_size",
          "gives a window of " + winLength + " samples at sample_rate " + sampleRate);
      require(
          hopLength >= 1,
          "window_stride",
          "gives a hop of " + hopLength + " samples at sample_rate " + sampleRate);
      if (nFft != null) {
        require(nFft >= 2, "n_fft", "must be >= 2, got " + nFft);
        require(
            nFft >= winLength,
            "n_fft",
            "("
                + nFft
                + ") must be >= the window length int(window_size*sample_rate) = "
                + winLength);
      }
      require(features >= 1, "features", "must be >= 1, got " + features);
      require(lowFreq >= 0 && Double.isFinite(lowFreq), "lowfreq", "must be >= 0, got " + lowFreq);
      double hf = highFreq != null ? highFreq : sampleRate / 2.0;
      require(
          Double.isFinite(hf) && hf > lowFreq,
          "highfreq",
          "(" + hf + ") must be greater than lowfreq (" + lowFreq + ")");
      require(
          preemph == null || Double.isFinite(preemph), "preemph", "must be finite, got " + preemph);
      require(dither >= 0 && Double.isFinite(dither), "dither", "must be >= 0, got " + dither);
      require(
          "add".equals(logZeroGuardType) || "clamp".equals(logZeroGuardType),
          "log_zero_guard_type",
          "must be \"add\" or \"clamp\", got " + logZeroGuardType);
      require(
          logZeroGuardValue > 0 && Double.isFinite(logZeroGuardValue),
          "log_zero_guard_value",
          "must be a number > 0, got " + logZeroGuardValue);
      require(
          NORMALIZE_PER_FEATURE.equals(normalize)
              || NORMALIZE_ALL_FEATURES.equals(normalize)
              || NORMALIZE_NONE.equals(normalize),
          "normalize",
          "must be per_feature, all_features or none, got " + normalize);
      require(padTo >= 0, "pad_to", "must be >= 0 (\"max\" is not supported), got " + padTo);
      require(Double.isFinite(padValue), "pad_value", "must be finite, got " + padValue);
      require(
          magPower > 0 && Double.isFinite(magPower), "mag_power", "must be > 0, got " + magPower);
      require(
          window != null && WINDOWS.contains(window),
          "window",
          "must be one of " + WINDOWS + ", got " + window);
      require(
          "slaney".equals(melNorm) || "none".equals(melNorm),
          "mel_norm",
          "must be \"slaney\" or null, got " + melNorm);
      return new PreprocessorParams(this);
    }

    private static void require(boolean ok, String key, String message) {
      if (!ok) {
        throw new IllegalArgumentException("model.preprocessor." + key + " " + message);
      }
    }
  }

  /** {@code model.preprocessor.*} (docs/nest-numerics.md §1). */
  static PreprocessorParams read(com.typesafe.config.Config c) {
    String p = "model.preprocessor.";
    try {
      return builder()
          .sampleRate(c.getInt(p + "sample_rate"))
          .windowSize(c.getDouble(p + "window_size"))
          .windowStride(c.getDouble(p + "window_stride"))
          .nFft(c.getInt(p + "n_fft"))
          .features(c.getInt(p + "features"))
          .lowFreq(c.getDouble(p + "lowfreq"))
          .highFreq(c.hasPath(p + "highfreq") ? c.getDouble(p + "highfreq") : null)
          .preemph(c.getDouble(p + "preemph"))
          .dither(c.getDouble(p + "dither"))
          .log(c.getBoolean(p + "log"))
          .logZeroGuardType(c.getString(p + "log_zero_guard_type"))
          .logZeroGuardValue(c.getDouble(p + "log_zero_guard_value"))
          .normalize(c.getString(p + "normalize"))
          .padTo(c.getInt(p + "pad_to"))
          .padValue(c.getDouble(p + "pad_value"))
          .magPower(c.getDouble(p + "mag_power"))
          .window(c.getString(p + "window"))
          .build();
    } catch (IllegalArgumentException e) {
      throw new NestConfigException(e.getMessage());
    }
  }
}
