package org.nestspark.model.subsampling;

import org.nestspark.model.nn.Parallel;
import org.nestspark.model.nn.VecOps;

/**
 * The first convolution of NeMo's dw_striding subsampling ({@code pre_encode.conv.0}, docs/nest-numerics.md §6.1):
 * Conv2d(1 → C, 3×3, stride 2, padding 1) on the features read as an image (time = height), with
 * MaskedConvSequential's time masks and the following ReLU fused in, as plain Java loops (channels-last
 * output {@code [B, T1, F1, C]}, innermost loop over contiguous channels). Forward, weight/bias gradients
 * and input gradient, in float and double.
 */
public final class FirstConv2dS2 {
  private FirstConv2dS2() {}

  // ------------------------------------------------------------------ float
  /**
   * Forward with NeMo's masks and the ReLU fused: {@code y[b,i,j,c] = max(0, bias[c] + Σ_{kh,kw}
   * w[c,kh,kw] · x[b, 2j+kw−1, 2i+kh−1])} for {@code i < outLengths[b]}, 0 for later rows; input frames
   * {@code t ≥ inLengths[b]} count as 0.
   *
   * @param x input {@code [B, F, T]} (NCW features; the image is its transpose, time = height)
   * @param w weights in NeMo's order {@code (C, 1, 3, 3)}
   * @param y output {@code [B, T1, F1, C]}, overwritten
   */
  public static void forward(
      float[] x,
      int batch,
      int f,
      int t,
      int[] inLengths,
      int[] outLengths,
      float[] w,
      float[] bias,
      int c,
      float[] y) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    final float[][] wk = tapsMajor(w, c);
    Parallel.forRange(
        batch * t1,
        9L * f1 * c,
        (chunk, from, to) -> {
          float[] acc = new float[c];
          for (int bi = from; bi < to; bi++) {
            int b = bi / t1;
            int i = bi % t1;
            int rowBase = (b * t1 + i) * f1 * c;
            if (i >= outLengths[b]) {
              java.util.Arrays.fill(y, rowBase, rowBase + f1 * c, 0);
              continue;
            }
            for (int j = 0; j < f1; j++) {
              System.arraycopy(bias, 0, acc, 0, c);
              for (int kh = 0; kh < 3; kh++) {
                int tt = 2 * i + kh - 1;
                if (tt < 0 || tt >= t || tt >= inLengths[b]) {
                  continue;
                }
                for (int kw = 0; kw < 3; kw++) {
                  int ff = 2 * j + kw - 1;
                  if (ff < 0 || ff >= f) {
                    continue;
                  }
                  VecOps.axpy(acc, x[(b * f + ff) * t + tt], wk[kh * 3 + kw], c);
                }
              }
              VecOps.relu(acc, c);
              System.arraycopy(acc, 0, y, rowBase + j * c, c);
            }
          }
        });
  }

  /**
   * Weight and bias gradients: {@code dw[c,kh,kw] = Σ dz[b,i,j,c] · x[b, 2j+kw−1, 2i+kh−1]},
   * {@code db[c] = Σ dz[b,i,j,c]} (dz: gradient before the ReLU, zero at masked rows).
   */
  public static void backwardWeights(
      float[] x,
      float[] dz,
      int batch,
      int f,
      int t,
      int[] inLengths,
      int c,
      float[] dw,
      float[] db) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    final int rows = batch * t1;
    final int chunks = Parallel.chunks(rows, 10L * f1 * c);
    final double[][] accW = new double[chunks][9 * c];
    final double[][] accB = new double[chunks][c];
    Parallel.forRange(
        rows,
        10L * f1 * c,
        (chunk, from, to) -> {
          double[] aw = accW[chunk];
          double[] ab = accB[chunk];
          float[][] rw = new float[9][c];
          float[] rb = new float[c];
          float[] zs = new float[c];
          for (int bi = from; bi < to; bi++) {
            int b = bi / t1;
            int i = bi % t1;
            for (float[] r : rw) {
              java.util.Arrays.fill(r, 0);
            }
            java.util.Arrays.fill(rb, 0);
            for (int j = 0; j < f1; j++) {
              System.arraycopy(dz, ((b * t1 + i) * f1 + j) * c, zs, 0, c);
              VecOps.add(rb, zs, c);
              for (int kh = 0; kh < 3; kh++) {
                int tt = 2 * i + kh - 1;
                if (tt < 0 || tt >= t || tt >= inLengths[b]) {
                  continue;
                }
                for (int kw = 0; kw < 3; kw++) {
                  int ff = 2 * j + kw - 1;
                  if (ff < 0 || ff >= f) {
                    continue;
                  }
                  VecOps.axpy(rw[kh * 3 + kw], x[(b * f + ff) * t + tt], zs, c);
                }
              }
            }
            for (int q = 0; q < 9; q++) {
              float[] r = rw[q];
              for (int ch = 0; ch < c; ch++) {
                aw[q * c + ch] += r[ch];
              }
            }
            for (int ch = 0; ch < c; ch++) {
              ab[ch] += rb[ch];
            }
          }
        });
    for (int ch = 0; ch < c; ch++) {
      double sb = 0;
      for (int k = 0; k < chunks; k++) {
        sb += accB[k][ch];
      }
      db[ch] = (float) sb;
      for (int q = 0; q < 9; q++) {
        double s = 0;
        for (int k = 0; k < chunks; k++) {
          s += accW[k][q * c + ch];
        }
        dw[ch * 9 + q] = (float) s;
      }
    }
  }

  /**
   * Input gradient {@code dx[b,f,t] = Σ_{kh,kw} Σ_c dz[b,i,j,c] · w[c,kh,kw]} over the outputs (i, j) whose
   * window covers frame t and bin f; 0 for {@code t ≥ inLengths[b]}. Gathered per frame, so threads never
   * share a write. (Not used by the NEST graph, whose first layer needs no input gradient.)
   *
   * @param dx {@code [B, F, T]}, overwritten
   */
  public static void backwardInput(
      float[] dz, int batch, int f, int t, int[] inLengths, float[] w, int c, float[] dx) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    Parallel.forRange(
        batch * t,
        4L * f * c,
        (chunk, from, to) -> {
          for (int bt = from; bt < to; bt++) {
            int b = bt / t;
            int tt = bt % t;
            for (int ff = 0; ff < f; ff++) {
              float s = 0;
              if (tt < inLengths[b]) {
                for (int kh = 0; kh < 3; kh++) {
                  int num = tt + 1 - kh;
                  if (num < 0 || (num & 1) != 0 || num / 2 >= t1) {
                    continue;
                  }
                  int i = num / 2;
                  for (int kw = 0; kw < 3; kw++) {
                    int numW = ff + 1 - kw;
                    if (numW < 0 || (numW & 1) != 0 || numW / 2 >= f1) {
                      continue;
                    }
                    int o = ((b * t1 + i) * f1 + numW / 2) * c;
                    int q = kh * 3 + kw;
                    for (int ch = 0; ch < c; ch++) {
                      s += dz[o + ch] * w[ch * 9 + q];
                    }
                  }
                }
              }
              dx[(b * f + ff) * t + tt] = s;
            }
          }
        });
  }

  /** (C, 1, 3, 3) → [9][C]: one zero-offset row per tap, so the channel loops vectorise. */
  private static float[][] tapsMajor(float[] wt, int c) {
    float[][] out = new float[9][c];
    for (int ch = 0; ch < c; ch++) {
      for (int q = 0; q < 9; q++) {
        out[q][ch] = wt[ch * 9 + q];
      }
    }
    return out;
  }

  // ------------------------------------------------------------------ double (same code)
  public static void forward(
      double[] x,
      int batch,
      int f,
      int t,
      int[] inLengths,
      int[] outLengths,
      double[] w,
      double[] bias,
      int c,
      double[] y) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    final double[][] wk = tapsMajor(w, c);
    Parallel.forRange(
        batch * t1,
        9L * f1 * c,
        (chunk, from, to) -> {
          double[] acc = new double[c];
          for (int bi = from; bi < to; bi++) {
            int b = bi / t1;
            int i = bi % t1;
            int rowBase = (b * t1 + i) * f1 * c;
            if (i >= outLengths[b]) {
              java.util.Arrays.fill(y, rowBase, rowBase + f1 * c, 0);
              continue;
            }
            for (int j = 0; j < f1; j++) {
              System.arraycopy(bias, 0, acc, 0, c);
              for (int kh = 0; kh < 3; kh++) {
                int tt = 2 * i + kh - 1;
                if (tt < 0 || tt >= t || tt >= inLengths[b]) {
                  continue;
                }
                for (int kw = 0; kw < 3; kw++) {
                  int ff = 2 * j + kw - 1;
                  if (ff < 0 || ff >= f) {
                    continue;
                  }
                  VecOps.axpy(acc, x[(b * f + ff) * t + tt], wk[kh * 3 + kw], c);
                }
              }
              VecOps.relu(acc, c);
              System.arraycopy(acc, 0, y, rowBase + j * c, c);
            }
          }
        });
  }

  public static void backwardWeights(
      double[] x,
      double[] dz,
      int batch,
      int f,
      int t,
      int[] inLengths,
      int c,
      double[] dw,
      double[] db) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    final int rows = batch * t1;
    final int chunks = Parallel.chunks(rows, 10L * f1 * c);
    final double[][] accW = new double[chunks][9 * c];
    final double[][] accB = new double[chunks][c];
    Parallel.forRange(
        rows,
        10L * f1 * c,
        (chunk, from, to) -> {
          double[] aw = accW[chunk];
          double[] ab = accB[chunk];
          double[][] rw = new double[9][c];
          double[] rb = new double[c];
          double[] zs = new double[c];
          for (int bi = from; bi < to; bi++) {
            int b = bi / t1;
            int i = bi % t1;
            for (double[] r : rw) {
              java.util.Arrays.fill(r, 0);
            }
            java.util.Arrays.fill(rb, 0);
            for (int j = 0; j < f1; j++) {
              System.arraycopy(dz, ((b * t1 + i) * f1 + j) * c, zs, 0, c);
              VecOps.add(rb, zs, c);
              for (int kh = 0; kh < 3; kh++) {
                int tt = 2 * i + kh - 1;
                if (tt < 0 || tt >= t || tt >= inLengths[b]) {
                  continue;
                }
                for (int kw = 0; kw < 3; kw++) {
                  int ff = 2 * j + kw - 1;
                  if (ff < 0 || ff >= f) {
                    continue;
                  }
                  VecOps.axpy(rw[kh * 3 + kw], x[(b * f + ff) * t + tt], zs, c);
                }
              }
            }
            for (int q = 0; q < 9; q++) {
              double[] r = rw[q];
              for (int ch = 0; ch < c; ch++) {
                aw[q * c + ch] += r[ch];
              }
            }
            for (int ch = 0; ch < c; ch++) {
              ab[ch] += rb[ch];
            }
          }
        });
    for (int ch = 0; ch < c; ch++) {
      double sb = 0;
      for (int k = 0; k < chunks; k++) {
        sb += accB[k][ch];
      }
      db[ch] = sb;
      for (int q = 0; q < 9; q++) {
        double s = 0;
        for (int k = 0; k < chunks; k++) {
          s += accW[k][q * c + ch];
        }
        dw[ch * 9 + q] = s;
      }
    }
  }

  public static void backwardInput(
      double[] dz, int batch, int f, int t, int[] inLengths, double[] w, int c, double[] dx) {
    final int t1 = DepthwiseConv2dS2.outSize(t);
    final int f1 = DepthwiseConv2dS2.outSize(f);
    Parallel.forRange(
        batch * t,
        4L * f * c,
        (chunk, from, to) -> {
          for (int bt = from; bt < to; bt++) {
            int b = bt / t;
            int tt = bt % t;
            for (int ff = 0; ff < f; ff++) {
              double s = 0;
              if (tt < inLengths[b]) {
                for (int kh = 0; kh < 3; kh++) {
                  int num = tt + 1 - kh;
                  if (num < 0 || (num & 1) != 0 || num / 2 >= t1) {
                    continue;
                  }
                  int i = num / 2;
                  for (int kw = 0; kw < 3; kw++) {
                    int numW = ff + 1 - kw;
                    if (numW < 0 || (numW & 1) != 0 || numW / 2 >= f1) {
                      continue;
                    }
                    int o = ((b * t1 + i) * f1 + numW / 2) * c;
                    int q = kh * 3 + kw;
                    for (int ch = 0; ch < c; ch++) {
                      s += dz[o + ch] * w[ch * 9 + q];
                    }
                  }
                }
              }
              dx[(b * f + ff) * t + tt] = s;
            }
          }
        });
  }

  /** (C, 1, 3, 3) → [9][C]: one zero-offset row per tap, so the channel loops vectorise. */
  private static double[][] tapsMajor(double[] wt, int c) {
    double[][] out = new double[9][c];
    for (int ch = 0; ch < c; ch++) {
      for (int q = 0; q < 9; q++) {
        out[q][ch] = wt[ch * 9 + q];
      }
    }
    return out;
  }
}
