package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code model.decoder.*}: NeMo's {@code MultiSoftmaxDecoder} (docs/nest-numerics.md §7); {@link
 * NestConfigValidator} checks that its width and sizes match the encoder's {@code d_model}, {@code
 * model.num_classes} and {@code model.num_books}.
 */
public record DecoderSettings(int featIn, int numClasses, int numDecoders, boolean useBias)
    implements Serializable {

  static DecoderSettings read(Config c) {
    String d = "model.decoder.";
    return new DecoderSettings(
        c.getInt(d + "feat_in"),
        c.getInt(d + "num_classes"),
        c.getInt(d + "num_decoders"),
        c.getBoolean(d + "use_bias"));
  }
}
