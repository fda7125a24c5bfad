package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.testkit.TestGraphs;

/**
 * AdamW + Noam through a real DL4J graph fit ({@link TrainStep}), in double precision, against torch's
 * formulas applied by hand to DL4J's own gradients: decoupled decay on every trainable tensor (dense W/b,
 * BatchNorm gamma/beta, output W/b), bias correction, the schedule's step indexing, and BatchNorm running
 * statistics (NoOp updater) neither decayed nor Adam-updated.
 */
class AdamWGraphTest {
  private static final double B1 = 0.9;
  private static final double B2 = 0.98;
  private static final double EPS = 1e-8;

  @Test
  void fourGraphStepsMatchTorchAdamWByHand() {
    double wd = 0.05;
    NoamAnnealing noam = new NoamAnnealing(2.0, 16, 3, 0.0);
    AdamW adamw = new AdamW(noam, B1, B2, EPS, wd);
    ComputationGraph graph = TestGraphs.graph(adamw, DataType.DOUBLE, 1.0, 11);
    TrainStep trainer = new TrainStep(graph, 5, 0.0);

    Map<String, double[]> m = new HashMap<>();
    Map<String, double[]> v = new HashMap<>();
    int steps = 4;
    int checkedTrainable = 0;
    for (int s = 0; s < steps; s++) {
      MultiDataSet batch = TestGraphs.batch(s, DataType.DOUBLE, false);
      Map<String, double[]> before = TestGraphs.params(graph);
      Map<String, INDArray> raw = TestGraphs.rawGradients(graph, batch);
      int k = s + 1; // optimiser step, 1-based
      double lr = noam.lr(Math.max(1, k - 1));

      TrainStep.StepResult res = trainer.fit(batch);
      assertTrue(res.done(), res.toString());
      assertEquals(k, res.step());
      assertEquals(lr, res.learningRate(), 0.0);
      Map<String, double[]> after = TestGraphs.params(graph);

      for (TrainableParams.Param p : TrainableParams.of(graph)) {
        double[] p0 = before.get(p.key());
        double[] g = TestGraphs.flat(raw.get(p.key()));
        double[] got = after.get(p.key());
        double[] exp = new double[p0.length];
        if (p.updater() instanceof NoOp) {
          // BatchNorm running mean/var: DL4J's own update (the "gradient" is the change), no decay,
          // no Adam
          for (int i = 0; i < p0.length; i++) {
            exp[i] = p0[i] - g[i];
          }
        } else {
          assertTrue(p.updater() instanceof AdamW, p.key());
          double[] mm = m.computeIfAbsent(p.key(), x -> new double[p0.length]);
          double[] vv = v.computeIfAbsent(p.key(), x -> new double[p0.length]);
          for (int i = 0; i < p0.length; i++) {
            double gi = g[i] / TestGraphs.MB; // DL4J's minibatch division
            double pi = p0[i] * (1 - lr * wd);
            mm[i] = B1 * mm[i] + (1 - B1) * gi;
            vv[i] = B2 * vv[i] + (1 - B2) * gi * gi;
            double stepSize = lr / (1 - Math.pow(B1, k));
            exp[i] =
                pi - stepSize * mm[i] / (Math.sqrt(vv[i]) / Math.sqrt(1 - Math.pow(B2, k)) + EPS);
          }
          checkedTrainable++;
        }
        for (int i = 0; i < p0.length; i++) {
          double scale = Math.max(Math.abs(exp[i] - p0[i]), 1e-12);
          assertEquals(exp[i], got[i], 1e-9 * scale + 1e-15, p.key() + "[" + i + "] at step " + k);
        }
      }
    }
    // dense W,b; bn gamma,beta; out W,b — each checked at every step
    assertEquals(6 * steps, checkedTrainable);
    assertEquals(steps, graph.getIterationCount());
    assertNotNull(graph.getUpdater().getStateViewArray());
  }

  @Test
  void batchNormRunningStatisticsAreNotDecayed() {
    // large weight decay: a decayed running variance would visibly shrink
    AdamW adamw = new AdamW(0.1, B1, B2, EPS, 0.5);
    ComputationGraph graph = TestGraphs.graph(adamw, DataType.DOUBLE, 1.0, 12);
    new TrainStep(graph, 5, 0.0);
    MultiDataSet batch = TestGraphs.batch(0, DataType.DOUBLE, false);
    Map<String, INDArray> raw = TestGraphs.rawGradients(graph, batch);
    Map<String, double[]> before = TestGraphs.params(graph);
    graph.fit(batch);
    Map<String, double[]> after = TestGraphs.params(graph);
    int noOps = 0;
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      if (!p.trainable()) {
        noOps++;
        double[] g = TestGraphs.flat(raw.get(p.key()));
        double change = 0;
        for (int i = 0; i < g.length; i++) {
          assertEquals(before.get(p.key())[i] - g[i], after.get(p.key())[i], 1e-14, p.key());
          change += Math.abs(after.get(p.key())[i] - before.get(p.key())[i]);
        }
        assertTrue(
            change > 1e-3,
            p.key() + " must change (running statistics are updated), changed by " + change);
      }
    }
    assertEquals(2, noOps, "BatchNorm's running mean and variance (or log10 std)");
    double[] gamma1 = TestGraphs.params(graph).get("bn_gamma");
    // gamma started at 1: decayed by (1 - 0.1*0.5) and moved by at most ~lr by Adam
    for (double x : gamma1) {
      assertTrue(Math.abs(x - 0.95) <= 0.1 + 1e-12, "gamma " + x);
    }
  }

  @Test
  void fittingWithoutTheDecayListenerFailsLoudly() {
    ComputationGraph graph =
        TestGraphs.graph(new AdamW(1e-3, B1, B2, EPS, 1e-3), DataType.FLOAT, 1.0, 13);
    DecoupledWeightDecay.clearMark();
    IllegalStateException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IllegalStateException.class,
            () -> graph.fit(TestGraphs.batch(0, DataType.FLOAT, false)));
    assertTrue(e.getMessage().contains("DecoupledWeightDecay"), e.getMessage());
    // after a properly decayed step, the mark is cleared again: a second graph without listener
    // still fails
    ComputationGraph ok =
        TestGraphs.graph(new AdamW(1e-3, B1, B2, EPS, 1e-3), DataType.FLOAT, 1.0, 14);
    new TrainStep(ok, 1, 0.0).fit(TestGraphs.batch(0, DataType.FLOAT, false));
    ComputationGraph other =
        TestGraphs.graph(new AdamW(1e-3, B1, B2, EPS, 1e-3), DataType.FLOAT, 1.0, 15);
    org.junit.jupiter.api.Assertions.assertThrows(
        IllegalStateException.class, () -> other.fit(TestGraphs.batch(0, DataType.FLOAT, false)));
  }
}
