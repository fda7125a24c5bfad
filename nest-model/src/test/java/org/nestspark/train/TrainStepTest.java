package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.listeners.ScoreIterationListener;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.testkit.TestGraphs;

/** {@link TrainStep}: empty-selection skip, non-finite undo, deterministic dropout, listeners. */
class TrainStepTest {

  private static AdamW adamw() {
    return new AdamW(new NoamAnnealing(1.0, 8, 2, 0.0), 0.9, 0.98, 1e-8, 1e-2);
  }

  private static double[] params(ComputationGraph g) {
    return TestGraphs.flat(g.params());
  }

  private static double[] updaterState(ComputationGraph g) {
    return TestGraphs.flat(g.getUpdater().getStateViewArray());
  }

  @Test
  void emptyLabelsMaskIsSkippedAndCounted() {
    ComputationGraph g = TestGraphs.graph(adamw(), DataType.FLOAT, 0.8, 1);
    TrainStep t = new TrainStep(g, 42, 0.0);
    assertTrue(t.fit(TestGraphs.batch(0, DataType.FLOAT, false)).done());
    double[] p = params(g);
    double[] s = updaterState(g);
    MultiDataSet empty = TestGraphs.batch(1, DataType.FLOAT, true);
    assertFalse(TrainStep.selectsAnyPosition(empty));
    TrainStep.StepResult r = t.fit(empty);
    assertEquals(TrainStep.Outcome.SKIPPED_EMPTY, r.outcome());
    assertEquals(2, r.step());
    assertTrue(Double.isNaN(r.score()));
    assertArrayEquals(p, params(g));
    assertArrayEquals(s, updaterState(g));
    assertEquals(1, g.getIterationCount());
    assertEquals(new TrainStep.Counters(1, 1, 0), t.counters());
    // DL4J alone would have stepped on it (score 0, momentum and decay still move the weights)
    ComputationGraph plain = g.clone();
    new TrainStep(plain, 42, 0.0);
    plain.fit(empty);
    assertEquals(0.0, plain.score(), 0.0);
    assertFalse(java.util.Arrays.equals(p, params(plain)));
  }

  @Test
  void nonFiniteStepIsNotTakenAtAll() {
    ComputationGraph g = TestGraphs.graph(adamw(), DataType.FLOAT, 0.8, 2);
    ComputationGraph reference = g.clone();
    TrainStep t = new TrainStep(g, 42, 0.0);
    TrainStep tr = new TrainStep(reference, 42, 0.0);
    MultiDataSet first = TestGraphs.batch(0, DataType.FLOAT, false);
    assertTrue(t.fit(first).done());
    assertTrue(tr.fit(first).done());

    double[] p = params(g);
    double[] s = updaterState(g);
    MultiDataSet bad = TestGraphs.batch(1, DataType.FLOAT, false);
    bad.getFeatures(0).putScalar(new long[] {0, 0, 0}, Float.NaN);
    TrainStep.StepResult r = t.fit(bad);
    assertEquals(TrainStep.Outcome.SKIPPED_NON_FINITE, r.outcome());
    assertTrue(Double.isNaN(r.score()));
    assertArrayEquals(p, params(g));
    assertArrayEquals(s, updaterState(g));
    assertEquals(1, g.getIterationCount());
    assertEquals(new TrainStep.Counters(1, 0, 1), t.counters());

    // training goes on exactly as if the bad batch had never been offered
    MultiDataSet next = TestGraphs.batch(2, DataType.FLOAT, false);
    assertTrue(t.fit(next).done());
    assertTrue(tr.fit(next).done());
    assertArrayEquals(params(reference), params(g));
    assertArrayEquals(updaterState(reference), updaterState(g));
  }

  @Test
  void infiniteLossIsNotTakenEither() {
    ComputationGraph g = TestGraphs.graph(adamw(), DataType.FLOAT, 1.0, 3);
    TrainStep t = new TrainStep(g, 42, 1.0);
    double[] p = params(g);
    MultiDataSet bad = TestGraphs.batch(1, DataType.FLOAT, false);
    bad.getFeatures(0).putScalar(new long[] {1, 2, 0}, Float.POSITIVE_INFINITY);
    assertEquals(TrainStep.Outcome.SKIPPED_NON_FINITE, t.fit(bad).outcome());
    assertArrayEquals(p, params(g));
    assertEquals(0, g.getIterationCount());
  }

  @Test
  void dropoutIsReproducibleFromSeedAndStep() {
    ComputationGraph a = TestGraphs.graph(adamw(), DataType.FLOAT, 0.5, 4);
    ComputationGraph b = a.clone();
    ComputationGraph c = a.clone();
    TrainStep ta = new TrainStep(a, 7, 0.0);
    TrainStep tb = new TrainStep(b, 7, 0.0);
    TrainStep tc = new TrainStep(c, 8, 0.0);
    for (int s = 0; s < 3; s++) {
      MultiDataSet batch = TestGraphs.batch(s, DataType.FLOAT, false);
      ta.fit(batch);
      Nd4j.getRandom().nextDouble(); // unrelated RNG use in between must not matter
      Nd4j.rand(DataType.FLOAT, 10);
      tb.fit(batch);
      tc.fit(batch);
    }
    assertArrayEquals(params(a), params(b));
    assertFalse(
        java.util.Arrays.equals(params(a), params(c)), "another seed draws other dropout masks");
    assertNotEquals(TrainStep.stepSeed(7, 0), TrainStep.stepSeed(7, 1));
    assertNotEquals(TrainStep.stepSeed(7, 0), TrainStep.stepSeed(8, 0));
  }

  @Test
  void listenersAreInstalledOnceAndOthersKept() {
    ComputationGraph g = TestGraphs.graph(adamw(), DataType.FLOAT, 1.0, 5);
    ScoreIterationListener other = new ScoreIterationListener(1000);
    g.setListeners(other);
    new TrainStep(g, 1, 0.5);
    new TrainStep(g, 1, 0.5);
    assertEquals(
        1, g.getListeners().stream().filter(l -> l instanceof DecoupledWeightDecay).count());
    assertEquals(1, g.getListeners().stream().filter(l -> l instanceof GradientClipping).count());
    assertTrue(g.getListeners().contains(other));
    // DecoupledWeightDecay.apply scales the graph's own parameter views
    INDArray w = g.getParam("dense_W").dup();
    DecoupledWeightDecay.apply(g, 0, 0);
    double lr = adamw().getLearningRate(0, 0);
    assertArrayEquals(
        TestGraphs.flat(w.mul(1 - lr * 1e-2)), TestGraphs.flat(g.getParam("dense_W")), 1e-9);
  }
}
