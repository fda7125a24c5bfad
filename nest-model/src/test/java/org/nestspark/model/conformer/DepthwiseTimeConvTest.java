package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;

/**
 * The depthwise convolution over time, Java loops and libnd4j's op ({@code model.kernels = nd4j}), against a
 * direct reference (zero padding per item, no mixing across items).
 */
class DepthwiseTimeConvTest {
  @AfterEach
  void restore() {
    ComputeThreads.apply(ComputeThreads.configured());
  }

  private static double[] rand(Random r, int n) {
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = r.nextGaussian();
    }
    return a;
  }

  @Test
  void matchesTheDefinitionForwardAndBackward() {
    for (int threads : new int[] {1, 3}) {
      Parallel.setThreads(threads);
      for (int k : new int[] {1, 3, 9}) {
        check(3, 7, 5, k, DataType.DOUBLE, 1e-12);
        check(4, 130, 8, k, DataType.FLOAT, 1e-4);
      }
    }
  }

  private static void check(int batch, int time, int d, int k, DataType dt, double tol) {
    Random r = new Random(batch * 1000 + time * 10 + k);
    int n = batch * time;
    int pad = (k - 1) / 2;
    double[] x = rand(r, n * d);
    double[] w = rand(r, d * k);
    double[] b = rand(r, d);
    double[] g = rand(r, n * d);
    double[] y = new double[n * d];
    double[] dx = new double[n * d];
    double[] dw = new double[d * k];
    double[] db = new double[d];
    for (int bi = 0; bi < batch; bi++) {
      for (int t = 0; t < time; t++) {
        for (int c = 0; c < d; c++) {
          int o = (bi * time + t) * d + c;
          y[o] = b[c];
          db[c] += g[o];
          for (int tau = 0; tau < k; tau++) {
            int tt = t + tau - pad;
            if (tt >= 0 && tt < time) {
              int i = (bi * time + tt) * d + c;
              y[o] += w[c * k + tau] * x[i];
              dx[i] += w[c * k + tau] * g[o];
              dw[c * k + tau] += g[o] * x[i];
            }
          }
        }
      }
    }
    DepthwiseTimeConv conv = new DepthwiseTimeConv(d, k);
    INDArray in = Nd4j.create(x, new long[] {n, d}, 'c').castTo(dt);
    INDArray wa = Nd4j.create(w, new long[] {d, 1, k}, 'c').castTo(dt);
    INDArray ba = Nd4j.create(b, new long[] {d}, 'c').castTo(dt);
    INDArray ga = Nd4j.create(g, new long[] {n, d}, 'c').castTo(dt);
    INDArray dW = Nd4j.create(dt, d, 1, k);
    INDArray dB = Nd4j.create(dt, d);
    assertArrayEquals(
        y, conv.forward(in, wa, ba, batch, time).castTo(DataType.DOUBLE).data().asDouble(), tol);
    assertArrayEquals(
        dx,
        conv.backward(in, ga, wa, dW, dB, batch, time).castTo(DataType.DOUBLE).data().asDouble(),
        tol);
    assertArrayEquals(dw, dW.castTo(DataType.DOUBLE).data().asDouble(), tol * 10);
    assertArrayEquals(db, dB.castTo(DataType.DOUBLE).data().asDouble(), tol * 10);
    // model.kernels = nd4j: libnd4j's depthwise_conv2d and its backward give the same numbers
    INDArray dW2 = Nd4j.create(dt, d, 1, k);
    INDArray dB2 = Nd4j.create(dt, d);
    assertArrayEquals(
        y,
        conv.forwardNd4j(in, wa, ba, batch, time).castTo(DataType.DOUBLE).data().asDouble(),
        tol);
    assertArrayEquals(
        dx,
        conv.backwardNd4j(in, ga, wa, dW2, dB2, batch, time)
            .castTo(DataType.DOUBLE)
            .data()
            .asDouble(),
        tol);
    assertArrayEquals(dw, dW2.castTo(DataType.DOUBLE).data().asDouble(), tol * 10);
    assertArrayEquals(db, dB2.castTo(DataType.DOUBLE).data().asDouble(), tol * 10);
  }
}
