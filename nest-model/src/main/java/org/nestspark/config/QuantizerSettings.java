package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code model.quantizer.*}: NeMo's {@code RandomProjectionVectorQuantizer} (docs/nest-numerics.md §5);
 * {@code dist_fn} must be {@code l2} ({@link NestConfigValidator}).
 */
public record QuantizerSettings(
    int featIn, int codeDim, int numBooks, int numClasses, int combineTimeSteps)
    implements Serializable {

  static QuantizerSettings read(Config c) {
    String q = "model.quantizer.";
    return new QuantizerSettings(
        c.getInt(q + "feat_in"),
        c.getInt(q + "code_dim"),
        c.getInt(q + "num_books"),
        c.getInt(q + "num_classes"),
        c.getInt(q + "combine_time_steps"));
  }
}
