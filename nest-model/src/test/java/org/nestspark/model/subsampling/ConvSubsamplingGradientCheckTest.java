package org.nestspark.model.subsampling;

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
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.model.GoldenModel;
import org.nestspark.model.GradientChecks;
import org.nestspark.model.decoder.MultiSoftmaxDecoder;
import org.nestspark.model.nn.WithKernels;

/**
 * Double-precision {@code GradientCheckUtil} of {@link ConvSubsampling}: a 1×1 Conv1D in front (so the
 * layer's input gradient is checked through that layer's parameters), the subsampling with padding and
 * variable lengths in one batch, dropout 0, and the decoder as the output layer with a partial labels mask.
 */
class ConvSubsamplingGradientCheckTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void gradientsMatchFiniteDifferences(String kernels) {
    WithKernels.force(kernels);
    int featIn = 5;
    int time = 21;
    int batch = 3;
    int d = 3;
    int classes = 4;
    ConvSubsampling sub =
        new ConvSubsampling.Builder()
            .featIn(featIn)
            .dModel(d)
            .convChannels(2)
            .subsamplingFactor(8)
            .dropoutPreEncoder(0)
            .build();
    ComputationGraphConfiguration conf =
        new NeuralNetConfiguration.Builder()
            .seed(7)
            .dataType(DataType.DOUBLE)
            .updater(new NoOp())
            .graphBuilder()
            .addInputs("in")
            .setInputTypes(InputType.recurrent(featIn, RNNFormat.NCW))
            .addLayer(
                "front",
                new Convolution1DLayer.Builder()
                    .kernelSize(1)
                    .nIn(featIn)
                    .nOut(featIn)
                    .activation(Activation.IDENTITY)
                    .convolutionMode(ConvolutionMode.Same)
                    .rnnDataFormat(RNNFormat.NCW)
                    .build(),
                "in")
            .addLayer("sub", sub, "front")
            .addLayer(
                "out",
                new MultiSoftmaxDecoder.Builder().featIn(d).numClasses(classes).build(),
                "sub")
            .setOutputs("out")
            .build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.rand(DataType.DOUBLE, batch, featIn, time).subi(0.5).muli(2);
    int[] lengths = {time, time - 6, 5};
    INDArray fMask = GoldenModel.prefixMask(lengths, time, DataType.DOUBLE);
    int tOut = sub.outLength(time);
    int[] encLengths = new int[batch];
    for (int b = 0; b < batch; b++) {
      encLengths[b] = sub.outLength(lengths[b]);
    }
    INDArray lMask = GoldenModel.prefixMask(encLengths, tOut, DataType.DOUBLE);
    lMask.putScalar(0, 0, 0.0); // a partial selection, as NEST's masked tokens
    INDArray labels = GradientChecks.randomTokens(batch, 1, tOut, classes, 3);
    assertTrue(
        GradientChecks.check(
            g,
            new INDArray[] {x},
            new INDArray[] {labels},
            new INDArray[] {fMask},
            new INDArray[] {lMask}));
  }
}
