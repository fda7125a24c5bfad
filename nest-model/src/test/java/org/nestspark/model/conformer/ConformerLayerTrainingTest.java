package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.Sgd;
import org.nestspark.testkit.TestGraphs;

/**
 * Training versus eval mode: dropout only in training (from {@code Nd4j.getRandom()}, so reseeding
 * repeats a step), BatchNorm batch statistics over all B×T' positions (padding included, a NeMo quirk)
 * in training and running statistics in eval, and the running-statistics update after one training
 * step checked against an independent plain-Java computation.
 */
class ConformerLayerTrainingTest {
  private static final int B = 3;
  private static final int T = 7;
  private static final long[] LENGTHS = {7, 5, 2};
  private static DataType savedType;

  @BeforeAll
  static void doublePrecision() {
    savedType = Nd4j.dataType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
  }

  @AfterAll
  static void restore() {
    Nd4j.setDefaultDataTypes(savedType, savedType);
  }

  private static void randomize(Layer layer, long seed) {
    Nd4j.getRandom().setSeed(seed);
    for (Map.Entry<String, INDArray> e : layer.paramTable().entrySet()) {
      INDArray p = e.getValue();
      if (e.getKey().equals(ConformerLayer.CONV_BN_VAR)) {
        p.assign(Nd4j.rand(DataType.DOUBLE, p.shape()).addi(0.5));
      } else if (!e.getKey().equals(ConformerLayer.CONV_BN_COUNT)) {
        p.assign(Nd4j.rand(DataType.DOUBLE, p.shape()).subi(0.5).muli(0.8));
      }
    }
  }

  private static ComputationGraph net(String norm, double dropout, int d, int nOut) {
    ComputationGraph g =
        TestGraphs.conformerStack(
            DataType.DOUBLE,
            TestGraphs.conformerLayer(d, 2, 3, norm, dropout).dropoutEmb(dropout),
            1,
            nOut,
            new Sgd(0.0),
            5);
    randomize(g.getLayer("layer0"), 17);
    return g;
  }

  private static INDArray input(int d, long seed) {
    Nd4j.getRandom().setSeed(seed);
    return Nd4j.randn(DataType.DOUBLE, B, d, T);
  }

  private static INDArray mask() {
    return TinyGolden.mask(LENGTHS, T, DataType.DOUBLE);
  }

  private static INDArray out(ComputationGraph g, boolean train, INDArray x) {
    return g.output(train, new INDArray[] {x}, new INDArray[] {mask()})[0].dup();
  }

  @Test
  void dropoutOnlyInTraining() {
    ComputationGraph g = net(ConformerLayer.LAYER_NORM, 0.1, 16, 0);
    INDArray x = input(16, 1);
    INDArray params = g.params().dup();

    INDArray eval1 = out(g, false, x);
    INDArray eval2 = out(g, false, x);
    assertEquals(eval1, eval2, "eval forwards must be identical");

    ComputationGraph noDrop = net(ConformerLayer.LAYER_NORM, 0.0, 16, 0);
    noDrop.setParams(g.params());
    assertEquals(eval1, out(noDrop, false, x), "eval ignores the dropout settings");
    assertEquals(eval1, out(noDrop, true, x), "without dropout, training forward = eval forward");

    INDArray train1 = out(g, true, x);
    INDArray train2 = out(g, true, x);
    assertNotEquals(train1, train2, "two training forwards draw different dropout masks");
    assertNotEquals(eval1, train1);

    Nd4j.getRandom().setSeed(99);
    INDArray seeded1 = out(g, true, x);
    Nd4j.getRandom().setSeed(99);
    INDArray seeded2 = out(g, true, x);
    assertEquals(seeded1, seeded2, "reseeding Nd4j.getRandom() repeats the dropout masks");
    assertEquals(params, g.params(), "forwards do not change parameters");
  }

  @Test
  void batchNormUsesBatchStatisticsInTrainingAndRunningStatisticsInEval() {
    ComputationGraph g = net(ConformerLayer.BATCH_NORM, 0.0, 8, 0);
    INDArray x = input(8, 2);
    INDArray params = g.params().dup();
    INDArray train = out(g, true, x);
    INDArray eval = out(g, false, x);
    assertTrue(train.sub(eval).amaxNumber().doubleValue() > 1e-3, "train and eval must differ");
    assertEquals(params, g.params(), "a training forward alone must not move the running stats");

    // padded GLU steps are zeroed before the depthwise conv, so padded inputs reach no valid
    // output,
    // in training either
    INDArray noisy = x.dup();
    noisy.get(NDArrayIndex.point(2), NDArrayIndex.all(), NDArrayIndex.interval(2, T)).addi(100.0);
    assertEquals(0.0, validDiff(out(g, true, x), out(g, true, noisy)));
    assertEquals(0.0, validDiff(out(g, false, x), out(g, false, noisy)));

    // NeMo quirk: the batch statistics include the padded positions, so in training (only) the
    // amount
    // of padding changes valid outputs
    INDArray longer = Nd4j.concat(2, x, Nd4j.zeros(DataType.DOUBLE, B, 8, 3));
    INDArray longerMask = TinyGolden.mask(LENGTHS, T + 3, DataType.DOUBLE);
    INDArray trainLonger = g.output(true, new INDArray[] {longer}, new INDArray[] {longerMask})[0];
    INDArray evalLonger = g.output(false, new INDArray[] {longer}, new INDArray[] {longerMask})[0];
    assertTrue(validDiff(out(g, true, x), trainLonger) > 1e-3);
    assertTrue(validDiff(out(g, false, x), evalLonger) < 1e-12);
  }

  /** Max |a − b| over the valid steps (a and b may have different padded lengths). */
  private static double validDiff(INDArray a, INDArray b) {
    double m = 0;
    for (int i = 0; i < B; i++) {
      INDArray va =
          a.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.interval(0, LENGTHS[i]));
      INDArray vb =
          b.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.interval(0, LENGTHS[i]));
      m = Math.max(m, va.sub(vb).amaxNumber().doubleValue());
    }
    return m;
  }

  /**
   * One fit step (SGD with learning rate 0, so only the buffers move) against PyTorch's rule computed
   * here in plain Java: running = 0.9·running + 0.1·batch, with the batch mean and the unbiased batch
   * variance of the depthwise-conv output over all B×T' positions, and num_batches_tracked + 1.
   */
  @Test
  void runningStatisticsAfterOneTrainingStep() {
    int d = 8;
    int k = 3;
    int pad = 1;
    ComputationGraph g = net(ConformerLayer.BATCH_NORM, 0.0, d, 3);
    Layer layer = g.getLayer("layer0");
    // FF1 and MHSA outputs 0: the conv module then sees LN_conv(x)
    layer.getParam(ConformerLayer.FF1_LINEAR2_W).assign(0);
    layer.getParam(ConformerLayer.FF1_LINEAR2_B).assign(0);
    layer.getParam(ConformerLayer.ATT_OUT_W).assign(0);
    layer.getParam(ConformerLayer.ATT_OUT_B).assign(0);
    double[] lnW = layer.getParam(ConformerLayer.NORM_CONV_W).toDoubleVector();
    double[] lnB = layer.getParam(ConformerLayer.NORM_CONV_B).toDoubleVector();
    double[][] w1 = layer.getParam(ConformerLayer.CONV_PW1_W).reshape(2 * d, d).toDoubleMatrix();
    double[] b1 = layer.getParam(ConformerLayer.CONV_PW1_B).toDoubleVector();
    double[][] wdw = layer.getParam(ConformerLayer.CONV_DW_W).reshape(d, k).toDoubleMatrix();
    double[] bdw = layer.getParam(ConformerLayer.CONV_DW_B).toDoubleVector();
    double[] mean0 = layer.getParam(ConformerLayer.CONV_BN_MEAN).toDoubleVector();
    double[] var0 = layer.getParam(ConformerLayer.CONV_BN_VAR).toDoubleVector();
    INDArray trainable0 = layer.getParam(ConformerLayer.CONV_PW2_W).dup();

    INDArray x = input(d, 3);
    double[][][] glu = new double[B][T][d];
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < LENGTHS[b]; t++) {
        double[] row = new double[d];
        double mu = 0;
        for (int c = 0; c < d; c++) {
          row[c] = x.getDouble(b, c, t);
          mu += row[c] / d;
        }
        double var = 0;
        for (int c = 0; c < d; c++) {
          var += (row[c] - mu) * (row[c] - mu) / d;
        }
        double[] ln = new double[d];
        for (int c = 0; c < d; c++) {
          ln[c] = (row[c] - mu) / Math.sqrt(var + 1e-5) * lnW[c] + lnB[c];
        }
        for (int c = 0; c < d; c++) {
          double a = b1[c];
          double gate = b1[d + c];
          for (int j = 0; j < d; j++) {
            a += w1[c][j] * ln[j];
            gate += w1[d + c][j] * ln[j];
          }
          glu[b][t][c] = a / (1 + Math.exp(-gate));
        }
      }
    }
    int n = B * T;
    double[] sum = new double[d];
    double[][][] y = new double[B][T][d];
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        for (int c = 0; c < d; c++) {
          double v = bdw[c];
          for (int tau = 0; tau < k; tau++) {
            int src = t + tau - pad;
            if (src >= 0 && src < T) {
              v += wdw[c][tau] * glu[b][src][c];
            }
          }
          y[b][t][c] = v;
          sum[c] += v;
        }
      }
    }
    double[] expMean = new double[d];
    double[] expVar = new double[d];
    for (int c = 0; c < d; c++) {
      double mean = sum[c] / n;
      double ss = 0;
      for (int b = 0; b < B; b++) {
        for (int t = 0; t < T; t++) {
          ss += (y[b][t][c] - mean) * (y[b][t][c] - mean);
        }
      }
      expMean[c] = 0.9 * mean0[c] + 0.1 * mean;
      expVar[c] = 0.9 * var0[c] + 0.1 * ss / (n - 1);
    }

    g.fit(
        new INDArray[] {x},
        new INDArray[] {Nd4j.randn(DataType.DOUBLE, B, 3, T)},
        new INDArray[] {mask()},
        new INDArray[] {mask()});

    assertArrayEquals(expMean, layer.getParam(ConformerLayer.CONV_BN_MEAN).toDoubleVector(), 1e-12);
    assertArrayEquals(expVar, layer.getParam(ConformerLayer.CONV_BN_VAR).toDoubleVector(), 1e-12);
    assertEquals(1.0, layer.getParam(ConformerLayer.CONV_BN_COUNT).getDouble(0));
    assertEquals(trainable0, layer.getParam(ConformerLayer.CONV_PW2_W), "lr 0: weights unchanged");
  }
}
