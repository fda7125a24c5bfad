package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Set;
import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nestspark.model.nn.WithKernels;
import org.nestspark.testkit.TestGraphs;

/**
 * Double-precision {@link GradientCheckUtil} on {@code features [3, 8, 7]} (lengths 7, 5, 2) →
 * ConformerLayer (2 heads, kernel 3, dropout 0) → RnnOutputLayer (MSE) with a labels mask, for both
 * conv norm types; every entry of every parameter is checked except the BatchNorm buffers (measured:
 * max |analytic − numerical| 2.8e-9, relative error ≤ 5.4e-6 wherever |gradient| > 1e-4); the
 * dropout backward paths by directional derivatives with a reseeded RNG. Also checks that padded input
 * steps cannot reach valid outputs in eval mode.
 */
class ConformerLayerGradientCheckTest {
  @AfterEach
  void defaultKernels() {
    WithKernels.clear();
  }

  private static final int B = 3;
  private static final int D = 8;
  private static final int T = 7;
  private static final long[] LENGTHS = {7, 5, 2};
  private static DataType savedType;
  private static int savedThreads;
  private static int savedMasterThreads;

  @BeforeAll
  static void doublePrecision() {
    savedType = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    // thousands of tiny forwards: libnd4j's idle pool threads only spin (measured for this class:
    // 37 s wall / 72 s process CPU -> 28 s / 41 s, and far less sensitive to other load)
    savedThreads = Nd4j.getEnvironment().maxThreads();
    savedMasterThreads = Nd4j.getEnvironment().maxMasterThreads();
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
  }

  @AfterAll
  static void restore() {
    Nd4j.setDefaultDataTypes(savedType, savedType);
    Nd4j.getEnvironment().setMaxThreads(savedThreads);
    Nd4j.getEnvironment().setMaxMasterThreads(savedMasterThreads);
  }

  private static ComputationGraph net(String norm) {
    return net(norm, 0.0);
  }

  private static ComputationGraph net(String norm, double dropout) {
    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.DOUBLE,
            TestGraphs.conformerLayer(D, 2, 3, norm, dropout).dropoutEmb(dropout),
            1,
            3,
            null,
            42);
    // every parameter non-trivial (PyTorch's init leaves pos_bias_u/v at 0 and norms at 1/0)
    Nd4j.getRandom().setSeed(7);
    for (Map.Entry<String, INDArray> e : g.getLayer("layer0").paramTable().entrySet()) {
      INDArray p = e.getValue();
      if (e.getKey().equals(ConformerLayer.CONV_BN_VAR)) {
        p.assign(Nd4j.rand(DataType.DOUBLE, p.shape()).addi(0.5));
      } else if (!e.getKey().equals(ConformerLayer.CONV_BN_COUNT)) {
        p.assign(Nd4j.rand(DataType.DOUBLE, p.shape()).subi(0.5).muli(0.8));
      }
    }
    return g;
  }

  @ParameterizedTest
  @CsvSource({
    ConformerLayer.BATCH_NORM + ",java",
    ConformerLayer.LAYER_NORM + ",java",
    ConformerLayer.BATCH_NORM + ",nd4j",
    ConformerLayer.LAYER_NORM + ",nd4j"
  })
  void gradientsMatchFiniteDifferences(String norm, String kernels) {
    WithKernels.force(kernels);
    ComputationGraph g = net(norm);
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.randn(DataType.DOUBLE, B, D, T);
    INDArray mask = TinyGolden.mask(LENGTHS, T, DataType.DOUBLE);
    INDArray labels = Nd4j.randn(DataType.DOUBLE, B, 3, T);
    // labels mask: a subset of the valid steps (as the token-selection mask)
    INDArray labelMask = mask.dup();
    labelMask.putScalar(0, 1, 0.0);
    labelMask.putScalar(0, 4, 0.0);
    labelMask.putScalar(1, 0, 0.0);

    boolean ok =
        GradientCheckUtil.checkGradients(
            new GradientCheckUtil.GraphConfig()
                .net(g)
                .inputs(new INDArray[] {x})
                .labels(new INDArray[] {labels})
                .inputMask(new INDArray[] {mask})
                .labelMask(new INDArray[] {labelMask})
                .epsilon(1e-6)
                // central differences of a score ~6 carry ~1e-9 of rounding noise: entries whose
                // analytic and numerical values differ by less than 1e-8 pass on that criterion
                .maxRelError(1e-5)
                .minAbsoluteError(1e-8)
                .excludeParams(
                    Set.of(
                        "layer0_" + ConformerLayer.CONV_BN_MEAN,
                        "layer0_" + ConformerLayer.CONV_BN_VAR,
                        "layer0_" + ConformerLayer.CONV_BN_COUNT))
                .print(GradientCheckUtil.PrintMode.FAILURES_ONLY)
                .exitOnFirstError(false));
    assertTrue(ok, "gradient check failed for " + norm);
  }

  /**
   * The dropout backward paths: every dropout at 0.1 (FFN, residuals, attention probabilities,
   * positional table) with the RNG reseeded before each pass, so that all passes draw the same masks.
   * Compares directional derivatives: for random directions v over all trainable parameters,
   * {@code (score(θ+εv) − score(θ−εv))/2ε} against {@code g·v / B} (DL4J's gradient is summed over the
   * minibatch; its updater divides by B).
   */
  @Test
  void gradientsWithDropoutMatchDirectionalDerivatives() {
    ComputationGraph g = net(ConformerLayer.BATCH_NORM, 0.1);
    Nd4j.getRandom().setSeed(11);
    INDArray x = Nd4j.randn(DataType.DOUBLE, B, D, T);
    INDArray mask = TinyGolden.mask(LENGTHS, T, DataType.DOUBLE);
    INDArray labels = Nd4j.randn(DataType.DOUBLE, B, 3, T);
    MultiDataSet data =
        new MultiDataSet(
            new INDArray[] {x},
            new INDArray[] {labels},
            new INDArray[] {mask},
            new INDArray[] {mask});
    long seed = 1234;
    Nd4j.getRandom().setSeed(seed);
    g.setInputs(x);
    g.setLabels(labels);
    g.setLayerMaskArrays(new INDArray[] {mask}, new INDArray[] {mask});
    g.computeGradientAndScore();
    INDArray grad = g.gradient().gradient().dup();

    Nd4j.getRandom().setSeed(seed + 1);
    double otherMasks = g.score(data, true);
    Nd4j.getRandom().setSeed(seed);
    assertTrue(Math.abs(g.score(data, true) - otherMasks) > 1e-6, "dropout must be active");

    INDArray params = g.params();
    INDArray theta = params.dup();
    ComputationGraph direction = g.clone();
    double eps = 1e-6;
    for (int i = 0; i < 3; i++) {
      Nd4j.getRandom().setSeed(100 + i);
      direction.params().assign(Nd4j.randn(DataType.DOUBLE, params.shape()));
      for (String buffer : ConformerLayer.BUFFER_PARAMS) {
        direction.getLayer("layer0").getParam(buffer).assign(0);
      }
      INDArray v = direction.params();
      params.assign(theta.add(v.mul(eps)));
      Nd4j.getRandom().setSeed(seed);
      double plus = g.score(data, true);
      params.assign(theta.sub(v.mul(eps)));
      Nd4j.getRandom().setSeed(seed);
      double minus = g.score(data, true);
      params.assign(theta);
      double numerical = (plus - minus) / (2 * eps);
      double analytic = grad.mul(v).sumNumber().doubleValue() / B;
      double rel =
          Math.abs(numerical - analytic) / Math.max(Math.abs(numerical), Math.abs(analytic));
      System.out.printf(
          "dropout directional derivative %d: analytic %.9f numerical %.9f rel %.2g%n",
          i, analytic, numerical, rel);
      assertTrue(rel < 1e-6, "directional derivative " + i + ": rel error " + rel);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {ConformerLayer.BATCH_NORM, ConformerLayer.LAYER_NORM})
  void paddedStepsDoNotReachValidOutputsInEval(String norm) {
    ComputationGraph g = net(norm);
    Nd4j.getRandom().setSeed(3);
    INDArray x = Nd4j.randn(DataType.DOUBLE, B, D, T);
    INDArray mask = TinyGolden.mask(LENGTHS, T, DataType.DOUBLE);
    INDArray noisy = x.dup();
    INDArray noise = Nd4j.randn(DataType.DOUBLE, B, D, T).muli(100.0);
    for (int b = 0; b < B; b++) {
      for (long t = LENGTHS[b]; t < T; t++) {
        noisy
            .get(NDArrayIndex.point(b), NDArrayIndex.all(), NDArrayIndex.point(t))
            .addi(noise.get(NDArrayIndex.point(b), NDArrayIndex.all(), NDArrayIndex.point(t)));
      }
    }
    INDArray clean = g.output(false, new INDArray[] {x}, new INDArray[] {mask})[0];
    INDArray dirty = g.output(false, new INDArray[] {noisy}, new INDArray[] {mask})[0];
    double validDiff = 0;
    for (int b = 0; b < B; b++) {
      validDiff =
          Math.max(
              validDiff,
              clean
                  .get(
                      NDArrayIndex.point(b),
                      NDArrayIndex.all(),
                      NDArrayIndex.interval(0, LENGTHS[b]))
                  .sub(
                      dirty.get(
                          NDArrayIndex.point(b),
                          NDArrayIndex.all(),
                          NDArrayIndex.interval(0, LENGTHS[b])))
                  .amaxNumber()
                  .doubleValue());
    }
    assertEquals(0.0, validDiff, "valid outputs moved with padded noise (" + norm + ")");
    // not vacuous: without the mask the noise does reach item 1's valid steps
    INDArray cleanNoMask = g.output(false, x)[0];
    INDArray dirtyNoMask = g.output(false, noisy)[0];
    double unmasked =
        cleanNoMask
            .get(NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.interval(0, 5))
            .sub(
                dirtyNoMask.get(
                    NDArrayIndex.point(1), NDArrayIndex.all(), NDArrayIndex.interval(0, 5)))
            .amaxNumber()
            .doubleValue();
    assertTrue(unmasked > 1e-3, "noise should matter without a mask: " + unmasked);
  }
}
