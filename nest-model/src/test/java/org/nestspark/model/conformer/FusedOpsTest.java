package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;

/**
 * Each fused pass of the {@code java} kernels ({@link FusedOps}) against the chain of ND4J ops it replaces
 * (the {@code nd4j} path), in FLOAT and DOUBLE, with odd sizes, masked rows and dropout masks, on one and
 * on three threads (rows split over the {@link Parallel} pool).
 */
class FusedOpsTest {
  private static final int[][] SHAPES = {{1, 1}, {7, 5}, {13, 33}, {101, 176}};

  @AfterEach
  void restore() {
    ComputeThreads.apply(ComputeThreads.configured());
  }

  private static INDArray rand(Random r, DataType dt, long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    double[] a = new double[n];
    for (int i = 0; i < n; i++) {
      a[i] = 2 * r.nextGaussian() + 0.3;
    }
    return Nd4j.createFromArray(a).castTo(dt).reshape('c', shape);
  }

  /** 0 or 1/(1−p) with p = 0.3 (an inverted-dropout mask). */
  private static INDArray dropMask(Random r, DataType dt, long... shape) {
    INDArray m = rand(r, dt, shape);
    double[] v = m.castTo(DataType.DOUBLE).reshape(m.length()).toDoubleVector();
    for (int i = 0; i < v.length; i++) {
      v[i] = r.nextDouble() < 0.3 ? 0 : 1 / 0.7;
    }
    return Nd4j.createFromArray(v).castTo(dt).reshape('c', shape);
  }

  /** {@code [n, 1]} 1/0 with every third row 0 (masked rows). */
  private static INDArray rowMask(DataType dt, int n) {
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = i % 3 == 2 ? 0 : 1;
    }
    return Nd4j.createFromArray(v).castTo(dt).reshape('c', n, 1);
  }

  private static double tol(DataType dt) {
    return dt == DataType.DOUBLE ? 1e-12 : 2e-5;
  }

  private static void assertClose(INDArray expected, INDArray actual, double tol, String what) {
    assertEquals(expected.length(), actual.length(), what + ": length");
    double[] e = expected.castTo(DataType.DOUBLE).reshape(expected.length()).toDoubleVector();
    double[] a = actual.castTo(DataType.DOUBLE).reshape(actual.length()).toDoubleVector();
    for (int i = 0; i < e.length; i++) {
      double scale = Math.max(1.0, Math.abs(e[i]));
      assertTrue(
          Math.abs(e[i] - a[i]) <= tol * scale,
          what + "[" + i + "]: expected " + e[i] + ", got " + a[i]);
    }
  }

  private interface Case {
    void run(Random r, DataType dt, int n, int d);
  }

  private static void forAll(Case c) {
    for (int threads : new int[] {1, 3}) {
      Parallel.setThreads(threads);
      for (DataType dt : new DataType[] {DataType.DOUBLE, DataType.FLOAT}) {
        for (int[] s : SHAPES) {
          c.run(new Random(31L * s[0] + s[1]), dt, s[0], s[1]);
        }
      }
    }
  }

  @Test
  void layerNormForwardAndBackwardMatchNd4j() {
    forAll(
        (r, dt, n, d) -> {
          INDArray x = rand(r, dt, n, d);
          INDArray dy = rand(r, dt, n, d);
          INDArray res = rand(r, dt, n, d);
          Map<String, INDArray> p = new HashMap<>();
          p.put("w", rand(r, dt, d));
          p.put("b", rand(r, dt, d));
          Map<String, INDArray> gRef = grads(dt, d);
          Map<String, INDArray> gFused = grads(dt, d);

          LayerNormOp ref = new LayerNormOp("w", "b", 1e-5);
          INDArray yRef = ref.forward(x, p, false);
          INDArray dxRef = ref.backward(dy, p, gRef, res);
          LayerNormOp fused = new LayerNormOp("w", "b", 1e-5);
          INDArray y = fused.forward(x, p, true);
          INDArray dx = fused.backward(dy, p, gFused, res);

          double t = tol(dt);
          assertClose(yRef, y, t, "y");
          assertClose(dxRef, dx, t * 10, "dx");
          assertClose(gRef.get("w"), gFused.get("w"), t * n, "dγ");
          assertClose(gRef.get("b"), gFused.get("b"), t * n, "dβ");
          // without a residual
          assertClose(
              dxRef.sub(res), fused.backward(dy, p, grads(dt, d), null), t * 10, "dx, no residual");
        });
  }

  private static Map<String, INDArray> grads(DataType dt, int d) {
    Map<String, INDArray> g = new HashMap<>();
    g.put("w", Nd4j.zeros(dt, d));
    g.put("b", Nd4j.zeros(dt, d));
    return g;
  }

  @Test
  void residualAddAndItsBackwardMatchNd4j() {
    forAll(
        (r, dt, n, d) -> {
          INDArray x = rand(r, dt, n, d);
          INDArray f = rand(r, dt, n, d);
          INDArray m = dropMask(r, dt, n, d);
          for (double scale : new double[] {0.5, 1.0}) {
            assertClose(
                x.add(f.mul(m).mul(scale)),
                FusedOps.residualAdd(x, f, m, scale),
                tol(dt),
                "residual");
            assertClose(
                x.add(f.mul(scale)), FusedOps.residualAdd(x, f, null, scale), tol(dt), "no mask");
            assertClose(f.mul(m).mul(scale), FusedOps.scaledMask(f, m, scale), tol(dt), "backward");
            assertClose(f.mul(scale), FusedOps.scaledMask(f, null, scale), tol(dt), "no mask");
          }
        });
  }

  @Test
  void gluAndItsBackwardMatchNd4j() {
    forAll(
        (r, dt, n, d) -> {
          INDArray g = rand(r, dt, n, 2L * d);
          INDArray dglu = rand(r, dt, n, d);
          for (boolean masked : new boolean[] {true, false}) {
            INDArray rm = masked ? rowMask(dt, n) : null;
            INDArray a = g.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d));
            INDArray sig =
                Transforms.sigmoid(
                    g.get(NDArrayIndex.all(), NDArrayIndex.interval(d, 2 * d)), true);
            INDArray glu = a.mul(sig);
            INDArray dm = dglu.dup();
            if (rm != null) {
              glu.muliColumnVector(rm);
              dm.muliColumnVector(rm);
            }
            INDArray dgRef = Nd4j.concat(1, dm.mul(sig), dm.mul(a).muli(sig).muli(sig.rsub(1.0)));

            INDArray[] fused = FusedOps.glu(g, rm);
            assertClose(sig, fused[0], tol(dt), "σ(b)");
            assertClose(glu, fused[1], tol(dt), "glu");
            assertClose(dgRef, FusedOps.gluBackward(dglu, g, fused[0], rm), tol(dt), "dg");
          }
        });
  }

  /** The conv module's BatchNorm (training, batch statistics) + Swish, forward and backward. */
  @Test
  void channelNormSwishAndItsBackwardMatchNd4j() {
    forAll(
        (r, dt, n, d) -> {
          if (n < 2) {
            return;
          }
          double eps = 1e-5;
          INDArray y = rand(r, dt, n, d);
          INDArray gamma = rand(r, dt, 1, d);
          INDArray beta = rand(r, dt, 1, d);
          INDArray shift = rand(r, dt, 1, d);
          INDArray dsw = rand(r, dt, n, d);
          // reference, as ConformerConvolution's ND4J path
          INDArray mean = Ops.columnSum(y).divi(n);
          INDArray xc = y.subRowVector(mean);
          INDArray var = Ops.columnSum(xc.mul(xc)).divi(n);
          INDArray rstd = Transforms.pow(var.add(eps), -0.5, false);
          INDArray xhat = xc.mulRowVector(rstd);
          INDArray z = xhat.mulRowVector(gamma).addiRowVector(beta);
          INDArray[] sw = Ops.swish(z);
          INDArray dz = Ops.swishBackwardInPlace(dsw.dup(), z, sw[0]);
          INDArray dGamma = Ops.columnSum(dz.mul(xhat));
          INDArray dBeta = Ops.columnSum(dz);
          INDArray dxhat = dz.mulRowVector(gamma);
          INDArray meanG = Ops.columnSum(dxhat).divi(n);
          INDArray meanGx = Ops.columnSum(dxhat.mul(xhat)).divi(n);
          INDArray dx =
              dxhat.subRowVector(meanG).subi(xhat.mulRowVector(meanGx)).muliRowVector(rstd);
          INDArray dxEval = dz.mulRowVector(gamma).muliRowVector(rstd);

          // fused: moments about a shift, apply + swish, then the two backward passes
          double[] k = FusedOps.vector(shift);
          double[][] mom = FusedOps.shiftedColumnMoments(y, k);
          double[] mu = new double[d];
          double[] rs = new double[d];
          for (int j = 0; j < d; j++) {
            double sm = mom[0][j] / n;
            mu[j] = sm + k[j];
            rs[j] = 1 / Math.sqrt(mom[1][j] / n - sm * sm + eps);
          }
          double t = tol(dt) * 10;
          assertClose(mean, Nd4j.createFromArray(mu), t, "mean");
          assertClose(rstd, Nd4j.createFromArray(rs), t * 10, "rstd");
          // the rest from the reference statistics, so each pass is checked alone
          mu = FusedOps.vector(mean);
          rs = FusedOps.vector(rstd);
          double[] gm = FusedOps.vector(gamma);
          INDArray[] o = FusedOps.channelNormSwish(y, mu, rs, gm, FusedOps.vector(beta));
          assertClose(xhat, o[0], t, "x̂");
          assertClose(z, o[1], t, "z");
          assertClose(sw[0], o[2], t, "σ(z)");
          assertClose(sw[1], o[3], t, "swish");
          INDArray dzFused = dsw.dup('c');
          double[][] sums = FusedOps.swishBackwardColumnSums(dzFused, o[1], o[2], o[0]);
          assertClose(dz, dzFused, t, "dz");
          assertClose(dBeta, Nd4j.createFromArray(sums[0]), t * n, "Σ dz");
          assertClose(dGamma, Nd4j.createFromArray(sums[1]), t * n, "Σ dz·x̂");
          double[] mg = new double[d];
          double[] mgx = new double[d];
          for (int j = 0; j < d; j++) {
            mg[j] = sums[0][j] * gm[j] / n;
            mgx[j] = sums[1][j] * gm[j] / n;
          }
          assertClose(
              dx, FusedOps.channelNormBackward(dzFused, o[0], gm, mg, mgx, rs), t * 10, "dx");
          assertClose(
              dxEval,
              FusedOps.channelNormBackward(dzFused, o[0], gm, null, null, rs),
              t,
              "dx eval");
        });
  }

  /** Views and F-order inputs are copied to C order first; results are the same. */
  @Test
  void readsViewsAndFOrderArrays() {
    Random r = new Random(5);
    INDArray big = rand(r, DataType.FLOAT, 9, 20);
    INDArray view = big.get(NDArrayIndex.interval(2, 7), NDArrayIndex.interval(3, 14));
    INDArray f = view.dup('f');
    INDArray x = rand(r, DataType.FLOAT, 5, 11);
    INDArray expected = x.add(view.mul(0.5));
    assertClose(expected, FusedOps.residualAdd(x, view, null, 0.5), 1e-6, "view");
    assertClose(expected, FusedOps.residualAdd(x, f, null, 0.5), 1e-6, "f order");
  }
}
