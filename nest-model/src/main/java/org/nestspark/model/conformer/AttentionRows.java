package org.nestspark.model.conformer;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.model.nn.Parallel;

/**
 * The element-wise steps of {@link RelPositionMultiHeadAttention} around its products (docs/nest-numerics.md
 * §6.5), one pass over each row of scores instead of one ND4J pass per operation, for the {@code java}
 * kernels. Every element goes through the same IEEE operations in the same order as the ND4J ops of the
 * {@code nd4j} path, in the arrays' type, and the row sum of the softmax backward is a sequential sum as
 * libnd4j's {@code sum} along a row is, so both paths give the same bits (AttentionRowsTest):
 *
 * <ul>
 *   <li>{@link #scores}: {@code s ← (s + BD_raw[i, T−1−i+j]) / √d_k + keyBias[b, j]} (the rel-shift read
 *       in place, padded keys get −10000);
 *   <li>{@link #maskAndDrop}: {@code p ← p · mask[b, i]} (padded queries), {@code p_drop ← p · dropMask};
 *   <li>{@link #softmaxBackward}: {@code dp ← dp · dropMask}, {@code dot = Σ_j dp·p}, {@code ds = ((dp −
 *       dot) · p) / √d_k}, written over {@code dp} and, rel-shifted with zeros around it, into a fresh
 *       {@code dBD_raw}.
 * </ul>
 *
 * <p>Layouts: scores and probabilities {@code [h·B, T, T]} (head-major, C order); {@code BD_raw [h, B·T,
 * 2T−1]}; masks {@code [B, T]}. Rows are split over the kernels' pool ({@link Parallel}).
 */
final class AttentionRows {
  private AttentionRows() {}

  /** The work of one row of T elements for the pool's chunking: about 4·T operations. */
  private static long rowWork(int t) {
    return 4L * t;
  }

  /**
   * In place on {@code scores [h·B, T, T]} (holding {@code (q+u)·kᵀ}): adds the rel-shifted positional scores
   * of {@code bdRaw [h, B·T, 2T−1]}, divides by {@code scale} and adds {@code keyBias [B, T]} (null: no mask).
   */
  static void scores(
      INDArray scores, INDArray bdRaw, INDArray keyBias, int batch, int time, double scale) {
    DenseBuffer s = new DenseBuffer(scores);
    DenseBuffer bd = new DenseBuffer(bdRaw);
    DenseBuffer kb = DenseBuffer.of(keyBias);
    int rows = (int) (scores.length() / time);
    int rel = 2 * time - 1;
    if (s.f != null) {
      float sc = (float) scale;
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            float[] row = new float[time];
            float[] b = new float[time];
            float[] bias = kb == null ? null : new float[time];
            for (int r = from; r < to; r++) {
              int n = r / time;
              int i = r % time;
              s.f.get(s.base + r * time, row, 0, time);
              bd.f.get(bd.base + r * rel + (time - 1 - i), b, 0, time);
              if (bias != null) {
                kb.f.get(kb.base + (n % batch) * time, bias, 0, time);
                for (int j = 0; j < time; j++) {
                  row[j] = (row[j] + b[j]) / sc + bias[j];
                }
              } else {
                for (int j = 0; j < time; j++) {
                  row[j] = (row[j] + b[j]) / sc;
                }
              }
              s.f.put(s.base + r * time, row, 0, time);
            }
          });
    } else {
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            double[] row = new double[time];
            double[] b = new double[time];
            double[] bias = kb == null ? null : new double[time];
            for (int r = from; r < to; r++) {
              int n = r / time;
              int i = r % time;
              s.d.get(s.base + r * time, row, 0, time);
              bd.d.get(bd.base + r * rel + (time - 1 - i), b, 0, time);
              if (bias != null) {
                kb.d.get(kb.base + (n % batch) * time, bias, 0, time);
                for (int j = 0; j < time; j++) {
                  row[j] = (row[j] + b[j]) / scale + bias[j];
                }
              } else {
                for (int j = 0; j < time; j++) {
                  row[j] = (row[j] + b[j]) / scale;
                }
              }
              s.d.put(s.base + r * time, row, 0, time);
            }
          });
    }
  }

  /**
   * In place on {@code prob [h·B, T, T]}: zeroes the rows of padded queries ({@code mask [B, T]}, null: none);
   * returns {@code prob · dropMask} as a new array, or {@code prob} itself when {@code dropMask} is null.
   */
  static INDArray maskAndDrop(
      INDArray prob, INDArray mask, INDArray dropMask, int batch, int time) {
    if (mask == null && dropMask == null) {
      return prob;
    }
    INDArray dropped = dropMask == null ? prob : prob.ulike();
    DenseBuffer p = new DenseBuffer(prob);
    DenseBuffer m = DenseBuffer.of(mask);
    DenseBuffer dm = DenseBuffer.of(dropMask);
    DenseBuffer out = dropMask == null ? null : new DenseBuffer(dropped);
    int rows = (int) (prob.length() / time);
    if (p.f != null) {
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            float[] row = new float[time];
            float[] drop = dm == null ? null : new float[time];
            float[] one = new float[1];
            for (int r = from; r < to; r++) {
              int at = r * time;
              p.f.get(p.base + at, row, 0, time);
              if (m != null) {
                int n = r / time;
                int i = r % time;
                m.f.get(m.base + (n % batch) * time + i, one, 0, 1);
                float q = one[0];
                for (int j = 0; j < time; j++) {
                  row[j] = row[j] * q;
                }
                p.f.put(p.base + at, row, 0, time);
              }
              if (drop != null) {
                dm.f.get(dm.base + at, drop, 0, time);
                for (int j = 0; j < time; j++) {
                  drop[j] = row[j] * drop[j];
                }
                out.f.put(out.base + at, drop, 0, time);
              }
            }
          });
    } else {
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            double[] row = new double[time];
            double[] drop = dm == null ? null : new double[time];
            double[] one = new double[1];
            for (int r = from; r < to; r++) {
              int at = r * time;
              p.d.get(p.base + at, row, 0, time);
              if (m != null) {
                int n = r / time;
                int i = r % time;
                m.d.get(m.base + (n % batch) * time + i, one, 0, 1);
                double q = one[0];
                for (int j = 0; j < time; j++) {
                  row[j] = row[j] * q;
                }
                p.d.put(p.base + at, row, 0, time);
              }
              if (drop != null) {
                dm.d.get(dm.base + at, drop, 0, time);
                for (int j = 0; j < time; j++) {
                  drop[j] = row[j] * drop[j];
                }
                out.d.put(out.base + at, drop, 0, time);
              }
            }
          });
    }
    return dropped;
  }

  /**
   * The softmax backward of the scores: {@code dprob [h·B, T, T]} (dL/d prob_dropped on entry) becomes dL/d
   * scores; returns {@code dBD_raw [h, B·T, 2T−1]} (a new array: the same values rel-shifted, zeros
   * elsewhere). {@code dropMask} may be null (no dropout).
   */
  static INDArray softmaxBackward(
      INDArray dprob, INDArray prob, INDArray dropMask, int heads, int time, double scale) {
    int rows = (int) (dprob.length() / time);
    int rel = 2 * time - 1;
    INDArray dbdRaw =
        org.nd4j.linalg.factory.Nd4j.createUninitialized(
            dprob.dataType(), heads, rows / heads, rel);
    DenseBuffer dp = new DenseBuffer(dprob);
    DenseBuffer p = new DenseBuffer(prob);
    DenseBuffer dm = DenseBuffer.of(dropMask);
    DenseBuffer out = new DenseBuffer(dbdRaw);
    if (dp.f != null) {
      float sc = (float) scale;
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            float[] g = new float[time];
            float[] pr = new float[time];
            float[] drop = dm == null ? null : new float[time];
            float[] wide = new float[rel];
            for (int r = from; r < to; r++) {
              int at = r * time;
              int i = r % time;
              dp.f.get(dp.base + at, g, 0, time);
              p.f.get(p.base + at, pr, 0, time);
              if (drop != null) {
                dm.f.get(dm.base + at, drop, 0, time);
                for (int j = 0; j < time; j++) {
                  g[j] = g[j] * drop[j];
                }
              }
              float dot = 0f;
              for (int j = 0; j < time; j++) {
                dot += g[j] * pr[j];
              }
              int off = time - 1 - i;
              java.util.Arrays.fill(wide, 0f);
              for (int j = 0; j < time; j++) {
                float ds = ((g[j] - dot) * pr[j]) / sc;
                g[j] = ds;
                wide[off + j] = ds;
              }
              dp.f.put(dp.base + at, g, 0, time);
              out.f.put(out.base + r * rel, wide, 0, rel);
            }
          });
    } else {
      Parallel.forRange(
          rows,
          rowWork(time),
          (k, from, to) -> {
            double[] g = new double[time];
            double[] pr = new double[time];
            double[] drop = dm == null ? null : new double[time];
            double[] wide = new double[rel];
            for (int r = from; r < to; r++) {
              int at = r * time;
              int i = r % time;
              dp.d.get(dp.base + at, g, 0, time);
              p.d.get(p.base + at, pr, 0, time);
              if (drop != null) {
                dm.d.get(dm.base + at, drop, 0, time);
                for (int j = 0; j < time; j++) {
                  g[j] = g[j] * drop[j];
                }
              }
              double dot = 0.0;
              for (int j = 0; j < time; j++) {
                dot += g[j] * pr[j];
              }
              int off = time - 1 - i;
              java.util.Arrays.fill(wide, 0.0);
              for (int j = 0; j < time; j++) {
                double ds = ((g[j] - dot) * pr[j]) / scale;
                g[j] = ds;
                wide[off + j] = ds;
              }
              dp.d.put(dp.base + at, g, 0, time);
              out.d.put(out.base + r * rel, wide, 0, rel);
            }
          });
    }
    return dbdRaw;
  }
}
