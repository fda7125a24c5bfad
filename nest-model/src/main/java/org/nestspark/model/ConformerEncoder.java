package org.nestspark.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.nestspark.config.EncoderSettings;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.subsampling.ConvSubsampling;

/**
 * NeMo's {@code ConformerEncoder} in its FastConformer form (docs/nest-numerics.md §6): {@code pre_encode}
 * ({@link ConvSubsampling}: dw_striding subsampling by {@code subsampling_factor}, xscaling, {@code
 * dropout_pre_encoder}) then {@code n_layers} {@link ConformerLayer}s, as vertices {@value
 * NestGraph#PRE_ENCODE}, {@code layer0} … {@code layer{n−1}} of the NEST graph ({@link NestGraph}, NeMo's
 * {@code EncDecDenoiseMaskedTokenPredModel} without its frozen modules).
 */
public final class ConformerEncoder {
  private final EncoderSettings s;
  private final String kernels;

  /**
   * @param s {@code model.encoder.*}
   * @param kernels {@code model.kernels}: auto, java or nd4j
   */
  public ConformerEncoder(EncoderSettings s, String kernels) {
    this.s = s;
    this.kernels = kernels;
  }

  /** {@code pre_encode}: the subsampling layer's configuration. */
  public ConvSubsampling preEncodeLayer() {
    return new ConvSubsampling.Builder()
        .featIn(s.featIn())
        .dModel(s.dModel())
        .subsamplingFactor(s.subsamplingFactor())
        .convChannels(s.subsamplingConvChannels())
        .xscaling(s.xscaling())
        .dropoutPreEncoder(s.dropoutPreEncoder())
        .inputGradient(false) // first layer: DL4J discards the features' gradient
        .kernels(kernels)
        .build();
  }

  /** The configuration of {@code layers[i]} (all layers are configured alike). */
  public ConformerLayer layer(int i) {
    if (i < 0 || i >= s.nLayers()) {
      throw new IndexOutOfBoundsException("layer " + i + " of " + s.nLayers());
    }
    return new ConformerLayer.Builder()
        .dModel(s.dModel())
        .nHeads(s.nHeads())
        .ffExpansionFactor(s.ffExpansionFactor())
        .convKernelSize(s.convKernelSize())
        .convNormType(s.convNormType())
        .dropout(s.dropout())
        .dropoutAtt(s.dropoutAtt())
        .dropoutEmb(s.dropoutEmb())
        .kernels(kernels)
        .build();
  }

  /** Number of ConformerLayers. */
  public int numLayers() {
    return s.nLayers();
  }

  /**
   * Adds the encoder's vertices after {@code input}.
   *
   * @return the name of the encoder's output vertex ({@code [B, d_model, T']})
   */
  String addTo(ComputationGraphConfiguration.GraphBuilder g, String input) {
    g.addLayer(NestGraph.PRE_ENCODE, preEncodeLayer(), input);
    String last = NestGraph.PRE_ENCODE;
    for (int i = 0; i < s.nLayers(); i++) {
      g.addLayer(NestGraph.layerName(i), layer(i), last);
      last = NestGraph.layerName(i);
    }
    return last;
  }
}
