package org.nestspark.config;

import org.nestspark.data.MinLengthPadding;
import org.nestspark.features.PreprocessorParams;

/** Typed views of sections of a {@link NestConfig}, for the classes that use them. */
public final class ModelConfigs {
  private ModelConfigs() {}

  /** {@code model.preprocessor.*} (docs/nest-numerics.md §1). */
  public static PreprocessorParams preprocessor(NestConfig c) {
    String p = "model.preprocessor.";
    try {
      return PreprocessorParams.builder()
          .sampleRate(c.getInt(p + "sample_rate"))
          .windowSize(c.getDouble(p + "window_size"))
          .windowStride(c.getDouble(p + "window_stride"))
          .nFft(c.getInt(p + "n_fft"))
          .features(c.getInt(p + "features"))
          .lowFreq(c.getDouble(p + "lowfreq"))
          .highFreq(c.isSet(p + "highfreq") ? c.getDouble(p + "highfreq") : null)
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

  /** NeMo's minimum-length padding of a dataset section, e.g. {@code model.train_ds}. */
  public static MinLengthPadding padding(NestConfig c, String dataset) {
    return new MinLengthPadding(
        c.getDouble(dataset + ".min_audio_len_secs"),
        c.getInt(dataset + ".sample_rate"),
        MinLengthPadding.mode(c.getString(dataset + ".pad_audio_mode")));
  }
}
