package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.config.NestConfig;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.nn.WithKernels;
import org.nestspark.testkit.Golden;

/**
 * The whole NEST graph against NeMo's tiny model (golden {@code encoder_tiny} configuration: d 64, 4 heads,
 * 2 layers, 32 conv channels, BatchNorm with non-trivial running statistics, all dropouts 0; decoder 8192
 * classes), built from the configuration and loaded from NeMo's state dict: eval outputs of every layer,
 * lengths, decoder log-probs and both eval losses, then NeMo's training check ({@code train_check/}): loss,
 * every parameter's gradient norm and the BatchNorm running statistics after the train-mode forward.
 */
class NestGraphGoldenTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  static ComputationGraph graph;
  static INDArray x;
  static INDArray fMask;

  static NestConfig tinyConfig() {
    return NestConfig.load(
        java.util.List.of(),
        java.util.List.of(
            "model.encoder.d_model=64",
            "model.encoder.n_heads=4",
            "model.encoder.n_layers=2",
            "model.encoder.subsampling_conv_channels=32",
            "model.encoder.dropout=0",
            "model.encoder.dropout_pre_encoder=0",
            "model.encoder.dropout_att=0",
            "model.encoder.dropout_emb=0"),
        new org.apache.hadoop.conf.Configuration(false));
  }

  @BeforeAll
  static void setUp() {
    graph = NestGraph.build(tinyConfig().settings(), new NoOp());
    NemoStateDict sd = GoldenModel.encoderTinyStateDict().putAll(GoldenModel.decoderStateDict());
    NemoStateDict frozen = sd.loadInto(graph);
    assertEquals(0, frozen.size());
    x = GoldenModel.features(DataType.FLOAT);
    fMask = GoldenModel.featuresMask(DataType.FLOAT);
  }

  private static Map<String, INDArray> evalActivations(INDArray input) {
    graph.setLayerMaskArrays(new INDArray[] {fMask}, null);
    Map<String, INDArray> acts = graph.feedForward(new INDArray[] {input}, false, false);
    graph.clearLayerMaskArrays();
    return acts;
  }

  /** (6, 138, 64) golden layer output as [6, 64, 138]. */
  private static INDArray ncw(String rel) {
    return GoldenModel.floats(rel).permute(0, 2, 1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void evalOutputsOfEveryLayerMatchNemoAtAllPositions(String kernels) {
    WithKernels.force(kernels);
    Map<String, INDArray> acts = evalActivations(x);
    double d0 = GoldenModel.maxAbsDiff(acts.get("layer0"), ncw("encoder_tiny/layer_0_out.npy"));
    double d1 = GoldenModel.maxAbsDiff(acts.get("layer1"), ncw("encoder_tiny/layer_1_out.npy"));
    double dOut =
        GoldenModel.maxAbsDiff(acts.get("layer1"), GoldenModel.floats("encoder_tiny/out.npy"));
    INDArray logp = acts.get(NestGraph.DECODER);
    INDArray first4 =
        logp.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 4))
            .permute(0, 2, 1)
            .dup('c')
            .reshape(6, 4, 8192, 1);
    double dLogp =
        GoldenModel.maxAbsDiff(first4, GoldenModel.floats("decoder/log_probs_first4.npy"));
    System.out.printf(
        "tiny graph eval max abs diffs: layer_0 %.3g, layer_1 %.3g, out %.3g, log_probs_first4 %.3g%n",
        d0, d1, dOut, dLogp);
    assertTrue(d0 <= 1e-4 && d1 <= 1e-4 && dOut <= 1e-4 && dLogp <= 1e-4);

    INDArray encMask =
        graph
            .getLayer(NestGraph.PRE_ENCODE)
            .feedForwardMaskArray(fMask, MaskState.Active, 6)
            .getFirst();
    int[] lengths = new int[6];
    for (int b = 0; b < 6; b++) {
      lengths[b] = encMask.getRow(b).sumNumber().intValue();
    }
    assertArrayEquals(GoldenModel.ints("encoder_tiny/out_lengths.npy"), lengths);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void evalOutputForMaskedInputMatchesNemo(String kernels) {
    WithKernels.force(kernels);
    Map<String, INDArray> acts = evalActivations(GoldenModel.maskedFeatures(DataType.FLOAT));
    double d =
        GoldenModel.maxAbsDiff(
            acts.get("layer1"), GoldenModel.floats("encoder_tiny/out_masked_input.npy"));
    System.out.printf("tiny graph eval, masked input: max abs diff %.3g%n", d);
    assertTrue(d <= 1e-4);
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void evalLossesMatchNemo(String kernels) {
    WithKernels.force(kernels);
    INDArray labels = GoldenModel.tokenLabels(DataType.FLOAT);
    INDArray lMask = GoldenModel.tokenMask(DataType.FLOAT);
    double unmasked =
        graph.score(
            new MultiDataSet(
                new INDArray[] {x},
                new INDArray[] {labels},
                new INDArray[] {fMask},
                new INDArray[] {lMask}),
            false);
    double masked =
        graph.score(
            new MultiDataSet(
                new INDArray[] {GoldenModel.maskedFeatures(DataType.FLOAT)},
                new INDArray[] {labels},
                new INDArray[] {fMask},
                new INDArray[] {lMask}),
            false);
    System.out.printf(
        "tiny graph eval losses: unmasked %.7f (NeMo %.7f), masked %.7f (NeMo %.7f)%n",
        unmasked,
        GoldenModel.scalar("loss/loss_eval_unmasked_input.npy"),
        masked,
        GoldenModel.scalar("loss/loss_eval_masked_input.npy"));
    assertEquals(GoldenModel.scalar("loss/loss_eval_unmasked_input.npy"), unmasked, 1e-4);
    assertEquals(GoldenModel.scalar("loss/loss_eval_masked_input.npy"), masked, 1e-4);
  }

  /**
   * Parameters whose exact gradient is 0: the depthwise conv bias feeds train-mode BatchNorm, which
   * subtracts the batch mean per channel; the key bias adds the same q·b to every key of a query row,
   * which softmax ignores.
   */
  static boolean analyticallyZero(String key) {
    return key.endsWith(".conv.depthwise_conv.bias") || key.endsWith(".self_attn.linear_k.bias");
  }

  static JsonNode trainCheckJson() throws IOException {
    try (InputStream in = new GZIPInputStream(Golden.open("train_check/train_check.json.gz"))) {
      return new ObjectMapper().readTree(in);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"java", "nd4j"})
  void trainingStepMatchesNemoTrainCheck(String kernels) throws IOException {
    WithKernels.force(kernels);
    ComputationGraph g = NestGraph.build(tinyConfig().settings(), new NoOp());
    GoldenModel.encoderTinyStateDict().putAll(GoldenModel.decoderStateDict()).loadInto(g);
    INDArray[] bnBefore = new INDArray[4];
    for (int i = 0; i < 2; i++) {
      bnBefore[2 * i] = g.getParam("layer" + i + "_" + ConformerLayer.CONV_BN_MEAN).dup();
      bnBefore[2 * i + 1] = g.getParam("layer" + i + "_" + ConformerLayer.CONV_BN_VAR).dup();
    }
    g.setInputs(GoldenModel.maskedFeatures(DataType.FLOAT));
    g.setLabels(GoldenModel.tokenLabels(DataType.FLOAT));
    g.setLayerMaskArrays(
        new INDArray[] {fMask}, new INDArray[] {GoldenModel.tokenMask(DataType.FLOAT)});
    g.computeGradientAndScore();
    double loss = g.score();
    double golden = GoldenModel.scalar("train_check/loss.npy");
    System.out.printf("train check loss %.7f (NeMo %.7f)%n", loss, golden);
    assertEquals(golden, loss, 1e-4);
    MultiSoftmaxDecoderImpl dec = NestGraph.decoder(g);
    assertEquals(36, dec.getLastNumSelected());

    JsonNode norms = trainCheckJson().get("grad_norms");
    Map<String, INDArray> grads = g.gradient().gradientForVariable();
    Set<String> seen = new HashSet<>();
    double worst = 0;
    String worstKey = null;
    for (NemoKeys.Binding b : NemoKeys.bindings(g)) {
      if (ConformerLayer.isBufferParam(b.param())) {
        continue;
      }
      JsonNode n = norms.get(b.nemoKey());
      assertTrue(n != null, "no golden gradient for " + b.nemoKey());
      INDArray grad =
          grads.get(b.graphParam()).castTo(DataType.DOUBLE).div(6.0); // DL4J's updater divides by B
      double ours = grad.norm2Number().doubleValue();
      double ref = n.get("grad_norm_f64").asDouble();
      double rel = Math.abs(ours - ref) / ref;
      if (analyticallyZero(b.nemoKey())) {
        // NeMo's value is float32 round-off (1e-6 .. 1e-10); a relative comparison is meaningless
        assertTrue(
            ref < 1e-5 && ours < 2e-4,
            b.nemoKey() + ": gradient norm " + ours + " vs NeMo " + ref + ", both should be ~0");
      } else {
        if (rel > worst) {
          worst = rel;
          worstKey = b.nemoKey();
        }
        assertTrue(
            rel <= 1e-4,
            b.nemoKey() + ": gradient norm " + ours + " vs NeMo " + ref + " (rel " + rel + ")");
      }
      seen.add(b.nemoKey());
    }
    Iterator<String> it = norms.fieldNames();
    int count = 0;
    while (it.hasNext()) {
      String k = it.next();
      assertTrue(seen.contains(k), "golden gradient " + k + " has no graph parameter");
      count++;
    }
    assertEquals(88, count);
    System.out.printf(
        "train check: %d gradient norms, worst relative error %.3g (%s) apart from the 4 analytically zero ones%n",
        count, worst, worstKey);

    // BatchNorm running statistics after the train-mode forward: new = old − "gradient" (NoOp
    // updater step)
    double bnWorst = 0;
    for (int i = 0; i < 2; i++) {
      String p = "encoder.layers." + i + ".conv.batch_norm.";
      INDArray mean =
          bnBefore[2 * i].sub(grads.get("layer" + i + "_" + ConformerLayer.CONV_BN_MEAN));
      INDArray var =
          bnBefore[2 * i + 1].sub(grads.get("layer" + i + "_" + ConformerLayer.CONV_BN_VAR));
      bnWorst =
          Math.max(
              bnWorst,
              GoldenModel.maxAbsDiff(
                  mean,
                  GoldenModel.floats("train_check/bn_after_forward/" + p + "running_mean.npy")));
      bnWorst =
          Math.max(
              bnWorst,
              GoldenModel.maxAbsDiff(
                  var,
                  GoldenModel.floats("train_check/bn_after_forward/" + p + "running_var.npy")));
      double count0 = g.getParam("layer" + i + "_" + ConformerLayer.CONV_BN_COUNT).getDouble(0);
      double countAfter =
          count0 - grads.get("layer" + i + "_" + ConformerLayer.CONV_BN_COUNT).getDouble(0);
      assertEquals(
          trainCheckJson()
              .get("bn_num_batches_tracked_after_forward")
              .get("layers." + i + ".conv.batch_norm")
              .asDouble(),
          countAfter,
          0.0);
    }
    System.out.printf("train check: BatchNorm running statistics max abs diff %.3g%n", bnWorst);
    assertTrue(bnWorst <= 1e-5);
  }
}
