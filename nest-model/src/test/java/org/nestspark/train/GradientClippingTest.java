package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nestspark.testkit.TestGraphs;

/**
 * {@link GradientClipping} against a hand computation of torch's {@code clip_grad_norm_} on DL4J's final
 * (minibatch-divided) gradients, read off an SGD step in double precision.
 */
class GradientClippingTest {
  private static final double LR = 0.1;

  /** Runs one clipped SGD step and checks every parameter against the hand computation; returns the norm. */
  private static double checkStep(double clip, long seed) {
    ComputationGraph graph = TestGraphs.graph(new Sgd(LR), DataType.DOUBLE, 1.0, seed);
    TrainStep trainer = new TrainStep(graph, 1, clip);
    MultiDataSet batch = TestGraphs.batch(seed, DataType.DOUBLE, false);
    Map<String, INDArray> raw = TestGraphs.rawGradients(graph, batch);
    Map<String, double[]> before = TestGraphs.params(graph);

    // hand computation: total 2-norm over trainable gradients after DL4J's division by the
    // minibatch size
    double sumSq = 0;
    int trainable = 0;
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      if (p.trainable()) {
        trainable++;
        for (double g : TestGraphs.flat(raw.get(p.key()))) {
          double gf = g / TestGraphs.MB;
          sumSq += gf * gf;
        }
      }
    }
    assertEquals(6, trainable, "dense W,b; bn gamma,beta; out W,b (BN mean/var excluded)");
    double norm = Math.sqrt(sumSq);
    double factor = Math.min(1.0, clip / (norm + 1e-6));

    assertTrue(trainer.fit(batch).done());
    assertEquals(norm, trainer.clipping().lastNorm(), 1e-12 * norm);
    assertEquals(factor, trainer.clipping().lastFactor(), 1e-12);
    Map<String, double[]> after = TestGraphs.params(graph);
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      double[] g = TestGraphs.flat(raw.get(p.key()));
      double[] p0 = before.get(p.key());
      double[] p1 = after.get(p.key());
      for (int i = 0; i < g.length; i++) {
        // running statistics keep DL4J's own (unclipped, undivided) update
        double expected = p.trainable() ? p0[i] - LR * factor * g[i] / TestGraphs.MB : p0[i] - g[i];
        assertEquals(
            expected, p1[i], 1e-13 + 1e-10 * Math.abs(expected - p0[i]), p.key() + "[" + i + "]");
      }
    }
    return norm;
  }

  @Test
  void clipsToTheGlobalNormOfTheFinalGradients() {
    double norm = checkStep(0.05, 31);
    assertTrue(norm > 0.05 * 2, "the clip must be active in this test, norm " + norm);
  }

  @Test
  void leavesSmallGradientsAlone() {
    double norm = checkStep(1e6, 32);
    assertTrue(norm < 1e6);
  }

  @Test
  void torchFactor() {
    assertEquals(1.0, GradientClipping.factor(1.0, 0.5));
    assertEquals(1.0 / (2.0 + 1e-6), GradientClipping.factor(1.0, 2.0), 0.0);
    // torch clamps clip/(norm+1e-6) at 1: at norm == clip the factor is just below 1
    assertTrue(GradientClipping.factor(1.0, 1.0) < 1.0);
    assertTrue(Double.isNaN(GradientClipping.factor(1.0, Double.NaN)));
    assertEquals(0.0, GradientClipping.factor(1.0, Double.POSITIVE_INFINITY));
    assertThrows(IllegalArgumentException.class, () -> new GradientClipping(0.0));
  }

  @Test
  void zeroClipValueInstallsNoClipping() {
    ComputationGraph graph = TestGraphs.graph(new Sgd(LR), DataType.DOUBLE, 1.0, 33);
    TrainStep t = new TrainStep(graph, 1, 0.0);
    assertEquals(null, t.clipping());
    assertTrue(graph.getListeners().stream().noneMatch(l -> l instanceof GradientClipping));
  }
}
