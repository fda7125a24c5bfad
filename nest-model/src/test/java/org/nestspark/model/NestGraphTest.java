package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.config.NestConfig;
import org.nestspark.config.NestConfigException;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.decoder.MultiSoftmaxDecoder;
import org.nestspark.model.subsampling.ConvSubsampling;

/** The graph's structure from the configuration: vertices, JSON round trip, docs/nest-numerics.md §6.9 parameter counts. */
class NestGraphTest {

  static NestConfig config(String... overrides) {
    return NestConfig.load(List.of(), List.of(overrides), new Configuration(false));
  }

  /** Frozen modules outside the graph: quantizer projection + codebooks, mask embedding (docs/nest-numerics.md §6.9). */
  static long frozenParams(NestConfig c) {
    long featIn = c.getInt("model.preprocessor.features");
    long proj =
        featIn * c.getInt("model.quantizer.combine_time_steps") * c.getInt("model.code_dim");
    long codebooks =
        (long) c.getInt("model.num_books")
            * c.getInt("model.num_classes")
            * c.getInt("model.code_dim");
    return proj + codebooks + featIn;
  }

  private static long decoderParams(ComputationGraph g) {
    return g.getLayer(NestGraph.DECODER).numParams();
  }

  @Test
  void smallAndLargeHaveNemosParameterCounts() {
    NestConfig small =
        config("model.encoder.d_model=176", "model.encoder.n_heads=4", "model.encoder.n_layers=16");
    ComputationGraph s = NestGraph.build(small.settings(), new NoOp());
    long trainable = NestGraph.numTrainableParams(s);
    assertEquals(14_050_224L, trainable);
    assertEquals(12_600_240L, trainable - decoderParams(s));
    assertEquals(1_449_984L, decoderParams(s));
    assertEquals(590_000L, s.getLayer(NestGraph.PRE_ENCODE).numParams());
    assertEquals(750_640L, ((ConformerLayer) NemoKeys.layerConf(s, "layer0")).numTrainableParams());
    assertEquals(14_191_616L, trainable + frozenParams(small));
    assertEquals(16L * (2 * 176 + 1), s.numParams() - trainable); // BatchNorm buffers
    s = null;

    NestConfig large = NestConfig.defaults();
    ComputationGraph l = NestGraph.build(large.settings(), new NoOp());
    long lt = NestGraph.numTrainableParams(l);
    assertEquals(17, NestGraph.numLayers(l));
    assertEquals(108_762_112L, lt - decoderParams(l));
    assertEquals(112_964_608L, lt);
    assertEquals(113_106_000L, lt + frozenParams(large));
    assertEquals(17L * (2 * 512 + 1), l.numParams() - lt);
  }

  @Test
  void verticesFollowTheGraphConventions() {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(16)
            .nHeads(2)
            .nLayers(3)
            .subsamplingConvChannels(4)
            .numClasses(32)
            .build();
    assertEquals(List.of(NestGraph.INPUT), g.getConfiguration().getNetworkInputs());
    assertEquals(List.of(NestGraph.DECODER), g.getConfiguration().getNetworkOutputs());
    assertTrue(NemoKeys.layerConf(g, NestGraph.PRE_ENCODE) instanceof ConvSubsampling);
    for (int i = 0; i < 3; i++) {
      assertTrue(NemoKeys.layerConf(g, "layer" + i) instanceof ConformerLayer);
    }
    assertTrue(NemoKeys.layerConf(g, NestGraph.DECODER) instanceof MultiSoftmaxDecoder);
    assertEquals(3, NestGraph.numLayers(g));
    for (String p : g.paramTable().keySet()) {
      assertEquals(1, p.chars().filter(ch -> ch == '_').count(), "one '_' (vertex_param) in " + p);
    }
  }

  @Test
  void configurationSurvivesJson() {
    ComputationGraphConfiguration conf =
        NestGraph.builder()
            .dModel(16)
            .nHeads(2)
            .nLayers(2)
            .subsamplingConvChannels(4)
            .numClasses(32)
            .numBooks(2)
            .dropoutPreEncoder(0.2)
            .xscaling(false)
            .configuration();
    ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(conf.toJson());
    assertEquals(conf, back);
    ComputationGraph g = new ComputationGraph(back);
    g.init();
    ComputationGraph g0 = new ComputationGraph(conf);
    g0.init();
    assertEquals(g0.numParams(), g.numParams());
    ConvSubsampling sub = (ConvSubsampling) NemoKeys.layerConf(g, NestGraph.PRE_ENCODE);
    assertEquals(0.2, sub.getDropoutPreEncoder());
    assertEquals(1.0, sub.xscale());
    assertEquals(
        2, ((MultiSoftmaxDecoder) NemoKeys.layerConf(g, NestGraph.DECODER)).getNumDecoders());
  }

  @Test
  void kernelsSettingReachesEveryLayerAndSurvivesJson() {
    NestConfig c =
        config(
            "model.encoder.d_model=16",
            "model.encoder.n_heads=2",
            "model.encoder.n_layers=2",
            "model.encoder.subsampling_conv_channels=4",
            "model.kernels=nd4j");
    ComputationGraphConfiguration conf = NestGraph.builder(c.settings()).configuration();
    ComputationGraph g =
        new ComputationGraph(ComputationGraphConfiguration.fromJson(conf.toJson()));
    g.init();
    assertEquals(
        "nd4j", ((ConvSubsampling) NemoKeys.layerConf(g, NestGraph.PRE_ENCODE)).getKernels());
    assertEquals("nd4j", ((ConformerLayer) NemoKeys.layerConf(g, "layer1")).getKernels());
    assertEquals(
        "nd4j", ((MultiSoftmaxDecoder) NemoKeys.layerConf(g, NestGraph.DECODER)).getKernels());
    // a graph JSON written before the key existed (no "kernels" field) reads as auto
    String old = conf.toJson().replaceAll(",\\s*\"kernels\"\\s*:\\s*\"nd4j\"", "");
    assertTrue(
        !old.contains("\"kernels\"") && conf.toJson().contains("\"kernels\""),
        "the JSON carries the field");
    ComputationGraph g2 = new ComputationGraph(ComputationGraphConfiguration.fromJson(old));
    g2.init();
    assertEquals("auto", ((ConformerLayer) NemoKeys.layerConf(g2, "layer0")).getKernels());
    // auto is the Java loops on the CPU backend, unless -Dnest.kernels says otherwise
    assertEquals(
        org.nestspark.model.nn.Kernels.JAVA, org.nestspark.model.nn.Kernels.resolve("auto"));
    NestConfigException e =
        assertThrows(NestConfigException.class, () -> config("model.kernels=cuda"));
    assertTrue(e.getMessage().contains("model.kernels"), e.getMessage());
  }

  @Test
  void modelSerializerRoundTripKeepsParametersAndOutputs() throws java.io.IOException {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(16)
            .nHeads(2)
            .nLayers(1)
            .subsamplingConvChannels(4)
            .numClasses(32)
            .build();
    java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
    org.deeplearning4j.util.ModelSerializer.writeModel(g, bos, true);
    ComputationGraph back =
        org.deeplearning4j.util.ModelSerializer.restoreComputationGraph(
            new java.io.ByteArrayInputStream(bos.toByteArray()), true);
    assertEquals(g.params(), back.params());
    org.nd4j.linalg.api.ndarray.INDArray x =
        org.nd4j.linalg.factory.Nd4j.randn(org.nd4j.linalg.api.buffer.DataType.FLOAT, 2, 80, 48);
    org.nd4j.linalg.api.ndarray.INDArray m =
        GoldenModel.prefixMask(new int[] {48, 30}, 48, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    assertEquals(
        g.output(
                false,
                new org.nd4j.linalg.api.ndarray.INDArray[] {x},
                new org.nd4j.linalg.api.ndarray.INDArray[] {m})[0],
        back.output(
                false,
                new org.nd4j.linalg.api.ndarray.INDArray[] {x},
                new org.nd4j.linalg.api.ndarray.INDArray[] {m})[0]);
  }

  @Test
  void nonPrefixMasksAreRejected() {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(16)
            .nHeads(2)
            .nLayers(0)
            .subsamplingConvChannels(4)
            .numClasses(32)
            .build();
    org.nd4j.linalg.api.ndarray.INDArray m =
        GoldenModel.prefixMask(new int[] {48, 30}, 48, org.nd4j.linalg.api.buffer.DataType.FLOAT);
    m.putScalar(1, 40, 1.0);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                g.getLayer(NestGraph.PRE_ENCODE)
                    .feedForwardMaskArray(m, org.deeplearning4j.nn.api.MaskState.Active, 2));
    assertTrue(e.getMessage().contains("mask row 1"), e.getMessage());
  }

  @Test
  void unsupportedSettingsAreRejectedWithTheirKeys() {
    NestConfigException e =
        assertThrows(
            NestConfigException.class,
            () ->
                NestGraph.builder(
                    config(
                            "model.encoder.untie_biases=false",
                            "model.encoder.att_context_size=[64,64]")
                        .settings()));
    assertTrue(e.getMessage().contains("model.encoder.untie_biases"), e.getMessage());
    assertTrue(e.getMessage().contains("model.encoder.att_context_size"), e.getMessage());
  }
}
