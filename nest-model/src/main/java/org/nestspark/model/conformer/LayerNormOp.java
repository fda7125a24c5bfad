package org.nestspark.model.conformer;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Kernels;
import org.nestspark.model.nn.Parallel;

/**
 * PyTorch {@code LayerNorm(d, eps=1e-5)} over the last axis of row matrices {@code [N, d]}: biased
 * variance, {@code y = (x − μ)/√(σ² + eps)·γ + β}. Keeps what its backward needs from the last forward.
 *
 * <p>On the {@code java} kernels ({@link Kernels}) the row-wise parts run as one Java pass per row and
 * direction instead of five to eight ND4J passes over the matrix, with the same IEEE operations in the same
 * order (row means as sequential sums divided by d, as libnd4j's {@code mean} along a row does; the
 * {@code (σ² + eps)^−½} and the column sums of dγ, dβ still by ND4J), so both paths give the same bits
 * (LayerNormOpTest).
 */
final class LayerNormOp {
  private final String weight;
  private final String bias;
  private final double eps;
  private final String kernels;

  private INDArray xhat;
  private INDArray rstd;

  LayerNormOp(String weight, String bias, double eps, String kernels) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
    this.kernels = kernels;
  }

  INDArray forward(INDArray x, Map<String, INDArray> params) {
    INDArray gamma = params.get(weight).reshape(1, -1);
    INDArray beta = params.get(bias).reshape(1, -1);
    if (Kernels.nd4j(kernels) || !rows(x)) {
      INDArray mu = x.mean(true, 1);
      INDArray xc = x.subColumnVector(mu);
      INDArray var = xc.mul(xc).mean(true, 1);
      rstd = Transforms.pow(var.addi(eps), -0.5, false);
      xhat = xc.muliColumnVector(rstd);
      return xhat.mulRowVector(gamma).addiRowVector(beta);
    }
    int n = (int) x.size(0);
    int d = (int) x.size(1);
    xhat = x.ulike();
    INDArray var = Nd4j.createUninitialized(x.dataType(), n, 1);
    DenseBuffer in = new DenseBuffer(x);
    DenseBuffer xc = new DenseBuffer(xhat);
    DenseBuffer v = new DenseBuffer(var);
    // pass 1: x − μ (kept in xhat) and the biased variance
    Parallel.forRange(
        n,
        4L * d,
        (k, from, to) -> {
          if (in.f != null) {
            float[] row = new float[d];
            float fd = d;
            for (int r = from; r < to; r++) {
              in.f.get(in.base + r * d, row, 0, d);
              float sum = 0f;
              for (int j = 0; j < d; j++) {
                sum += row[j];
              }
              float mu = sum / fd;
              float sq = 0f;
              for (int j = 0; j < d; j++) {
                float c = row[j] - mu;
                row[j] = c;
                sq += c * c;
              }
              xc.f.put(xc.base + r * d, row, 0, d);
              v.f.put(v.base + r, sq / fd);
            }
          } else {
            double[] row = new double[d];
            for (int r = from; r < to; r++) {
              in.d.get(in.base + r * d, row, 0, d);
              double sum = 0.0;
              for (int j = 0; j < d; j++) {
                sum += row[j];
              }
              double mu = sum / d;
              double sq = 0.0;
              for (int j = 0; j < d; j++) {
                double c = row[j] - mu;
                row[j] = c;
                sq += c * c;
              }
              xc.d.put(xc.base + r * d, row, 0, d);
              v.d.put(v.base + r, sq / d);
            }
          }
        });
    rstd = Transforms.pow(var.addi(eps), -0.5, false);
    INDArray y = x.ulike();
    DenseBuffer rs = new DenseBuffer(rstd);
    DenseBuffer out = new DenseBuffer(y);
    DenseBuffer g = new DenseBuffer(gamma);
    DenseBuffer b = new DenseBuffer(beta);
    // pass 2: x̂ = (x − μ)·rstd, y = x̂·γ + β
    Parallel.forRange(
        n,
        3L * d,
        (k, from, to) -> {
          if (in.f != null) {
            float[] row = new float[d];
            float[] ga = new float[d];
            float[] be = new float[d];
            g.f.get(g.base, ga, 0, d);
            b.f.get(b.base, be, 0, d);
            for (int r = from; r < to; r++) {
              xc.f.get(xc.base + r * d, row, 0, d);
              float s = rs.f.get(rs.base + r);
              for (int j = 0; j < d; j++) {
                row[j] = row[j] * s;
              }
              xc.f.put(xc.base + r * d, row, 0, d);
              for (int j = 0; j < d; j++) {
                row[j] = row[j] * ga[j] + be[j];
              }
              out.f.put(out.base + r * d, row, 0, d);
            }
          } else {
            double[] row = new double[d];
            double[] ga = new double[d];
            double[] be = new double[d];
            g.d.get(g.base, ga, 0, d);
            b.d.get(b.base, be, 0, d);
            for (int r = from; r < to; r++) {
              xc.d.get(xc.base + r * d, row, 0, d);
              double s = rs.d.get(rs.base + r);
              for (int j = 0; j < d; j++) {
                row[j] = row[j] * s;
              }
              xc.d.put(xc.base + r * d, row, 0, d);
              for (int j = 0; j < d; j++) {
                row[j] = row[j] * ga[j] + be[j];
              }
              out.d.put(out.base + r * d, row, 0, d);
            }
          }
        });
    return y;
  }

  /**
   * Writes dγ and dβ into {@code grads} and returns dx:
   * {@code dx = rstd·(g − mean(g) − x̂·mean(g·x̂))} with {@code g = dy·γ}.
   */
  INDArray backward(INDArray dy, Map<String, INDArray> params, Map<String, INDArray> grads) {
    INDArray dGamma = grads.get(weight);
    INDArray dBeta = grads.get(bias);
    INDArray gamma = params.get(weight).reshape(1, -1);
    if (Kernels.nd4j(kernels) || !rows(dy) || !rows(xhat)) {
      dGamma.assign(Ops.columnSum(dy.mul(xhat)).reshape(dGamma.shape()));
      dBeta.assign(Ops.columnSum(dy).reshape(dBeta.shape()));
      INDArray g = dy.mulRowVector(gamma);
      INDArray meanG = g.mean(true, 1);
      INDArray meanGx = g.mul(xhat).mean(true, 1);
      INDArray dx = g.subiColumnVector(meanG).subi(xhat.mulColumnVector(meanGx));
      return dx.muliColumnVector(rstd);
    }
    int n = (int) dy.size(0);
    int d = (int) dy.size(1);
    INDArray dyx = dy.ulike();
    INDArray dx = dy.ulike();
    DenseBuffer up = new DenseBuffer(dy);
    DenseBuffer xh = new DenseBuffer(xhat);
    DenseBuffer rs = new DenseBuffer(rstd);
    DenseBuffer ga = new DenseBuffer(gamma);
    DenseBuffer prod = new DenseBuffer(dyx);
    DenseBuffer out = new DenseBuffer(dx);
    Parallel.forRange(
        n,
        8L * d,
        (k, from, to) -> {
          if (up.f != null) {
            float[] gy = new float[d];
            float[] x = new float[d];
            float[] gm = new float[d];
            float[] t = new float[d];
            float fd = d;
            ga.f.get(ga.base, gm, 0, d);
            for (int r = from; r < to; r++) {
              up.f.get(up.base + r * d, gy, 0, d);
              xh.f.get(xh.base + r * d, x, 0, d);
              for (int j = 0; j < d; j++) {
                t[j] = gy[j] * x[j];
              }
              prod.f.put(prod.base + r * d, t, 0, d);
              float sg = 0f;
              float sgx = 0f;
              for (int j = 0; j < d; j++) {
                float g = gy[j] * gm[j];
                gy[j] = g;
                sg += g;
              }
              for (int j = 0; j < d; j++) {
                sgx += gy[j] * x[j];
              }
              float meanG = sg / fd;
              float meanGx = sgx / fd;
              float s = rs.f.get(rs.base + r);
              for (int j = 0; j < d; j++) {
                t[j] = ((gy[j] - meanG) - (x[j] * meanGx)) * s;
              }
              out.f.put(out.base + r * d, t, 0, d);
            }
          } else {
            double[] gy = new double[d];
            double[] x = new double[d];
            double[] gm = new double[d];
            double[] t = new double[d];
            ga.d.get(ga.base, gm, 0, d);
            for (int r = from; r < to; r++) {
              up.d.get(up.base + r * d, gy, 0, d);
              xh.d.get(xh.base + r * d, x, 0, d);
              for (int j = 0; j < d; j++) {
                t[j] = gy[j] * x[j];
              }
              prod.d.put(prod.base + r * d, t, 0, d);
              double sg = 0.0;
              double sgx = 0.0;
              for (int j = 0; j < d; j++) {
                double g = gy[j] * gm[j];
                gy[j] = g;
                sg += g;
              }
              for (int j = 0; j < d; j++) {
                sgx += gy[j] * x[j];
              }
              double meanG = sg / d;
              double meanGx = sgx / d;
              double s = rs.d.get(rs.base + r);
              for (int j = 0; j < d; j++) {
                t[j] = ((gy[j] - meanG) - (x[j] * meanGx)) * s;
              }
              out.d.put(out.base + r * d, t, 0, d);
            }
          }
        });
    dGamma.assign(Ops.columnSum(dyx).reshape(dGamma.shape()));
    dBeta.assign(Ops.columnSum(dy).reshape(dBeta.shape()));
    return dx;
  }

  /** Whether the java row passes take {@code a}: a dense C-order FLOAT or DOUBLE row matrix. */
  private static boolean rows(INDArray a) {
    return a.rank() == 2
        && a.ordering() == 'c'
        && a.elementWiseStride() == 1
        && (a.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT
            || a.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE);
  }

  void clear() {
    xhat = null;
    rstd = null;
  }
}
