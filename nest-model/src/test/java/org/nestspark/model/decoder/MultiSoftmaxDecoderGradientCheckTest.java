package org.nestspark.model.decoder;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.Convolution1DLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.model.GoldenModel;
import org.nestspark.model.GradientChecks;
import org.nestspark.model.nn.WithKernels;

/**
 * Double-precision {@code GradientCheckUtil} of {@link MultiSoftmaxDecoder} and its masked NLL: one and
 * two books, with and without bias, variable lengths (features mask) and a labels mask selecting a
 * subset of the valid steps; a 1×1 Conv1D in front checks the decoder's input gradient.
 */
class MultiSoftmaxDecoderGradientCheckTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  @ParameterizedTest
  @CsvSource({
    "1,true,java",
    "2,true,java",
    "2,false,java",
    "1,true,nd4j",
    "2,true,nd4j",
    "2,false,nd4j"
  })
  void gradientsMatchFiniteDifferences(int books, boolean bias, String kernels) {
    WithKernels.force(kernels);
    int d = 4;
    int classes = 6;
    int batch = 3;
    int time = 7;
    ComputationGraphConfiguration conf =
        new NeuralNetConfiguration.Builder()
            .seed(5)
            .dataType(DataType.DOUBLE)
            .updater(new NoOp())
            .graphBuilder()
            .addInputs("in")
            .setInputTypes(InputType.recurrent(d, RNNFormat.NCW))
            .addLayer(
                "front",
                new Convolution1DLayer.Builder()
                    .kernelSize(1)
                    .nIn(d)
                    .nOut(d)
                    .activation(Activation.TANH)
                    .convolutionMode(ConvolutionMode.Same)
                    .rnnDataFormat(RNNFormat.NCW)
                    .build(),
                "in")
            .addLayer(
                "out",
                new MultiSoftmaxDecoder.Builder()
                    .featIn(d)
                    .numClasses(classes)
                    .numDecoders(books)
                    .useBias(bias)
                    .build(),
                "front")
            .setOutputs("out")
            .build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    Nd4j.getRandom().setSeed(13);
    INDArray x = Nd4j.rand(DataType.DOUBLE, batch, d, time).subi(0.5).muli(2);
    INDArray fMask = GoldenModel.prefixMask(new int[] {7, 5, 2}, time, DataType.DOUBLE);
    INDArray lMask = Nd4j.zeros(DataType.DOUBLE, batch, time);
    int[][] sel = {{0, 2}, {0, 3}, {0, 4}, {0, 6}, {1, 1}, {1, 4}, {2, 0}};
    for (int[] s : sel) {
      lMask.putScalar(s[0], s[1], 1.0);
    }
    INDArray labels = GradientChecks.randomTokens(batch, books, time, classes, 9);
    assertTrue(
        GradientChecks.check(
            g,
            new INDArray[] {x},
            new INDArray[] {labels},
            new INDArray[] {fMask},
            new INDArray[] {lMask}));
  }
}
