package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.learning.config.Sgd;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.nestspark.config.NestConfig;
import org.nestspark.config.OptimSettings;
import org.nestspark.testkit.TestGraphs;

/** {@link NoamAnnealing}: docs/nest-numerics.md §9 values, NeMo's step indexing on a real DL4J fit, resume, config. */
class NoamAnnealingTest {

  private static void assertRel(double expected, double actual, double rel) {
    assertEquals(
        expected, actual, Math.abs(expected) * rel, "expected " + expected + " got " + actual);
  }

  @Test
  void specValuesD512() {
    NoamAnnealing n = new NoamAnnealing(5.0, 512, 25000, 1e-6);
    // docs/nest-numerics.md §9 prints 7 significant digits
    assertRel(5.590170e-08, n.lr(1), 1e-6);
    assertRel(5.590170e-05, n.lr(1000), 1e-6);
    assertRel(6.987712e-04, n.lr(12500), 1e-6);
    assertRel(1.397542e-03, n.lr(25000), 1e-6);
    assertRel(6.987712e-04, n.lr(100000), 1e-6);
    assertRel(3.125000e-04, n.lr(500000), 1e-6);
    // peak at the end of warm-up
    assertTrue(n.lr(24999) < n.lr(25000) && n.lr(25001) < n.lr(25000));
  }

  @Test
  void specValuesD176() {
    NoamAnnealing n = new NoamAnnealing(5.0, 176, 25000, 1e-6);
    assertRel(9.534626e-08, n.lr(1), 1e-6);
    assertRel(2.383656e-03, n.lr(25000), 1e-6);
    assertRel(5.330018e-04, n.lr(500000), 1e-6);
  }

  @Test
  void dl4jIterationIndexing() {
    NoamAnnealing n = new NoamAnnealing(5.0, 512, 25000, 1e-6);
    // iteration i (0-based, = steps done) uses lr(max(1, i)): optimiser steps 1 and 2 both use
    // lr(1)
    assertEquals(n.lr(1), n.valueAt(0, 0));
    assertEquals(n.lr(1), n.valueAt(1, 0));
    assertEquals(n.lr(2), n.valueAt(2, 0));
    assertEquals(n.lr(999), n.valueAt(999, 3));
    assertEquals(n.valueAt(0, 0), n.lrForOptimizerStep(1));
    assertEquals(n.valueAt(1, 0), n.lrForOptimizerStep(2));
    assertEquals(n.valueAt(2, 0), n.lrForOptimizerStep(3));
  }

  @Test
  void minLrOnlyAfterWarmup() {
    NoamAnnealing n = new NoamAnnealing(5.0, 512, 25000, 1e-3);
    assertRel(5.590170e-05, n.lr(1000), 1e-6); // below min_lr during warm-up: not clamped
    assertRel(1.397542e-03, n.lr(25000), 1e-6); // s = warmup: not clamped (above anyway)
    assertEquals(1e-3, n.lr(100000)); // 6.99e-4 after warm-up: clamped
    NoamAnnealing noWarmup = new NoamAnnealing(2.0, 64, 0, 0.0);
    assertEquals(2.0 / 8 / Math.sqrt(9), noWarmup.lr(9), 1e-15);
  }

  @Test
  void rejectsBadSettings() {
    assertThrows(IllegalArgumentException.class, () -> new NoamAnnealing(0.0, 512, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new NoamAnnealing(1e-7, 512, 1, 1e-6));
    assertThrows(IllegalArgumentException.class, () -> new NoamAnnealing(5, 512, -1, 0));
    assertThrows(IllegalArgumentException.class, () -> OptimSettings.warmupFromRatio(0.1, -1));
  }

  @Test
  void fromConfigWarmupStepsOrRatio() {
    NestConfig defaults = NestConfig.defaults();
    NoamAnnealing n = NoamAnnealing.of(defaults.settings().optim());
    assertEquals(new NoamAnnealing(5.0, 512, 25000, 1e-6), n);
    NestConfig small = defaults.with(Map.of("model.optim.sched.d_model", 176));
    assertEquals(176, NoamAnnealing.of(small.settings().optim()).getDModel());
    NestConfig ratio =
        defaults.with(Map.of("model.optim.sched.warmup_ratio", 0.05, "trainer.max_steps", 1234));
    assertEquals(
        61,
        NoamAnnealing.of(ratio.settings().optim())
            .getWarmupSteps()); // int(0.05 * 1234) = int(61.7)
    AdamW a = AdamW.of(defaults.settings().optim());
    assertEquals(0.9, a.getBeta1());
    assertEquals(0.98, a.getBeta2());
    assertEquals(1e-8, a.getEpsilon());
    assertEquals(1e-3, a.getWeightDecay());
    assertEquals(n, a.getLearningRateSchedule());
  }

  @Test
  void jsonRoundTrip() throws Exception {
    NoamAnnealing n = new NoamAnnealing(5.0, 176, 25000, 1e-6);
    ObjectMapper m = new ObjectMapper();
    String json = m.writeValueAsString(n);
    assertTrue(json.contains("\"@class\":\"org.nestspark.train.NoamAnnealing\""), json);
    assertEquals(n, m.readValue(json, org.nd4j.linalg.schedule.ISchedule.class));
  }

  /**
   * The learning rate DL4J really applied at each step of a graph fit, read off the parameter change of an
   * SGD step ({@code Δp = −lr · g / mb}) on DL4J's own gradient; double precision.
   */
  private static double observedLr(ComputationGraph graph, MultiDataSet batch) {
    Map<String, INDArray> raw = TestGraphs.rawGradients(graph, batch);
    double[] before = TestGraphs.params(graph).get("dense_W");
    graph.fit(batch);
    double[] after = TestGraphs.params(graph).get("dense_W");
    double[] g = TestGraphs.flat(raw.get("dense_W"));
    double num = 0;
    double den = 0;
    for (int i = 0; i < g.length; i++) {
      double gf = g[i] / TestGraphs.MB;
      num += (before[i] - after[i]) * gf;
      den += gf * gf;
    }
    return num / den;
  }

  @Test
  void dl4jAppliesLr1AtSteps1And2AndContinuesAfterRestore() throws Exception {
    NoamAnnealing noam = new NoamAnnealing(3.0, 16, 4, 0.0);
    ComputationGraph graph = TestGraphs.graph(new Sgd(noam), DataType.DOUBLE, 1.0, 21);
    double[] lrs = new double[6];
    for (int s = 0; s < 3; s++) {
      lrs[s] = observedLr(graph, TestGraphs.batch(s, DataType.DOUBLE, false));
    }
    assertRel(noam.lr(1), lrs[0], 1e-9);
    assertRel(noam.lr(1), lrs[1], 1e-9);
    assertRel(noam.lr(2), lrs[2], 1e-9);
    assertTrue(noam.lr(2) > noam.lr(1) * 1.5, "warm-up: the test must be able to tell steps apart");

    // save after 3 steps, restore, continue: the iteration count travels with the graph
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    ModelSerializer.writeModel(graph, bos, true);
    ComputationGraph restored =
        ModelSerializer.restoreComputationGraph(new ByteArrayInputStream(bos.toByteArray()), true);
    assertEquals(3, restored.getIterationCount());
    for (int s = 3; s < 6; s++) {
      lrs[s] = observedLr(restored, TestGraphs.batch(s, DataType.DOUBLE, false));
    }
    assertRel(noam.lr(3), lrs[3], 1e-9);
    assertRel(noam.lr(4), lrs[4], 1e-9);
    assertRel(noam.lr(5), lrs[5], 1e-9);
    assertTrue(noam.lr(5) < noam.lr(4), "past warm-up the rate decays");
  }
}
