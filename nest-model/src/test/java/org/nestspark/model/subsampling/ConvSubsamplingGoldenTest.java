package org.nestspark.model.subsampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.model.GoldenModel;
import org.nestspark.model.NestGraph;
import org.nestspark.model.nn.WithKernels;

/**
 * Parity of {@link ConvSubsampling} with NeMo's {@code pre_encode} on the golden batch (docs/nest-numerics.md §6.1):
 * {@code encoder_tiny/pre_encode_out.npy} (before xscale) at all positions, padded ones included, and the
 * lengths {@code encoder_tiny/pre_encode_lengths.npy}.
 */
class ConvSubsamplingGoldenTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  static ComputationGraph tinyPreEncode(WorkspaceMode ws) {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(64)
            .nHeads(4)
            .nLayers(0)
            .subsamplingConvChannels(32)
            .allDropouts(0)
            .withDecoder(false)
            .workspaceMode(ws)
            .build();
    GoldenModel.encoderTinyStateDict().withPrefix("encoder.pre_encode.").loadInto(g);
    return g;
  }

  @ParameterizedTest
  @CsvSource({"ENABLED,java", "NONE,java", "ENABLED,nd4j", "NONE,nd4j"})
  void matchesNemoPreEncodeAtAllPositions(WorkspaceMode ws, String kernels) {
    WithKernels.force(kernels);
    ComputationGraph g = tinyPreEncode(ws);
    INDArray x = GoldenModel.features(DataType.FLOAT);
    INDArray mask = GoldenModel.featuresMask(DataType.FLOAT);
    INDArray out = g.output(false, new INDArray[] {x}, new INDArray[] {mask})[0];
    assertArrayEquals(new long[] {6, 64, 138}, out.shape());
    INDArray golden =
        GoldenModel.floats("encoder_tiny/pre_encode_out.npy").permute(0, 2, 1); // (6,64,138)
    double diff = GoldenModel.maxAbsDiff(out.div(8.0), golden);
    System.out.println("pre_encode max abs diff (" + ws + "): " + diff);
    assertTrue(diff <= 1e-4, "max abs diff " + diff);
    // the padded steps are not trivially zero: they carry out.bias
    assertTrue(
        golden
                .get(
                    org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(137))
                .amaxNumber()
                .doubleValue()
            > 0.01);
  }

  @ParameterizedTest
  @EnumSource(
      value = WorkspaceMode.class,
      names = {"ENABLED"})
  void encoderMaskHasNemoLengths(WorkspaceMode ws) {
    ComputationGraph g = tinyPreEncode(ws);
    INDArray mask = GoldenModel.featuresMask(DataType.FLOAT);
    INDArray m =
        g.getLayer(NestGraph.PRE_ENCODE).feedForwardMaskArray(mask, MaskState.Active, 6).getFirst();
    assertArrayEquals(new long[] {6, 138}, m.shape());
    int[] expected = GoldenModel.ints("encoder_tiny/pre_encode_lengths.npy");
    int[] got = new int[6];
    for (int b = 0; b < 6; b++) {
      got[b] = m.getRow(b).sumNumber().intValue();
      for (int t = 0; t < 138; t++) {
        assertEquals(t < got[b] ? 1.0 : 0.0, m.getDouble(b, t), "prefix mask at " + b + "," + t);
      }
    }
    assertArrayEquals(expected, got);
  }
}
