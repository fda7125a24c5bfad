package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nestspark.testkit.TestGraphs;

/** {@link AdamW}'s updater against torch's AdamW formulas written out in double. */
class AdamWUpdaterTest {
  private static final double B1 = 0.9;
  private static final double B2 = 0.98;
  private static final double EPS = 1e-8;

  /** Gradients spanning 1e-10 … 1, including zeros: where eps placement matters and where it does not. */
  private static double[][] gradients(int steps, int n) {
    Random r = new Random(7);
    double[][] g = new double[steps][n];
    for (int s = 0; s < steps; s++) {
      for (int i = 0; i < n; i++) {
        double mag = Math.pow(10, -10 + 10.0 * i / (n - 1));
        g[s][i] = i % 7 == 3 ? 0.0 : mag * (r.nextBoolean() ? 1 : -1) * (0.5 + r.nextDouble());
      }
    }
    return g;
  }

  /** torch.optim.AdamW, single tensor, amsgrad false, in double. */
  private static double[] torchAdamW(double[] p0, double[][] grads, double[] lrs, double wd) {
    int n = p0.length;
    double[] p = p0.clone();
    double[] m = new double[n];
    double[] v = new double[n];
    for (int s = 0; s < grads.length; s++) {
      int step = s + 1;
      double lr = lrs[s];
      for (int i = 0; i < n; i++) {
        double g = grads[s][i];
        p[i] *= 1 - lr * wd;
        m[i] = B1 * m[i] + (1 - B1) * g;
        v[i] = B2 * v[i] + (1 - B2) * g * g;
        double bc1 = 1 - Math.pow(B1, step);
        double bc2 = 1 - Math.pow(B2, step);
        double stepSize = lr / bc1;
        double denom = Math.sqrt(v[i]) / Math.sqrt(bc2) + EPS;
        p[i] -= stepSize * m[i] / denom;
      }
    }
    return p;
  }

  @Test
  void fiveStepsMatchTorchFormulaWithDecayAndBiasCorrection() {
    int n = 50;
    int steps = 5;
    double wd = 0.01;
    NoamAnnealing noam = new NoamAnnealing(5.0, 64, 3, 0.0);
    double[][] grads = gradients(steps, n);
    double[] p0 = new double[n];
    Random r = new Random(3);
    for (int i = 0; i < n; i++) {
      p0[i] = r.nextGaussian();
    }
    double[] lrs = new double[steps];
    for (int s = 0; s < steps; s++) {
      lrs[s] = noam.lrForOptimizerStep(s + 1);
    }
    double[] expected = torchAdamW(p0, grads, lrs, wd);

    AdamW cfg = new AdamW(noam, B1, B2, EPS, wd);
    INDArray view = Nd4j.zeros(DataType.DOUBLE, 2 * n);
    GradientUpdater<?> u = cfg.instantiate(view, true);
    INDArray p = Nd4j.createFromArray(p0);
    for (int s = 0; s < steps; s++) {
      // what DecoupledWeightDecay does before the updater, then DL4J's p -= update
      p.muli(1 - cfg.getLearningRate(s, 0) * wd);
      DecoupledWeightDecay.markApplied(s);
      INDArray g = Nd4j.createFromArray(grads[s]);
      u.applyUpdater(g, s, 0);
      p.subi(g);
    }
    double[] actual = p.toDoubleVector();
    double maxRel = 0;
    for (int i = 0; i < n; i++) {
      double rel =
          Math.abs(actual[i] - expected[i]) / Math.max(1e-300, Math.abs(expected[i] - p0[i]));
      maxRel = Math.max(maxRel, rel);
    }
    // relative to the size of the total change, not of p: a real test of the update
    assertTrue(maxRel < 1e-11, "max relative error of the change " + maxRel);
    // the same steps give steps 1 and 2 the same lr (Noam indexing)
    assertEquals(lrs[0], lrs[1]);
    assertNotEquals(lrs[1], lrs[2]);
  }

  @Test
  void stateLivesInTheViewAsMThenV() {
    int n = 4;
    AdamW cfg = new AdamW(1e-3, B1, B2, EPS, 0.0);
    INDArray view = Nd4j.zeros(DataType.DOUBLE, 2 * n);
    GradientUpdater<?> u = cfg.instantiate(view, true);
    double[] g = {1, -2, 3, -4};
    u.applyUpdater(Nd4j.createFromArray(g), 0, 0);
    double[] s = view.toDoubleVector();
    for (int i = 0; i < n; i++) {
      assertEquals((1 - B1) * g[i], s[i], 1e-15);
      assertEquals((1 - B2) * g[i] * g[i], s[n + i], 1e-14);
    }
  }

  @Test
  void epsIsAddedAfterBiasCorrectionUnlikeDl4jAdam() {
    // first step, |g| = 1e-8: torch gives lr * g / (|g| + eps) = lr / 2; DL4J's Adam puts eps on
    // sqrt(v)
    double lr = 1e-3;
    double[] g = {1e-8};
    INDArray mine = Nd4j.createFromArray(g.clone());
    new AdamW(lr, B1, B2, EPS, 0.0)
        .instantiate(Nd4j.zeros(DataType.DOUBLE, 2), true)
        .applyUpdater(mine, 0, 0);
    assertEquals(lr / 2, mine.getDouble(0), 1e-18);
    INDArray dl4j = Nd4j.createFromArray(g.clone());
    new Adam(lr, B1, B2, EPS)
        .instantiate(Nd4j.zeros(DataType.DOUBLE, 1, 2), true)
        .applyUpdater(dl4j, 0, 0);
    double expectedDl4j =
        lr * Math.sqrt(1 - B2) / (1 - B1) * ((1 - B1) * 1e-8) / (Math.sqrt(1 - B2) * 1e-8 + EPS);
    assertEquals(expectedDl4j, dl4j.getDouble(0), 1e-15);
    assertTrue(
        Math.abs(dl4j.getDouble(0) - mine.getDouble(0)) > 0.3 * mine.getDouble(0),
        "the two eps placements must differ here");
  }

  @Test
  void refusesToStepWhenTheDecayDidNotRun() {
    AdamW cfg = new AdamW(1e-3, B1, B2, EPS, 1e-3);
    GradientUpdater<?> u = cfg.instantiate(Nd4j.zeros(DataType.DOUBLE, 2), true);
    DecoupledWeightDecay.markApplied(-5);
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class, () -> u.applyUpdater(Nd4j.createFromArray(1.0), 17, 0));
    assertTrue(e.getMessage().contains("DecoupledWeightDecay"), e.getMessage());
    // without weight decay no listener is needed
    new AdamW(1e-3, B1, B2, EPS, 0.0)
        .instantiate(Nd4j.zeros(DataType.DOUBLE, 2), true)
        .applyUpdater(Nd4j.createFromArray(1.0), 17, 0);
  }

  @Test
  void jsonRoundTripInsideAGraphConfiguration() {
    AdamW cfg = new AdamW(new NoamAnnealing(5.0, 176, 25000, 1e-6), 0.9, 0.98, 1e-8, 1e-3);
    ComputationGraph g = TestGraphs.graph(cfg, DataType.FLOAT, 0.9, 1);
    String json = g.getConfiguration().toJson();
    assertTrue(json.contains("org.nestspark.train.AdamW"), json);
    assertTrue(json.contains("org.nestspark.train.NoamAnnealing"), json);
    ComputationGraphConfiguration back = ComputationGraphConfiguration.fromJson(json);
    LayerVertex lv = (LayerVertex) back.getVertices().get("dense");
    BaseLayer dense = (BaseLayer) lv.getLayerConf().getLayer();
    assertEquals(cfg, dense.getIUpdater());
    assertEquals(json, back.toJson());
    AdamW copy = cfg.clone();
    assertEquals(cfg, copy);
    assertEquals(cfg.hashCode(), copy.hashCode());
    assertNotEquals(cfg, new AdamW(new NoamAnnealing(5.0, 176, 25000, 1e-6), 0.9, 0.98, 1e-8, 0.0));
  }
}
