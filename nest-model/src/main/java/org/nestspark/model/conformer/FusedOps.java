package org.nestspark.model.conformer;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Parallel;

/**
 * The {@code model.kernels = java} path's fused element-wise passes of the Conformer block: each replaces a
 * chain of ND4J element-wise ops (every one a full memory pass of {@code [B·T', d]}, ~0.1-0.2 ms each) by one
 * Java loop over the rows. Row matrices {@code [N, cols]} (C order) are read and written through their direct
 * NIO buffers one row at a time into row scratch arrays, and every value is computed in double precision
 * (FLOAT arrays are widened on read and rounded on write), so one implementation serves FLOAT and DOUBLE.
 * Rows are split over {@link Parallel} (one thread inside a batch slice).
 *
 * <p>The {@code nd4j} path keeps the ND4J ops (a GPU keeps its tensors); both give the same numbers within
 * rounding, {@code FusedOpsTest} checks each kernel against them.
 */
final class FusedOps {
  private FusedOps() {}

  /** Work per element below which rows are not worth splitting (see {@link Parallel#chunks}). */
  private static final long WORK_PER_ELEMENT = 4;

  // ------------------------------------------------------------------ row access

  /** Row access to a contiguous C-order {@code [N, cols]} FLOAT or DOUBLE array. */
  static final class Rows {
    final INDArray array;
    final int rows;
    final int cols;
    private final int base;
    private final FloatBuffer fb;
    private final DoubleBuffer db;
    private float[] ftmp;

    private Rows(INDArray a, int rows, int cols, int base, FloatBuffer fb, DoubleBuffer db) {
      this.array = a;
      this.rows = rows;
      this.cols = cols;
      this.base = base;
      this.fb = fb;
      this.db = db;
    }

    /** Rows of {@code a} viewed as {@code [length/cols, cols]}; copied to C order first if needed. */
    static Rows of(INDArray a, int cols) {
      INDArray c = contiguous(a);
      int n = (int) (c.length() / cols);
      if ((long) n * cols != c.length()) {
        throw new IllegalArgumentException(
            "length " + c.length() + " is not a multiple of " + cols + " columns");
      }
      if (c.dataType() == DataType.FLOAT) {
        return new Rows(c, n, cols, (int) c.offset(), c.data().asNioFloat(), null);
      }
      if (c.dataType() == DataType.DOUBLE) {
        return new Rows(c, n, cols, (int) c.offset(), null, c.data().asNioDouble());
      }
      throw new IllegalArgumentException("fused kernels take FLOAT or DOUBLE, got " + c.dataType());
    }

    /** A copy for one thread (own float scratch). */
    Rows local() {
      return new Rows(array, rows, cols, base, fb, db);
    }

    void get(int r, double[] dst) {
      int i = base + r * cols;
      if (db != null) {
        db.get(i, dst, 0, cols);
      } else {
        float[] t = ftmp(cols);
        fb.get(i, t, 0, cols);
        widen(t, dst, cols);
      }
    }

    /** {@code dst[off..off+len) ← row r, columns [from, from+len)}. */
    void get(int r, int from, int len, double[] dst, int off) {
      int i = base + r * cols + from;
      if (db != null) {
        db.get(i, dst, off, len);
      } else {
        float[] t = ftmp(len);
        fb.get(i, t, 0, len);
        for (int j = 0; j < len; j++) {
          dst[off + j] = t[j];
        }
      }
    }

    void put(int r, double[] src) {
      int i = base + r * cols;
      if (db != null) {
        db.put(i, src, 0, cols);
      } else {
        float[] t = ftmp(cols);
        narrow(src, t, cols);
        fb.put(i, t, 0, cols);
      }
    }

    /** Row r, columns [from, from+len) ← {@code src[off..off+len)}. */
    void put(int r, int from, int len, double[] src, int off) {
      int i = base + r * cols + from;
      if (db != null) {
        db.put(i, src, off, len);
      } else {
        float[] t = ftmp(len);
        for (int j = 0; j < len; j++) {
          t[j] = (float) src[off + j];
        }
        fb.put(i, t, 0, len);
      }
    }

    private float[] ftmp(int len) {
      if (ftmp == null || ftmp.length < len) {
        ftmp = new float[Math.max(len, cols)];
      }
      return ftmp;
    }
  }

  /** {@code dst[j] = src[j]} for j < n (a zero-offset loop, vectorised by C2). */
  private static void widen(float[] src, double[] dst, int n) {
    for (int j = 0; j < n; j++) {
      dst[j] = src[j];
    }
  }

  /** {@code dst[j] = (float) src[j]} for j < n. */
  private static void narrow(double[] src, float[] dst, int n) {
    for (int j = 0; j < n; j++) {
      dst[j] = (float) src[j];
    }
  }

  private static INDArray contiguous(INDArray a) {
    if (a.isView() || a.ordering() != 'c' || a.length() != a.data().length()) {
      return a.dup('c');
    }
    return a;
  }

  /** A new uninitialised C-order array in the current workspace. */
  private static INDArray like(DataType dt, long rows, long cols) {
    return Nd4j.createUninitialized(dt, new long[] {rows, cols}, 'c');
  }

  /** Values of a vector (any shape, e.g. a parameter view) in double precision. */
  static double[] vector(INDArray v) {
    return v == null ? null : v.reshape(v.length()).castTo(DataType.DOUBLE).toDoubleVector();
  }

  /** Writes {@code values} into {@code target} (a gradient view, any shape of that length). */
  private static void assign(INDArray target, double[] values) {
    target.assign(Nd4j.createFromArray(values).castTo(target.dataType()).reshape(target.shape()));
  }

  private interface RowChunk {
    void run(int chunk, int from, int to);
  }

  private static int chunks(int rows, int cols) {
    return Parallel.chunks(rows, cols * WORK_PER_ELEMENT);
  }

  private static void forRows(int rows, int cols, RowChunk task) {
    Parallel.forRange(rows, cols * WORK_PER_ELEMENT, task::run);
  }

  // ------------------------------------------------------------------ LayerNorm

  /**
   * LayerNorm forward over the last axis of {@code x [N, d]}: {@code y = (x − μ)·rstd·γ + β}, biased
   * variance, {@code rstd = 1/√(σ² + eps)}. Writes μ and rstd per row into {@code mean} and {@code rstd}
   * (length N) and returns y.
   */
  static INDArray layerNormForward(
      INDArray x, INDArray gamma, INDArray beta, double eps, double[] mean, double[] rstd) {
    int d = (int) x.size(x.rank() - 1);
    Rows in = Rows.of(x, d);
    INDArray y = like(x.dataType(), in.rows, d);
    Rows out = Rows.of(y, d);
    double[] g = vector(gamma);
    double[] b = vector(beta);
    forRows(
        in.rows,
        d,
        (k, from, to) -> {
          Rows xi = in.local();
          Rows yo = out.local();
          double[] row = new double[d];
          for (int r = from; r < to; r++) {
            xi.get(r, row);
            double s = 0;
            for (int j = 0; j < d; j++) {
              s += row[j];
            }
            double mu = s / d;
            double v = 0;
            for (int j = 0; j < d; j++) {
              double c = row[j] - mu;
              v += c * c;
            }
            double rs = 1.0 / Math.sqrt(v / d + eps);
            for (int j = 0; j < d; j++) {
              row[j] = (row[j] - mu) * rs * g[j] + b[j];
            }
            mean[r] = mu;
            rstd[r] = rs;
            yo.put(r, row);
          }
        });
    return y;
  }

  /**
   * LayerNorm backward: writes {@code dγ = Σ_rows dy·x̂} and {@code dβ = Σ_rows dy} into {@code dGamma},
   * {@code dBeta} and returns {@code dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) (+ residual)} with {@code g =
   * dy·γ}, {@code x̂ = (x − μ)·rstd}; {@code residual} (may be null) is added to dx in the same pass (the
   * residual branch of the block).
   */
  static INDArray layerNormBackward(
      INDArray dy,
      INDArray x,
      double[] mean,
      double[] rstd,
      INDArray gamma,
      INDArray dGamma,
      INDArray dBeta,
      INDArray residual) {
    int d = (int) dy.size(dy.rank() - 1);
    Rows dyr = Rows.of(dy, d);
    Rows xr = Rows.of(x, d);
    Rows res = residual == null ? null : Rows.of(residual, d);
    int n = dyr.rows;
    INDArray dx = like(dy.dataType(), n, d);
    Rows dxr = Rows.of(dx, d);
    double[] g = vector(gamma);
    int chunks = chunks(n, d);
    double[][] accG = new double[chunks][d];
    double[][] accB = new double[chunks][d];
    forRows(
        n,
        d,
        (k, from, to) -> {
          Rows dyi = dyr.local();
          Rows xi = xr.local();
          Rows ri = res == null ? null : res.local();
          Rows dxo = dxr.local();
          double[] dyRow = new double[d];
          double[] xh = new double[d];
          double[] rr = new double[d];
          double[] ag = accG[k];
          double[] ab = accB[k];
          for (int r = from; r < to; r++) {
            dyi.get(r, dyRow);
            xi.get(r, xh);
            double mu = mean[r];
            double rs = rstd[r];
            double sg = 0;
            double sgx = 0;
            for (int j = 0; j < d; j++) {
              double xhat = (xh[j] - mu) * rs;
              xh[j] = xhat;
              double dyj = dyRow[j];
              ag[j] += dyj * xhat;
              ab[j] += dyj;
              double gj = dyj * g[j];
              dyRow[j] = gj;
              sg += gj;
              sgx += gj * xhat;
            }
            double mg = sg / d;
            double mgx = sgx / d;
            for (int j = 0; j < d; j++) {
              dyRow[j] = rs * (dyRow[j] - mg - xh[j] * mgx);
            }
            if (ri != null) {
              ri.get(r, rr);
              for (int j = 0; j < d; j++) {
                dyRow[j] += rr[j];
              }
            }
            dxo.put(r, dyRow);
          }
        });
    assign(dGamma, sum(accG, d));
    assign(dBeta, sum(accB, d));
    return dx;
  }

  private static double[] sum(double[][] acc, int d) {
    double[] s = new double[d];
    for (double[] a : acc) {
      for (int j = 0; j < d; j++) {
        s[j] += a[j];
      }
    }
    return s;
  }

  // ------------------------------------------------------------------ residual

  /**
   * The residual add of a sub-block: {@code x + scale·(f ⊙ mask)} ({@code mask} the inverted-dropout mask,
   * may be null), a new array.
   */
  static INDArray residualAdd(INDArray x, INDArray f, INDArray mask, double scale) {
    int d = (int) x.size(x.rank() - 1);
    Rows xr = Rows.of(x, d);
    Rows fr = Rows.of(f, d);
    Rows mr = mask == null ? null : Rows.of(mask, d);
    INDArray y = like(x.dataType(), xr.rows, d);
    Rows yr = Rows.of(y, d);
    forRows(
        xr.rows,
        d,
        (k, from, to) -> {
          Rows xi = xr.local();
          Rows fi = fr.local();
          Rows mi = mr == null ? null : mr.local();
          Rows yo = yr.local();
          double[] a = new double[d];
          double[] b = new double[d];
          double[] m = new double[d];
          for (int r = from; r < to; r++) {
            xi.get(r, a);
            fi.get(r, b);
            if (mi != null) {
              mi.get(r, m);
              for (int j = 0; j < d; j++) {
                a[j] += scale * (b[j] * m[j]);
              }
            } else {
              for (int j = 0; j < d; j++) {
                a[j] += scale * b[j];
              }
            }
            yo.put(r, a);
          }
        });
    return y;
  }

  /** {@code scale·(dy ⊙ mask)} ({@code mask} may be null), a new array: the residual add's backward. */
  static INDArray scaledMask(INDArray dy, INDArray mask, double scale) {
    int d = (int) dy.size(dy.rank() - 1);
    Rows dr = Rows.of(dy, d);
    Rows mr = mask == null ? null : Rows.of(mask, d);
    INDArray y = like(dy.dataType(), dr.rows, d);
    Rows yr = Rows.of(y, d);
    forRows(
        dr.rows,
        d,
        (k, from, to) -> {
          Rows di = dr.local();
          Rows mi = mr == null ? null : mr.local();
          Rows yo = yr.local();
          double[] a = new double[d];
          double[] m = new double[d];
          for (int r = from; r < to; r++) {
            di.get(r, a);
            if (mi != null) {
              mi.get(r, m);
              for (int j = 0; j < d; j++) {
                a[j] = scale * (a[j] * m[j]);
              }
            } else {
              for (int j = 0; j < d; j++) {
                a[j] = scale * a[j];
              }
            }
            yo.put(r, a);
          }
        });
    return y;
  }

  // Not fused (measured, FusedOpsBenchmark, one thread, [1008, 704] float): the feed-forward's bias
  // +
  // Swish + dropout (1.15-1.2× the ND4J ops' time) and its backward (0.9-2.7×): on these wide rows
  // the
  // widening to double and the per-row copies cost more than the passes they save, and Math.exp in
  // a
  // Java loop is not vectorised (libnd4j's sigmoid is).

  // ------------------------------------------------------------------ GLU

  /**
   * GLU over channels of {@code g [N, 2d]}: returns {@code {σ(b), a·σ(b)·rowMask}} (new arrays {@code [N,
   * d]}), a = channels 0..d−1, b = d..2d−1; {@code rowMask [N, 1]} 1/0 may be null.
   */
  static INDArray[] glu(INDArray g, INDArray rowMask) {
    int d2 = (int) g.size(g.rank() - 1);
    int d = d2 / 2;
    Rows gr = Rows.of(g, d2);
    double[] rm = rowMask == null ? null : vector(rowMask);
    INDArray sig =
        Transforms.sigmoid(gr.array.get(NDArrayIndex.all(), NDArrayIndex.interval(d, d2)), true);
    INDArray out = like(g.dataType(), gr.rows, d);
    Rows sigr = Rows.of(sig, d);
    Rows or = Rows.of(out, d);
    forRows(
        gr.rows,
        d2,
        (k, from, to) -> {
          Rows gi = gr.local();
          Rows si = sigr.local();
          Rows oo = or.local();
          double[] av = new double[d];
          double[] sv = new double[d];
          for (int r = from; r < to; r++) {
            gi.get(r, 0, d, av, 0);
            si.get(r, sv);
            double keep = rm == null ? 1.0 : rm[r];
            for (int j = 0; j < d; j++) {
              av[j] = av[j] * sv[j] * keep;
            }
            oo.put(r, av);
          }
        });
    return new INDArray[] {sig, out};
  }

  /**
   * GLU backward: {@code dglu [N, d]} (masked by {@code rowMask} first, may be null), {@code g [N, 2d]} the
   * forward input, {@code sig = σ(b)}; returns {@code dg [N, 2d]}: {@code da = dglu·σ(b)}, {@code db =
   * dglu·a·σ(b)·(1 − σ(b))}.
   */
  static INDArray gluBackward(INDArray dglu, INDArray g, INDArray sig, INDArray rowMask) {
    int d2 = (int) g.size(g.rank() - 1);
    int d = d2 / 2;
    Rows dr = Rows.of(dglu, d);
    Rows gr = Rows.of(g, d2);
    Rows sr = Rows.of(sig, d);
    double[] rm = rowMask == null ? null : vector(rowMask);
    INDArray dg = like(dglu.dataType(), dr.rows, d2);
    Rows dgr = Rows.of(dg, d2);
    forRows(
        dr.rows,
        d2,
        (k, from, to) -> {
          Rows di = dr.local();
          Rows gi = gr.local();
          Rows si = sr.local();
          Rows oo = dgr.local();
          double[] dv = new double[d];
          double[] a = new double[d];
          double[] sv = new double[d];
          double[] out = new double[d2];
          for (int r = from; r < to; r++) {
            di.get(r, dv);
            gi.get(r, 0, d, a, 0);
            si.get(r, sv);
            double keep = rm == null ? 1.0 : rm[r];
            for (int j = 0; j < d; j++) {
              double dj = dv[j] * keep;
              double s = sv[j];
              out[j] = dj * s;
              out[d + j] = dj * a[j] * s * (1.0 - s);
            }
            oo.put(r, out);
          }
        });
    return dg;
  }

  // ------------------------------------------------------------------ per-channel normalisation +
  // Swish

  /**
   * Column moments of {@code y [N, d]} about a per-column shift {@code k} (may be null = 0): returns
   * {@code [2][d]}: {@code Σ_rows (y − k)} and {@code Σ_rows (y − k)²}.
   */
  static double[][] shiftedColumnMoments(INDArray y, double[] k) {
    int d = (int) y.size(y.rank() - 1);
    Rows yr = Rows.of(y, d);
    int chunks = chunks(yr.rows, d);
    double[][] s1 = new double[chunks][d];
    double[][] s2 = new double[chunks][d];
    forRows(
        yr.rows,
        d,
        (c, from, to) -> {
          Rows yi = yr.local();
          double[] row = new double[d];
          double[] a1 = s1[c];
          double[] a2 = s2[c];
          for (int r = from; r < to; r++) {
            yi.get(r, row);
            for (int j = 0; j < d; j++) {
              double v = k == null ? row[j] : row[j] - k[j];
              a1[j] += v;
              a2[j] += v * v;
            }
          }
        });
    return new double[][] {sum(s1, d), sum(s2, d)};
  }

  /**
   * Per-channel normalisation and Swish in one pass (the conv module's BatchNorm apply): {@code x̂ = (y −
   * mean)·rstd}, {@code z = x̂·γ + β}, {@code σ(z)}, {@code z·σ(z)}; returns the new arrays {@code {x̂, z,
   * σ(z), z·σ(z)}}.
   */
  static INDArray[] channelNormSwish(
      INDArray y, double[] mean, double[] rstd, double[] gamma, double[] beta) {
    int d = (int) y.size(y.rank() - 1);
    Rows yr = Rows.of(y, d);
    DataType dt = y.dataType();
    INDArray xhat = like(dt, yr.rows, d);
    INDArray z = like(dt, yr.rows, d);
    Rows xhr = Rows.of(xhat, d);
    Rows zr = Rows.of(z, d);
    forRows(
        yr.rows,
        d,
        (c, from, to) -> {
          Rows yi = yr.local();
          Rows xo = xhr.local();
          Rows zo = zr.local();
          double[] row = new double[d];
          double[] zv = new double[d];
          for (int r = from; r < to; r++) {
            yi.get(r, row);
            for (int j = 0; j < d; j++) {
              double xh = (row[j] - mean[j]) * rstd[j];
              row[j] = xh;
              zv[j] = xh * gamma[j] + beta[j];
            }
            xo.put(r, row);
            zo.put(r, zv);
          }
        });
    // σ by libnd4j (vectorised exp), then one product
    INDArray sig = Transforms.sigmoid(z, true);
    return new INDArray[] {xhat, z, sig, z.mul(sig)};
  }

  /**
   * First pass of the conv module's BatchNorm + Swish backward: in place {@code dz ← dsw·σ(z)·(1 + z·(1 −
   * σ(z)))}; returns the column sums {@code {Σ dz, Σ dz·x̂}} ({@code [2][d]}).
   */
  static double[][] swishBackwardColumnSums(INDArray dsw, INDArray z, INDArray sig, INDArray xhat) {
    int d = (int) dsw.size(dsw.rank() - 1);
    Rows dr = Rows.of(dsw, d);
    if (dr.array != dsw) {
      throw new IllegalArgumentException("works in place on a contiguous C-order array");
    }
    Rows zr = Rows.of(z, d);
    Rows sr = Rows.of(sig, d);
    Rows xr = Rows.of(xhat, d);
    int chunks = chunks(dr.rows, d);
    double[][] s1 = new double[chunks][d];
    double[][] s2 = new double[chunks][d];
    forRows(
        dr.rows,
        d,
        (c, from, to) -> {
          Rows di = dr.local();
          Rows zi = zr.local();
          Rows si = sr.local();
          Rows xi = xr.local();
          double[] dv = new double[d];
          double[] zv = new double[d];
          double[] sv = new double[d];
          double[] xv = new double[d];
          double[] a1 = s1[c];
          double[] a2 = s2[c];
          for (int r = from; r < to; r++) {
            di.get(r, dv);
            zi.get(r, zv);
            si.get(r, sv);
            xi.get(r, xv);
            for (int j = 0; j < d; j++) {
              double s = sv[j];
              double g = dv[j] * s * (1.0 + zv[j] * (1.0 - s));
              dv[j] = g;
              a1[j] += g;
              a2[j] += g * xv[j];
            }
            di.put(r, dv);
          }
        });
    return new double[][] {sum(s1, d), sum(s2, d)};
  }

  /**
   * Second pass of the per-channel normalisation backward: {@code dx = (dz·γ − meanG − x̂·meanGx)·rstd} per
   * column, a new array ({@code meanG}, {@code meanGx} null in eval mode: {@code dx = dz·γ·rstd}).
   */
  static INDArray channelNormBackward(
      INDArray dz, INDArray xhat, double[] gamma, double[] meanG, double[] meanGx, double[] rstd) {
    int d = (int) dz.size(dz.rank() - 1);
    Rows dr = Rows.of(dz, d);
    Rows xr = Rows.of(xhat, d);
    INDArray dx = like(dz.dataType(), dr.rows, d);
    Rows or = Rows.of(dx, d);
    forRows(
        dr.rows,
        d,
        (c, from, to) -> {
          Rows di = dr.local();
          Rows xi = xr.local();
          Rows oo = or.local();
          double[] dv = new double[d];
          double[] xv = new double[d];
          for (int r = from; r < to; r++) {
            di.get(r, dv);
            if (meanG != null) {
              xi.get(r, xv);
              for (int j = 0; j < d; j++) {
                dv[j] = (dv[j] * gamma[j] - meanG[j] - xv[j] * meanGx[j]) * rstd[j];
              }
            } else {
              for (int j = 0; j < d; j++) {
                dv[j] = dv[j] * gamma[j] * rstd[j];
              }
            }
            oo.put(r, dv);
          }
        });
    return dx;
  }
}
