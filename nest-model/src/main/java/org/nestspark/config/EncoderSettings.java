package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * {@code model.encoder.*}: NeMo's {@code ConformerEncoder} as FastConformer (docs/nest-numerics.md §6). The
 * settings NeMo has but nest-spark supports in one form only ({@code subsampling}, {@code
 * self_attention_model}, {@code causal_downsampling}, {@code untie_biases}, {@code feat_out}, {@code
 * att_context_size}, {@code stochastic_depth_drop_prob}) are checked by {@link NestConfigValidator} and not
 * carried here.
 */
public record EncoderSettings(
    int featIn,
    int dModel,
    int nHeads,
    int nLayers,
    int ffExpansionFactor,
    int convKernelSize,
    String convNormType,
    int subsamplingFactor,
    int subsamplingConvChannels,
    boolean xscaling,
    double dropout,
    double dropoutPreEncoder,
    double dropoutEmb,
    double dropoutAtt)
    implements Serializable {

  static EncoderSettings read(Config c) {
    String e = "model.encoder.";
    return new EncoderSettings(
        c.getInt(e + "feat_in"),
        c.getInt(e + "d_model"),
        c.getInt(e + "n_heads"),
        c.getInt(e + "n_layers"),
        c.getInt(e + "ff_expansion_factor"),
        c.getInt(e + "conv_kernel_size"),
        c.getString(e + "conv_norm_type"),
        c.getInt(e + "subsampling_factor"),
        c.getInt(e + "subsampling_conv_channels"),
        c.getBoolean(e + "xscaling"),
        c.getDouble(e + "dropout"),
        c.getDouble(e + "dropout_pre_encoder"),
        c.getDouble(e + "dropout_emb"),
        c.getDouble(e + "dropout_att"));
  }
}
