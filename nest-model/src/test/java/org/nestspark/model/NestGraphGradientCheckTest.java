package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.nn.WithKernels;

/**
 * Double-precision {@code GradientCheckUtil} of a whole (tiny) NEST graph as {@link NestGraph} wires it:
 * subsampling → ConformerLayer (train-mode BatchNorm) → decoder, features mask with variable lengths and a
 * partial labels mask; the BatchNorm buffers (not trained) are skipped. Gradients below 1e-8 in absolute
 * error are not compared relatively (DL4J's default): through five LayerNorms and a softmax many are
 * ~1e-7, where central differences of a score ~1 reach double precision, and the depthwise bias before
 * train-mode BatchNorm has an exact gradient of 0.
 */
class NestGraphGradientCheckTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void wholeGraphGradientsMatchFiniteDifferences(String kernels) {
    WithKernels.force(kernels);
    ComputationGraph g =
        NestGraph.builder()
            .featIn(6)
            .dModel(4)
            .nHeads(2)
            .nLayers(1)
            .ffExpansionFactor(2)
            .convKernelSize(3)
            .subsamplingConvChannels(2)
            .numClasses(3)
            .allDropouts(0)
            .dataType(DataType.DOUBLE)
            .updater(new NoOp())
            .seed(3)
            .build();
    Nd4j.getRandom().setSeed(5);
    int batch = 3;
    int time = 32;
    INDArray x = Nd4j.randn(DataType.DOUBLE, batch, 6, time);
    INDArray fMask = GoldenModel.prefixMask(new int[] {32, 25, 12}, time, DataType.DOUBLE);
    INDArray lMask = Nd4j.zeros(DataType.DOUBLE, batch, 4);
    for (int[] s : new int[][] {{0, 0}, {0, 3}, {1, 1}, {1, 2}, {2, 1}}) {
      lMask.putScalar(s[0], s[1], 1.0);
    }
    INDArray labels = GradientChecks.randomTokens(batch, 1, 4, 3, 4);
    Set<String> buffers = new HashSet<>();
    for (String p : ConformerLayer.BUFFER_PARAMS) {
      buffers.add("layer0_" + p);
    }
    assertTrue(
        GradientChecks.check(
            g,
            new INDArray[] {x},
            new INDArray[] {labels},
            new INDArray[] {fMask},
            new INDArray[] {lMask},
            buffers,
            1e-8));
  }
}
