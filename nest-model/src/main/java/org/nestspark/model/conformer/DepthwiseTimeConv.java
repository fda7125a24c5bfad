package org.nestspark.model.conformer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.HeapArrays;
import org.nestspark.model.nn.Nd4jConv;
import org.nestspark.model.nn.Parallel;

/**
 * The conformer convolution module's depthwise convolution over time as Java loops on the {@link
 * Parallel} pool: rows {@code [B·T, d]} (row b·T + t), one filter of {@code k} taps per channel, zero
 * padding (k−1)/2 on both sides of each item, no mixing across items.
 *
 * <ul>
 *   <li>forward: {@code out[b,t,c] = bias[c] + Σ_τ w[c,τ]·in[b, t+τ−pad, c]};
 *   <li>input gradient: {@code din[b,t,c] = Σ_τ w[c,τ]·dout[b, t−τ+pad, c]};
 *   <li>weight gradient: {@code dw[c,τ] = Σ_{b,t} dout[b,t,c]·in[b, t+τ−pad, c]}, bias {@code Σ dout[·,c]}.
 * </ul>
 *
 * <p>Why not ND4J ops: as shifted row slices it took 2 ops per tap forward and 5 backward (about 70 ND4J
 * calls per layer and step, each a memory pass that does not get faster with more threads); here it is
 * one pass per direction, split over rows (the weight gradient sums per-chunk partials in chunk order,
 * so the result does not depend on scheduling). FLOAT and DOUBLE (gradient checks).
 */
final class DepthwiseTimeConv {
  private final int d;
  private final int k;
  private final int pad;

  DepthwiseTimeConv(int channels, int kernel) {
    this.d = channels;
    this.k = kernel;
    this.pad = (kernel - 1) / 2;
  }

  /** {@code w} as {@code [d, k]} values (PyTorch's {@code (d, 1, k)}) transposed to {@code [k, d]}. */
  private double[] tapsMajor(INDArray w) {
    double[] wc = w.reshape('c', d, k).castTo(DataType.DOUBLE).dup('c').data().asDouble();
    double[] t = new double[k * d];
    for (int c = 0; c < d; c++) {
      for (int tau = 0; tau < k; tau++) {
        t[tau * d + c] = wc[c * k + tau];
      }
    }
    return t;
  }

  INDArray forward(INDArray in, INDArray w, INDArray bias, int batch, int time) {
    double[] wt = tapsMajor(w);
    double[] b = bias.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    INDArray out = Nd4j.createUninitialized(in.dataType(), (long) batch * time, d);
    int n = batch * time;
    if (in.dataType() == DataType.FLOAT) {
      float[] x = HeapArrays.floats(in, null);
      float[] y = new float[n * d];
      float[] wf = toFloat(wt);
      float[] bf = toFloat(b);
      Parallel.forRange(
          n,
          (long) k * d,
          (chunk, from, to) -> {
            for (int r = from; r < to; r++) {
              int t = r % time;
              int base = r * d;
              System.arraycopy(bf, 0, y, base, d);
              for (int tau = 0; tau < k; tau++) {
                int tt = t + tau - pad;
                if (tt < 0 || tt >= time) {
                  continue;
                }
                int src = (r + tau - pad) * d;
                int wo = tau * d;
                for (int c = 0; c < d; c++) {
                  y[base + c] += wf[wo + c] * x[src + c];
                }
              }
            }
          });
      HeapArrays.put(y, out);
    } else {
      double[] x = HeapArrays.doubles(in, null);
      double[] y = new double[n * d];
      Parallel.forRange(
          n,
          (long) k * d,
          (chunk, from, to) -> {
            for (int r = from; r < to; r++) {
              int t = r % time;
              int base = r * d;
              System.arraycopy(b, 0, y, base, d);
              for (int tau = 0; tau < k; tau++) {
                int tt = t + tau - pad;
                if (tt < 0 || tt >= time) {
                  continue;
                }
                int src = (r + tau - pad) * d;
                int wo = tau * d;
                for (int c = 0; c < d; c++) {
                  y[base + c] += wt[wo + c] * x[src + c];
                }
              }
            }
          });
      HeapArrays.put(y, out);
    }
    return out;
  }

  /** Writes {@code dW (d, 1, k)} and {@code db (d)}, returns d(in) {@code [B·T, d]}. */
  INDArray backward(
      INDArray in, INDArray dout, INDArray w, INDArray dW, INDArray db, int batch, int time) {
    double[] wt = tapsMajor(w);
    int n = batch * time;
    int chunks = Parallel.chunks(n, 2L * k * d);
    double[][] partW = new double[chunks][k * d];
    double[][] partB = new double[chunks][d];
    INDArray din = Nd4j.createUninitialized(dout.dataType(), (long) n, d);
    if (dout.dataType() == DataType.FLOAT) {
      float[] x = HeapArrays.floats(in, null);
      float[] g = HeapArrays.floats(dout, null);
      float[] dx = new float[n * d];
      float[] wf = toFloat(wt);
      Parallel.forRange(
          n,
          2L * k * d,
          (chunk, from, to) -> {
            double[] pw = partW[chunk];
            double[] pb = partB[chunk];
            float[] acc = new float[k * d];
            for (int r = from; r < to; r++) {
              int t = r % time;
              int base = r * d;
              for (int c = 0; c < d; c++) {
                pb[c] += g[base + c];
              }
              for (int tau = 0; tau < k; tau++) {
                // weight gradient: dout[r] · in[r + τ − pad]
                int tt = t + tau - pad;
                if (tt >= 0 && tt < time) {
                  int src = (r + tau - pad) * d;
                  int wo = tau * d;
                  for (int c = 0; c < d; c++) {
                    acc[wo + c] += g[base + c] * x[src + c];
                  }
                }
                // input gradient: din[r] += w[τ] · dout[r − τ + pad]
                int to2 = t - tau + pad;
                if (to2 >= 0 && to2 < time) {
                  int src = (r - tau + pad) * d;
                  int wo = tau * d;
                  for (int c = 0; c < d; c++) {
                    dx[base + c] += wf[wo + c] * g[src + c];
                  }
                }
              }
            }
            for (int i = 0; i < acc.length; i++) {
              pw[i] += acc[i];
            }
          });
      HeapArrays.put(dx, din);
    } else {
      double[] x = HeapArrays.doubles(in, null);
      double[] g = HeapArrays.doubles(dout, null);
      double[] dx = new double[n * d];
      Parallel.forRange(
          n,
          2L * k * d,
          (chunk, from, to) -> {
            double[] pw = partW[chunk];
            double[] pb = partB[chunk];
            for (int r = from; r < to; r++) {
              int t = r % time;
              int base = r * d;
              for (int c = 0; c < d; c++) {
                pb[c] += g[base + c];
              }
              for (int tau = 0; tau < k; tau++) {
                int tt = t + tau - pad;
                if (tt >= 0 && tt < time) {
                  int src = (r + tau - pad) * d;
                  int wo = tau * d;
                  for (int c = 0; c < d; c++) {
                    pw[wo + c] += g[base + c] * x[src + c];
                  }
                }
                int to2 = t - tau + pad;
                if (to2 >= 0 && to2 < time) {
                  int src = (r - tau + pad) * d;
                  int wo = tau * d;
                  for (int c = 0; c < d; c++) {
                    dx[base + c] += wt[wo + c] * g[src + c];
                  }
                }
              }
            }
          });
      HeapArrays.put(dx, din);
    }
    double[] sw = new double[k * d];
    double[] sb = new double[d];
    for (int ch = 0; ch < chunks; ch++) {
      for (int i = 0; i < sw.length; i++) {
        sw[i] += partW[ch][i];
      }
      for (int i = 0; i < d; i++) {
        sb[i] += partB[ch][i];
      }
    }
    double[] wck = new double[d * k]; // back to (c, τ)
    for (int c = 0; c < d; c++) {
      for (int tau = 0; tau < k; tau++) {
        wck[c * k + tau] = sw[tau * d + c];
      }
    }
    dW.assign(
        Nd4j.create(wck, new long[] {d, 1, k}, 'c').castTo(dW.dataType()).reshape(dW.shape()));
    db.assign(Nd4j.create(sb, new long[] {d}, 'c').castTo(db.dataType()).reshape(db.shape()));
    return din;
  }

  // ------------------------------------------------------------------ libnd4j ops (model.kernels =
  // nd4j)

  /** The rows as NHWC {@code [B, T, 1, d]} (a view when {@code rows} is C-order contiguous). */
  private INDArray image(INDArray rows, int batch, int time) {
    return rows.reshape('c', batch, time, 1, d);
  }

  /** PyTorch's {@code (d, 1, k)} taps as libnd4j's depthwise {@code [1, d, k, 1]} (same order). */
  private INDArray taps(INDArray w) {
    return w.reshape('c', 1, d, k, 1);
  }

  /** {@link #forward} with libnd4j's {@code depthwise_conv2d} (kernel k×1, padding (k−1)/2 in time). */
  INDArray forwardNd4j(INDArray in, INDArray w, INDArray bias, int batch, int time) {
    INDArray out =
        Nd4j.createUninitialized(in.dataType(), new long[] {(long) batch * time, d}, 'c');
    Nd4jConv.depthwise(
        image(in, batch, time), taps(w), bias.reshape(d), image(out, batch, time), 1, pad, 0);
    return out;
  }

  /** {@link #backward} with libnd4j's {@code depthwise_conv2d_bp}. */
  INDArray backwardNd4j(
      INDArray in, INDArray dout, INDArray w, INDArray dW, INDArray db, int batch, int time) {
    INDArray din =
        Nd4j.createUninitialized(dout.dataType(), new long[] {(long) batch * time, d}, 'c');
    INDArray gw = Nd4j.createUninitialized(dout.dataType(), new long[] {1, d, k, 1}, 'c');
    INDArray gb = Nd4j.createUninitialized(dout.dataType(), new long[] {d}, 'c');
    Nd4jConv.depthwiseBp(
        image(in, batch, time),
        taps(w),
        Nd4j.zeros(dout.dataType(), d),
        image(dout, batch, time),
        image(din, batch, time),
        gw,
        gb,
        1,
        pad,
        0);
    dW.assign(gw.reshape(dW.shape()));
    db.assign(gb.reshape(db.shape()));
    return din;
  }

  private static float[] toFloat(double[] a) {
    float[] f = new float[a.length];
    for (int i = 0; i < a.length; i++) {
      f[i] = (float) a[i];
    }
    return f;
  }
}
