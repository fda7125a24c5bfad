package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;

/** The one-pass AdamW update gives the ND4J ops' bits, on any thread count and on views. */
class AdamWKernelTest {
  @AfterEach
  void restore() {
    ComputeThreads.apply(ComputeThreads.configured());
  }

  /** Moments and gradients as in training: v ≥ 0, some exactly zero, tiny and large values. */
  private static INDArray[] state(DataType dt, long seed, long... shape) {
    Nd4j.getRandom().setSeed(seed);
    INDArray g = Nd4j.randn(dt, shape).muli(1e-3);
    INDArray m = Nd4j.randn(dt, shape).muli(1e-4);
    INDArray v = Nd4j.rand(dt, shape).muli(1e-7);
    if (g.length() >= 9) {
      g.reshape(g.length()).get(NDArrayIndex.interval(0, 5)).assign(0);
      v.reshape(v.length()).get(NDArrayIndex.interval(0, 3)).assign(0);
      m.reshape(m.length()).get(NDArrayIndex.interval(0, 3)).assign(0);
      g.reshape(g.length()).get(NDArrayIndex.interval(5, 9)).muli(1e6);
    }
    return new INDArray[] {g, m, v};
  }

  private static void assertSameBits(INDArray[] viaKernel, INDArray[] viaOps, String what) {
    for (int i = 0; i < 3; i++) {
      if (viaKernel[i].dataType() == DataType.FLOAT) {
        assertArrayEquals(
            viaOps[i].dup('c').data().asInt(),
            viaKernel[i].dup('c').data().asInt(),
            what + " " + i);
      } else {
        assertArrayEquals(
            viaOps[i].dup('c').data().asLong(),
            viaKernel[i].dup('c').data().asLong(),
            what + " " + i);
      }
    }
  }

  private static void compare(INDArray[] a, String what, int step) {
    INDArray[] b = {
      a[0].dup(a[0].ordering()), a[1].dup(a[1].ordering()), a[2].dup(a[2].ordering())
    };
    double beta1 = 0.9;
    double beta2 = 0.98;
    double eps = 1e-8;
    double t = step + 1.0;
    double bc2 = Math.sqrt(1.0 - Math.pow(beta2, t));
    double stepSize = 4e-4 / (1.0 - Math.pow(beta1, t));
    assertTrue(AdamWKernel.applies(a[0], a[1], a[2]), what);
    AdamWKernel.apply(a[0], a[1], a[2], beta1, beta2, eps, bc2, stepSize);
    AdamWUpdater.applyUpdaterNd4j(b[0], b[1], b[2], beta1, beta2, eps, bc2, stepSize);
    assertSameBits(a, b, what);
  }

  @Test
  void sameBitsAsTheNd4jOpsInFloatAndDouble() {
    for (int threads : new int[] {1, 3}) {
      Parallel.setThreads(threads);
      for (DataType dt : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
        // more than one chunk, and a length that is not a multiple of it
        compare(state(dt, 1, 70_001), dt + " vector, threads " + threads, 0);
        compare(state(dt, 2, 300, 177), dt + " matrix, threads " + threads, 7);
        compare(state(dt, 3, 1), dt + " single element", 3);
      }
    }
  }

  @Test
  void viewsAndFortranOrder() {
    Parallel.setThreads(2);
    for (DataType dt : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
      // DL4J's updater blocks: intervals of the flat gradient and state arrays, at an offset
      INDArray[] whole = state(dt, 4, 3 * 40_000);
      INDArray[] views = new INDArray[3];
      for (int i = 0; i < 3; i++) {
        views[i] = whole[i].get(NDArrayIndex.interval(40_000, 80_000)).reshape('f', 200, 200);
      }
      INDArray[] before = {whole[0].dup(), whole[1].dup(), whole[2].dup()};
      compare(views, dt + " f-order views at an offset", 2);
      // the elements outside the views are untouched
      for (int i = 0; i < 3; i++) {
        INDArray out = whole[i].get(NDArrayIndex.interval(0, 40_000));
        assertArrayEquals(
            before[i].get(NDArrayIndex.interval(0, 40_000)).toDoubleVector(),
            out.toDoubleVector(),
            0.0);
        assertArrayEquals(
            before[i].get(NDArrayIndex.interval(80_000, 120_000)).toDoubleVector(),
            whole[i].get(NDArrayIndex.interval(80_000, 120_000)).toDoubleVector(),
            0.0);
      }
    }
  }

  @Test
  void refusesWhatItCannotUpdateInPlace() {
    INDArray g = Nd4j.rand(DataType.FLOAT, 4, 6);
    assertFalse(AdamWKernel.applies(g, g.dup('f'), g.dup()), "orders differ");
    assertFalse(AdamWKernel.applies(g, Nd4j.rand(DataType.FLOAT, 6, 4), g.dup()), "shapes differ");
    assertFalse(AdamWKernel.applies(g, g.castTo(DataType.DOUBLE), g.dup()), "types differ");
    INDArray strided =
        Nd4j.rand(DataType.FLOAT, 4, 12).get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2, 12));
    assertFalse(AdamWKernel.applies(strided, strided.dup(), strided.dup()), "not dense");
  }
}
