package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.WithKernels;
import org.nestspark.testkit.TestGraphs;

/**
 * Eval-mode parity with NeMo's tiny encoder layers 0 and 1 (docs/nest-numerics.md §6.2-§6.5): weights loaded by plain copy, the input of layer 0 is {@code pre_encode_out ×
 * √64}, the mask comes from {@code out_lengths}, and every position (padding included) must match
 * within 1e-4.
 */
class ConformerLayerParityTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  private static final double TOL = 1e-4;
  private static final int T = 138;

  private static DataType savedType;
  private static ComputationGraph graph;
  private static INDArray x;
  private static INDArray mask;

  @BeforeAll
  static void setUp() {
    savedType = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);
    graph =
        TestGraphs.conformerStack(
            DataType.FLOAT,
            TestGraphs.conformerLayer(
                TinyGolden.D_MODEL,
                TinyGolden.N_HEADS,
                TinyGolden.KERNEL,
                ConformerLayer.BATCH_NORM,
                0.0),
            2,
            0,
            null,
            1);
    TinyGolden.loadLayer(graph.getLayer("layer0"), 0);
    TinyGolden.loadLayer(graph.getLayer("layer1"), 1);
    // xscaling: x · sqrt(d_model) = 8, then NCW
    x = TinyGolden.array("pre_encode_out.npy", DataType.FLOAT).muli(8.0).permute(0, 2, 1).dup('c');
    mask = TinyGolden.mask(TinyGolden.lengths(), T, DataType.FLOAT);
  }

  @AfterAll
  static void restore() {
    Nd4j.setDefaultDataTypes(savedType, savedType);
  }

  private static double maxAbsDiff(INDArray a, INDArray b) {
    assertArrayEquals(b.shape(), a.shape());
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }

  private static void assertClose(String what, INDArray actual, INDArray expected) {
    double diff = maxAbsDiff(actual, expected);
    System.out.printf("parity %-28s max |diff| = %.3g%n", what, diff);
    assertTrue(diff <= TOL, what + ": max |diff| " + diff + " > " + TOL);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void layer0SubModulesAndOutput(String kernels) {
    WithKernels.force(kernels);
    ConformerLayerImpl l0 = (ConformerLayerImpl) graph.getLayer("layer0");
    LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
    l0.setInput(x, mgr);
    l0.setMaskArray(mask);
    INDArray y = l0.activate(false, mgr);
    Map<String, INDArray> taps = l0.lastSubModuleOutputs();
    for (String m : new String[] {"feed_forward1", "self_attn", "conv", "feed_forward2"}) {
      assertClose(
          "layer_0_" + m + "_out",
          taps.get(m),
          TinyGolden.array("layer_0_" + m + "_out.npy", DataType.FLOAT));
    }
    assertClose(
        "layer_0_out", y.permute(0, 2, 1), TinyGolden.array("layer_0_out.npy", DataType.FLOAT));
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void layer1ThroughTheGraph(String kernels) {
    WithKernels.force(kernels);
    INDArray[] out = graph.output(false, new INDArray[] {x}, new INDArray[] {mask});
    assertClose(
        "layer_1_out (graph)",
        out[0].permute(0, 2, 1),
        TinyGolden.array("layer_1_out.npy", DataType.FLOAT));

    // layer 1 alone on NeMo's layer-0 output
    ConformerLayerImpl l1 = (ConformerLayerImpl) graph.getLayer("layer1");
    LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
    l1.setInput(TinyGolden.array("layer_0_out.npy", DataType.FLOAT).permute(0, 2, 1).dup('c'), mgr);
    l1.setMaskArray(mask);
    assertClose(
        "layer_1_out (from golden l0)",
        l1.activate(false, mgr).permute(0, 2, 1),
        TinyGolden.array("layer_1_out.npy", DataType.FLOAT));
  }

  @Test
  void positionalTableMatchesNemo() {
    INDArray pe = RelPositionalEncoding.get(T, TinyGolden.D_MODEL, DataType.FLOAT);
    INDArray golden = TinyGolden.array("pos_emb.npy", DataType.FLOAT); // (1, 275, 64)
    double diff = maxAbsDiff(pe.reshape(1, 2 * T - 1, TinyGolden.D_MODEL), golden);
    System.out.printf("parity pos_emb max |diff| = %.3g%n", diff);
    // float32 exp/sin of PyTorch (SLEEF) vs correctly rounded ones: a few ulps of the argument
    assertTrue(diff <= 1e-5, "pos_emb max |diff| " + diff);
  }
}
