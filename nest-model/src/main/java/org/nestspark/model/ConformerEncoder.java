package org.nestspark.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
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
  private final int featIn;
  private final int dModel;
  private final int nHeads;
  private final int nLayers;
  private final int ffExpansionFactor;
  private final int convKernelSize;
  private final String convNormType;
  private final int subsamplingFactor;
  private final int subsamplingConvChannels;
  private final boolean xscaling;
  private final double dropout;
  private final double dropoutPreEncoder;
  private final double dropoutEmb;
  private final double dropoutAtt;
  private final String kernels;

  ConformerEncoder(
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
      double dropoutAtt,
      String kernels) {
    this.featIn = featIn;
    this.dModel = dModel;
    this.nHeads = nHeads;
    this.nLayers = nLayers;
    this.ffExpansionFactor = ffExpansionFactor;
    this.convKernelSize = convKernelSize;
    this.convNormType = convNormType;
    this.subsamplingFactor = subsamplingFactor;
    this.subsamplingConvChannels = subsamplingConvChannels;
    this.xscaling = xscaling;
    this.dropout = dropout;
    this.dropoutPreEncoder = dropoutPreEncoder;
    this.dropoutEmb = dropoutEmb;
    this.dropoutAtt = dropoutAtt;
    this.kernels = kernels;
  }

  /** {@code pre_encode}: the subsampling layer's configuration. */
  public ConvSubsampling preEncodeLayer() {
    return new ConvSubsampling.Builder()
        .featIn(featIn)
        .dModel(dModel)
        .subsamplingFactor(subsamplingFactor)
        .convChannels(subsamplingConvChannels)
        .xscaling(xscaling)
        .dropoutPreEncoder(dropoutPreEncoder)
        .inputGradient(false) // first layer: DL4J discards the features' gradient
        .kernels(kernels)
        .build();
  }

  /** The configuration of {@code layers[i]} (all layers are configured alike). */
  public ConformerLayer layer(int i) {
    if (i < 0 || i >= nLayers) {
      throw new IndexOutOfBoundsException("layer " + i + " of " + nLayers);
    }
    return new ConformerLayer.Builder()
        .dModel(dModel)
        .nHeads(nHeads)
        .ffExpansionFactor(ffExpansionFactor)
        .convKernelSize(convKernelSize)
        .convNormType(convNormType)
        .dropout(dropout)
        .dropoutAtt(dropoutAtt)
        .dropoutEmb(dropoutEmb)
        .kernels(kernels)
        .build();
  }

  /** Number of ConformerLayers. */
  public int numLayers() {
    return nLayers;
  }

  /**
   * Adds the encoder's vertices after {@code input}.
   *
   * @return the name of the encoder's output vertex ({@code [B, d_model, T']})
   */
  String addTo(ComputationGraphConfiguration.GraphBuilder g, String input) {
    g.addLayer(NestGraph.PRE_ENCODE, preEncodeLayer(), input);
    String last = NestGraph.PRE_ENCODE;
    for (int i = 0; i < nLayers; i++) {
      g.addLayer(NestGraph.layerName(i), layer(i), last);
      last = NestGraph.layerName(i);
    }
    return last;
  }
}
