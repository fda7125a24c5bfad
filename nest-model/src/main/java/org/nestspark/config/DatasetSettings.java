package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * What the batch builder takes from a dataset section, {@code model.train_ds} or {@code
 * model.validation_ds} (NeMo's {@code AudioNoiseDataset}, docs/nest-numerics.md §2-§3): the load rate,
 * NeMo's minimum-length padding and the batch augmentor.
 *
 * @param section the section's key, e.g. {@code model.train_ds}
 * @param padAudioMode {@code repeat} (NeMo) or {@code zero}
 */
public record DatasetSettings(
    String section,
    int sampleRate,
    double minAudioLenSecs,
    String padAudioMode,
    AugmentorSettings augmentor)
    implements Serializable {

  static DatasetSettings read(Config c, String section) {
    String s = section + ".";
    return new DatasetSettings(
        section,
        c.getInt(s + "sample_rate"),
        c.getDouble(s + "min_audio_len_secs"),
        c.getString(s + "pad_audio_mode"),
        AugmentorSettings.read(c, s + "batch_augmentor"));
  }
}
