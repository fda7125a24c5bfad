package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code data.*} as the model's components use it (nest-spark's own section).
 *
 * @param onErrorSkip {@code on_error = skip} (report, count and go on) rather than {@code fail}
 * @param seed shuffling, noise sampling, augmentation, masking, dither and the frozen modules' draws
 * @param downmix average multi-channel audio to mono
 * @param resample resample other rates to {@code model.sample_rate}
 * @param tarBufferBytes per tar shard and executor: members read past and kept for later entries
 */
public record DataSettings(
    boolean onErrorSkip, long seed, boolean downmix, boolean resample, long tarBufferBytes)
    implements Serializable {

  static DataSettings read(Config c) {
    return new DataSettings(
        "skip".equals(c.getString("data.on_error")),
        c.getLong("data.seed"),
        c.getBoolean("data.downmix"),
        c.getBoolean("data.resample"),
        (long) c.getInt("data.tar_buffer_mb") << 20);
  }
}
