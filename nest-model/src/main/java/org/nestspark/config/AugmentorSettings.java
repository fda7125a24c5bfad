package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code model.train_ds.batch_augmentor.*} or {@code model.validation_ds.batch_augmentor.*}: NeMo's {@code
 * MultiSpeakerNoiseAugmentation} (docs/nest-numerics.md §3). {@code skippedRows} is {@code clean} or {@code
 * raw_noise}.
 */
public record AugmentorSettings(
    double prob,
    double noiseRatio,
    double minRSpeech,
    double maxRSpeech,
    double minRNoise,
    double maxRNoise,
    double minMixRate,
    double maxMixRate,
    int minNumSegments,
    int maxNumSegments,
    int minNumSpeakers,
    int maxNumSpeakers,
    String skippedRows)
    implements Serializable {

  /**
   * @param section {@code model.train_ds.batch_augmentor} or {@code model.validation_ds.batch_augmentor}
   */
  static AugmentorSettings read(Config c, String section) {
    String s = section + ".";
    return new AugmentorSettings(
        c.getDouble(s + "prob"),
        c.getDouble(s + "noise_ratio"),
        c.getDouble(s + "min_r_speech"),
        c.getDouble(s + "max_r_speech"),
        c.getDouble(s + "min_r_noise"),
        c.getDouble(s + "max_r_noise"),
        c.getDouble(s + "min_mix_rate"),
        c.getDouble(s + "max_mix_rate"),
        c.getInt(s + "min_num_segments"),
        c.getInt(s + "max_num_segments"),
        c.getInt(s + "min_num_speakers"),
        c.getInt(s + "max_num_speakers"),
        c.getString(s + "skipped_rows"));
  }
}
