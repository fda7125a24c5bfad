package org.nestspark.model.decoder;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.model.GoldenModel;
import org.nestspark.model.NestGraph;
import org.nestspark.model.nn.WithKernels;

/**
 * Parity of {@link MultiSoftmaxDecoder} and its masked-token loss with NeMo (docs/nest-numerics.md §7) on NeMo's own
 * encoder outputs: the reduced decoder outputs of {@code decoder/} for {@code encoder_tiny/out.npy}, and
 * both eval losses of {@code loss/} (unmasked input 9.025188, masked input 9.025287 through
 * {@code encoder_tiny/out_masked_input.npy}).
 */
class MultiSoftmaxDecoderGoldenTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  static ComputationGraph graph;
  static INDArray logp; // [6, 8192, 138]
  static INDArray encOut;

  /** features [B, 64, T'] → decoder: the decoder alone, NeMo weights. */
  static ComputationGraph decoderOnly() {
    ComputationGraphConfiguration conf =
        new NeuralNetConfiguration.Builder()
            .dataType(DataType.FLOAT)
            .updater(new NoOp())
            .graphBuilder()
            .addInputs("enc")
            .setInputTypes(InputType.recurrent(64, RNNFormat.NCW))
            .addLayer(
                NestGraph.DECODER,
                new MultiSoftmaxDecoder.Builder().featIn(64).numClasses(8192).build(),
                "enc")
            .setOutputs(NestGraph.DECODER)
            .build();
    ComputationGraph g = new ComputationGraph(conf);
    g.init();
    MultiSoftmaxDecoderImpl dec = (MultiSoftmaxDecoderImpl) g.getLayer(NestGraph.DECODER);
    var sd = GoldenModel.decoderStateDict();
    dec.getParam(MultiSoftmaxDecoder.WEIGHT)
        .assign(GoldenModel.floats("decoder/state_dict/decoder_layers.0.weight.npy"));
    dec.getParam(MultiSoftmaxDecoder.BIAS)
        .assign(GoldenModel.floats("decoder/state_dict/decoder_layers.0.bias.npy"));
    assertEquals(2, sd.size());
    return g;
  }

  @BeforeAll
  static void setUp() {
    graph = decoderOnly();
    encOut = GoldenModel.floats("encoder_tiny/out.npy");
    logp = graph.outputSingle(encOut);
  }

  @Test
  void logProbsOfFirstFourFramesMatchNemo() {
    assertArrayEquals(new long[] {6, 8192, 138}, logp.shape());
    INDArray golden = GoldenModel.floats("decoder/log_probs_first4.npy"); // (6, 4, 8192, 1)
    INDArray ours =
        logp.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 4))
            .permute(0, 2, 1)
            .dup('c')
            .reshape(6, 4, 8192, 1);
    double diff = GoldenModel.maxAbsDiff(ours, golden);
    System.out.println("log_probs_first4 max abs diff: " + diff);
    assertTrue(diff <= 1e-4, "diff " + diff);
  }

  @Test
  void reducedFormsMatchNemoAtAllFrames() {
    int[] tokens = GoldenModel.ints("train_check/inputs/tokens_batch.npy");
    int[] argmax = GoldenModel.ints("decoder/argmax.npy");
    int[] sample = GoldenModel.ints("decoder/sample_class_idx.npy");
    float[] atTok = GoldenModel.npy("decoder/log_probs_at_tokens.npy").floatData();
    float[] maxLp = GoldenModel.npy("decoder/max_log_prob.npy").floatData();
    float[] lse = GoldenModel.npy("decoder/logsumexp.npy").floatData();
    float[] sampled = GoldenModel.npy("decoder/log_probs_sampled.npy").floatData(); // (6,138,64,1)
    // logits of class 0, to recover logsumexp = z - log p
    INDArray w0 =
        GoldenModel.floats("decoder/state_dict/decoder_layers.0.weight.npy")
            .get(NDArrayIndex.point(0))
            .reshape(64);
    double b0 = GoldenModel.floats("decoder/state_dict/decoder_layers.0.bias.npy").getDouble(0);
    INDArray ourArgmax = logp.argMax(1); // [6, 138]
    INDArray ourMax = logp.max(1);
    double dTok = 0, dMax = 0, dLse = 0, dSampled = 0;
    int argmaxMismatch = 0;
    for (int b = 0; b < 6; b++) {
      for (int t = 0; t < 138; t++) {
        int i = b * 138 + t;
        dTok = Math.max(dTok, Math.abs(logp.getDouble(b, tokens[i], t) - atTok[i]));
        dMax = Math.max(dMax, Math.abs(ourMax.getDouble(b, t) - maxLp[i]));
        if (ourArgmax.getInt(b, t) != argmax[i]) {
          argmaxMismatch++;
        }
        double z0 =
            encOut
                    .get(NDArrayIndex.point(b), NDArrayIndex.all(), NDArrayIndex.point(t))
                    .mul(w0)
                    .sumNumber()
                    .doubleValue()
                + b0;
        dLse = Math.max(dLse, Math.abs(z0 - logp.getDouble(b, 0, t) - lse[i]));
        for (int s = 0; s < sample.length; s++) {
          dSampled =
              Math.max(
                  dSampled,
                  Math.abs(logp.getDouble(b, sample[s], t) - sampled[i * sample.length + s]));
        }
      }
    }
    System.out.printf(
        "decoder max abs diffs: at_tokens %.3g, max_log_prob %.3g, logsumexp %.3g, sampled %.3g, argmax mismatches %d%n",
        dTok, dMax, dLse, dSampled, argmaxMismatch);
    assertTrue(dTok <= 1e-4 && dMax <= 1e-4 && dLse <= 1e-4 && dSampled <= 1e-4);
    assertEquals(0, argmaxMismatch);
  }

  private static double score(INDArray enc) {
    MultiDataSet ds =
        new MultiDataSet(
            new INDArray[] {enc},
            new INDArray[] {GoldenModel.tokenLabels(DataType.FLOAT)},
            null,
            new INDArray[] {GoldenModel.tokenMask(DataType.FLOAT)});
    return graph.score(ds, false);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void evalLossesMatchNemo(String kernels) {
    WithKernels.force(kernels);
    double unmasked = score(encOut);
    double masked = score(GoldenModel.floats("encoder_tiny/out_masked_input.npy"));
    double gUnmasked = GoldenModel.scalar("loss/loss_eval_unmasked_input.npy");
    double gMasked = GoldenModel.scalar("loss/loss_eval_masked_input.npy");
    System.out.printf(
        "eval loss unmasked %.7f (NeMo %.7f), masked %.7f (NeMo %.7f)%n",
        unmasked, gUnmasked, masked, gMasked);
    assertEquals(gUnmasked, unmasked, 1e-4);
    assertEquals(gMasked, masked, 1e-4);
    MultiSoftmaxDecoderImpl dec = NestGraph.decoder(graph);
    assertEquals(36, dec.getLastNumSelected());
    assertTrue(dec.getLastAccuracy() >= 0 && dec.getLastAccuracy() <= 1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void accuracyAndPerExampleScoresAgreeWithNemosOutputs(String kernels) {
    WithKernels.force(kernels);
    double loss = score(encOut);
    int[] tokens = GoldenModel.ints("train_check/inputs/tokens_batch.npy");
    int[] argmax = GoldenModel.ints("decoder/argmax.npy");
    boolean[] sel = GoldenModel.npy("train_check/inputs/token_mask.npy").booleanData();
    int correct = 0;
    int n = 0;
    int[] count = new int[6];
    for (int i = 0; i < sel.length; i++) {
      if (sel[i]) {
        n++;
        count[i / 138]++;
        correct += argmax[i] == tokens[i] ? 1 : 0;
      }
    }
    assertEquals(36, n);
    assertEquals(36, MultiMLMLoss.countSelected(GoldenModel.tokenMask(DataType.FLOAT)));
    assertEquals((double) correct / n, NestGraph.decoder(graph).getLastAccuracy(), 0.0);
    MultiDataSet ds =
        new MultiDataSet(
            new INDArray[] {encOut},
            new INDArray[] {GoldenModel.tokenLabels(DataType.FLOAT)},
            null,
            new INDArray[] {GoldenModel.tokenMask(DataType.FLOAT)});
    INDArray perExample = graph.scoreExamples(ds, false);
    double weighted = 0;
    for (int b = 0; b < 6; b++) {
      weighted += count[b] * perExample.getDouble(b);
    }
    assertEquals(0.0, perExample.getDouble(5), 0.0); // the tone has no masked token
    assertEquals(loss, weighted / n, 1e-5);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void noSelectedTokenGivesZeroScoreAndZeroGradients(String kernels) {
    WithKernels.force(kernels);
    ComputationGraph g = decoderOnly();
    g.setInputs(encOut);
    g.setLabels(GoldenModel.tokenLabels(DataType.FLOAT));
    g.setLayerMaskArrays(null, new INDArray[] {Nd4j.zeros(DataType.FLOAT, 6, 138)});
    g.computeGradientAndScore();
    assertEquals(0.0, g.score(), 0.0);
    INDArray grad = g.gradient().gradient();
    assertEquals(0.0, grad.amaxNumber().doubleValue(), 0.0);
    assertEquals(0, NestGraph.decoder(g).getLastNumSelected());
    assertTrue(!Double.isNaN(NestGraph.decoder(g).getLastAccuracy()));
  }
}
