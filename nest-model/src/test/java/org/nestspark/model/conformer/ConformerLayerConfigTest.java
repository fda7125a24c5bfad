package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.WeightDecay;
import org.nestspark.testkit.TestGraphs;

/** Parameter layout and counts (docs/nest-numerics.md §6.9), the NeMo key mapping, JSON and model serialisation. */
class ConformerLayerConfigTest {
  /** NeMo's keys of one layer, in state-dict order (golden manifest, encoder_tiny_state_dict_keys). */
  private static final String[] NEMO_KEYS = {
    "norm_feed_forward1.weight",
    "norm_feed_forward1.bias",
    "feed_forward1.linear1.weight",
    "feed_forward1.linear1.bias",
    "feed_forward1.linear2.weight",
    "feed_forward1.linear2.bias",
    "norm_conv.weight",
    "norm_conv.bias",
    "conv.pointwise_conv1.weight",
    "conv.pointwise_conv1.bias",
    "conv.depthwise_conv.weight",
    "conv.depthwise_conv.bias",
    "conv.batch_norm.weight",
    "conv.batch_norm.bias",
    "conv.batch_norm.running_mean",
    "conv.batch_norm.running_var",
    "conv.batch_norm.num_batches_tracked",
    "conv.pointwise_conv2.weight",
    "conv.pointwise_conv2.bias",
    "norm_self_att.weight",
    "norm_self_att.bias",
    "self_attn.pos_bias_u",
    "self_attn.pos_bias_v",
    "self_attn.linear_q.weight",
    "self_attn.linear_q.bias",
    "self_attn.linear_k.weight",
    "self_attn.linear_k.bias",
    "self_attn.linear_v.weight",
    "self_attn.linear_v.bias",
    "self_attn.linear_out.weight",
    "self_attn.linear_out.bias",
    "self_attn.linear_pos.weight",
    "norm_feed_forward2.weight",
    "norm_feed_forward2.bias",
    "feed_forward2.linear1.weight",
    "feed_forward2.linear1.bias",
    "feed_forward2.linear2.weight",
    "feed_forward2.linear2.bias",
    "norm_out.weight",
    "norm_out.bias"
  };

  private static ConformerLayer conf(int d, int h, String norm) {
    return TestGraphs.conformerLayer(d, h, 9, norm, 0.1).build();
  }

  @Test
  void trainableParameterCountsMatchNemo() {
    assertEquals(750_640L, conf(176, 4, ConformerLayer.BATCH_NORM).numTrainableParams());
    assertEquals(6_312_448L, conf(512, 8, ConformerLayer.BATCH_NORM).numTrainableParams());
    for (int d : new int[] {64, 176, 512}) {
      assertEquals(
          24L * d * d + 41L * d, conf(d, 4, ConformerLayer.BATCH_NORM).numTrainableParams());
      assertEquals(
          24L * d * d + 41L * d, conf(d, 4, ConformerLayer.LAYER_NORM).numTrainableParams());
    }
    // the instantiated layer: trainable + running_mean + running_var + num_batches_tracked
    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(176, 4, 9, ConformerLayer.BATCH_NORM, 0.1),
            1,
            0,
            null,
            1);
    assertEquals(750_640L + 2 * 176 + 1, g.getLayer("layer0").numParams());
    ComputationGraph ln =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(176, 4, 9, ConformerLayer.LAYER_NORM, 0.1),
            1,
            0,
            null,
            1);
    assertEquals(750_640L, ln.getLayer("layer0").numParams());
  }

  @Test
  void nemoKeysInStateDictOrderAndShapes() {
    assertEquals(List.of(NEMO_KEYS), new ArrayList<>(ConformerLayer.nemoKeyToParam().keySet()));
    List<String> lnKeys = new ArrayList<>(List.of(NEMO_KEYS));
    lnKeys.removeIf(k -> k.contains("running_") || k.contains("num_batches"));
    assertEquals(
        lnKeys, new ArrayList<>(ConformerLayer.nemoKeyToParam(ConformerLayer.LAYER_NORM).keySet()));
    for (String p : ConformerLayer.nemoKeyToParam().values()) {
      assertFalse(p.contains("_"), "DL4J splits layer_param at the last underscore: " + p);
    }
    // NeMo shapes for d = 64, h = 4, k = 9 (golden tiny model)
    Map<String, long[]> shapes =
        ConformerLayerParamInitializer.getInstance().shapes(conf(64, 4, ConformerLayer.BATCH_NORM));
    assertArrayEquals(new long[] {256, 64}, shapes.get(ConformerLayer.FF1_LINEAR1_W));
    assertArrayEquals(new long[] {64, 256}, shapes.get(ConformerLayer.FF2_LINEAR2_W));
    assertArrayEquals(new long[] {128, 64, 1}, shapes.get(ConformerLayer.CONV_PW1_W));
    assertArrayEquals(new long[] {64, 1, 9}, shapes.get(ConformerLayer.CONV_DW_W));
    assertArrayEquals(new long[] {64, 64, 1}, shapes.get(ConformerLayer.CONV_PW2_W));
    assertArrayEquals(new long[] {4, 16}, shapes.get(ConformerLayer.ATT_POS_BIAS_U));
    assertArrayEquals(new long[] {64, 64}, shapes.get(ConformerLayer.ATT_POS_W));
    assertArrayEquals(new long[] {1}, shapes.get(ConformerLayer.CONV_BN_COUNT));
    // every golden tensor loads by plain copy (shape-checked in loadLayer)
    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(64, 4, 9, ConformerLayer.BATCH_NORM, 0.0),
            1,
            0,
            null,
            1);
    TinyGolden.loadLayer(g.getLayer("layer0"), 1);
    assertEquals(
        TinyGolden.npy("state_dict/layers.1.self_attn.linear_pos.weight.npy").floatData()[5],
        g.getLayer("layer0").getParam(ConformerLayer.ATT_POS_W).getFloat(0, 5));
    assertEquals(
        (double)
            TinyGolden.npy("state_dict/layers.1.conv.batch_norm.num_batches_tracked.npy")
                .longData()[0],
        g.getLayer("layer0").getParam(ConformerLayer.CONV_BN_COUNT).getDouble(0));
  }

  @Test
  void defaultInitialisationIsPyTorchs() {
    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(64, 4, 9, ConformerLayer.BATCH_NORM, 0.1),
            1,
            0,
            null,
            3);
    Map<String, INDArray> p = g.getLayer("layer0").paramTable();
    assertEquals(Nd4j.ones(DataType.FLOAT, 64), p.get(ConformerLayer.NORM_OUT_W));
    assertEquals(0.0, p.get(ConformerLayer.NORM_OUT_B).amaxNumber().doubleValue());
    assertEquals(0.0, p.get(ConformerLayer.ATT_POS_BIAS_U).amaxNumber().doubleValue());
    assertEquals(0.0, p.get(ConformerLayer.CONV_BN_MEAN).amaxNumber().doubleValue());
    assertEquals(Nd4j.ones(DataType.FLOAT, 64), p.get(ConformerLayer.CONV_BN_VAR));
    // U(-1/sqrt(fan_in), 1/sqrt(fan_in)): fan_in 64 for linear1, 256 for linear2, 9 for depthwise
    assertBound(p.get(ConformerLayer.FF1_LINEAR1_W), 1 / 8.0);
    assertBound(p.get(ConformerLayer.FF1_LINEAR2_W), 1 / 16.0);
    assertBound(p.get(ConformerLayer.CONV_DW_W), 1 / 3.0);
    assertBound(p.get(ConformerLayer.CONV_DW_B), 1 / 3.0);
  }

  private static void assertBound(INDArray a, double bound) {
    double max = a.amaxNumber().doubleValue();
    assertTrue(max <= bound && max > 0.8 * bound, "max |w| " + max + " for bound " + bound);
  }

  @Test
  void buffersHaveNoUpdaterNoRegularizationAndNoMinibatchDivision() {
    ConformerLayer c =
        new ConformerLayer.Builder().dModel(16).nHeads(2).updater(new Adam(1e-3)).build();
    c.setRegularization(List.of(new WeightDecay(1e-3, true)));
    c.setRegularizationBias(List.of(new WeightDecay(1e-3, true)));
    for (String b : ConformerLayer.BUFFER_PARAMS) {
      assertTrue(c.getUpdaterByParam(b) instanceof NoOp, b);
      assertTrue(c.getRegularizationByParam(b).isEmpty(), b);
    }
    assertTrue(c.getUpdaterByParam(ConformerLayer.ATT_Q_W) instanceof Adam);
    assertEquals(1, c.getRegularizationByParam(ConformerLayer.ATT_Q_W).size());
    assertEquals(1, c.getRegularizationByParam(ConformerLayer.ATT_Q_B).size());
    assertEquals(1, c.getRegularizationByParam(ConformerLayer.NORM_OUT_W).size());

    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(16, 2, 3, ConformerLayer.BATCH_NORM, 0.1),
            1,
            0,
            null,
            3);
    ConformerLayerImpl impl = (ConformerLayerImpl) g.getLayer("layer0");
    for (String b : ConformerLayer.BUFFER_PARAMS) {
      assertFalse(impl.updaterDivideByMinibatch(b), b);
    }
    assertTrue(impl.updaterDivideByMinibatch(ConformerLayer.ATT_Q_W));
  }

  @Test
  void invalidConfigurationsAreRejected() {
    assertThrows(
        IllegalArgumentException.class,
        () -> TestGraphs.conformerLayer(64, 5, 9, "batch_norm", 0).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TestGraphs.conformerLayer(64, 4, 8, "batch_norm", 0).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TestGraphs.conformerLayer(64, 4, 9, "group_norm4", 0).build());
    assertThrows(
        IllegalArgumentException.class,
        () -> TestGraphs.conformerLayer(64, 4, 9, "batch_norm", 1.0).build());
  }

  @Test
  void jsonAndModelSerializerRoundTrips() throws Exception {
    ConformerLayer.Builder b =
        TestGraphs.conformerLayer(16, 2, 3, ConformerLayer.LAYER_NORM, 0.2)
            .dropoutAtt(0.15)
            .dropoutEmb(0.05);
    ComputationGraph g = TestGraphs.conformerStack(DataType.FLOAT, b, 2, 5, new Adam(1e-3), 3);
    ComputationGraphConfiguration conf = g.getConfiguration();
    String json = conf.toJson();
    ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
    assertEquals(conf, back);
    ConformerLayer l =
        (ConformerLayer)
            ((org.deeplearning4j.nn.conf.graph.LayerVertex) back.getVertices().get("layer1"))
                .getLayerConf()
                .getLayer();
    assertEquals(16, l.getDModel());
    assertEquals(2, l.getNHeads());
    assertEquals(3, l.getConvKernelSize());
    assertEquals(ConformerLayer.LAYER_NORM, l.getConvNormType());
    assertEquals(0.2, l.getDropout());
    assertEquals(0.15, l.getDropoutAtt());
    assertEquals(0.05, l.getDropoutEmb());

    INDArray x = Nd4j.rand(DataType.FLOAT, 2, 16, 5);
    INDArray mask = TinyGolden.mask(new long[] {5, 3}, 5, DataType.FLOAT);
    INDArray expected = g.output(false, new INDArray[] {x}, new INDArray[] {mask})[0];
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    ModelSerializer.writeModel(g, bytes, true);
    ComputationGraph restored =
        ModelSerializer.restoreComputationGraph(
            new ByteArrayInputStream(bytes.toByteArray()), true);
    assertEquals(g.params(), restored.params());
    assertEquals(expected, restored.output(false, new INDArray[] {x}, new INDArray[] {mask})[0]);
  }
}
