package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/** {@code model.masking.*}: NeMo's {@code RandomBlockMasking} (docs/nest-numerics.md §4). */
public record MaskingSettings(
    int featIn, double maskProb, int blockSize, boolean allowOverlap, double maxMaskRatio)
    implements Serializable {

  static MaskingSettings read(Config c) {
    String m = "model.masking.";
    return new MaskingSettings(
        c.getInt(m + "feat_in"),
        c.getDouble(m + "mask_prob"),
        c.getInt(m + "block_size"),
        c.getBoolean(m + "allow_overlap"),
        c.getDouble(m + "max_mask_ratio"));
  }
}
