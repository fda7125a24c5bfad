package org.nestspark.train;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.model.nn.Parallel;

/**
 * {@link AdamWUpdater}'s moment and step update as one pass over the parameters (docs/nest-numerics.md §9),
 * in chunks on the kernels' thread pool ({@link Parallel}), instead of the dozen whole-array ND4J passes
 * (each reading and writing 4·n bytes or more) that the same formula takes as separate ops.
 *
 * <p>Every element goes through the same IEEE operations in the same order as the ND4J ops of {@link
 * AdamWUpdater#applyUpdaterNd4j}, each rounded to the arrays' type, with the scalars rounded to that type
 * first as ND4J's scalar ops do them:
 *
 * <pre>
 *   m ← m·β1 + g·(1−β1)
 *   v ← v·β2 + (g·g)·(1−β2)
 *   g ← (m / ((sqrt(v) / sqrt(1−β2^t)) + eps)) · (η / (1−β1^t))
 * </pre>
 *
 * so the result is the same bits (AdamWKernelTest), and chunking cannot change it: no element depends on
 * another. Used when the gradient and both moments are dense arrays of one shape and order (DL4J's
 * updater blocks are); anything else goes through the ND4J ops.
 */
final class AdamWKernel {
  /** Elements per chunk: a chunk's three float arrays stay in a core's L2 cache. */
  private static final int CHUNK = 16 * 1024;

  private AdamWKernel() {}

  /** Whether {@link #apply} can update these arrays in place. */
  static boolean applies(INDArray g, INDArray m, INDArray v) {
    DataType dt = g.dataType();
    if ((dt != DataType.FLOAT && dt != DataType.DOUBLE)
        || m.dataType() != dt
        || v.dataType() != dt
        || !Arrays.equals(g.shape(), m.shape())
        || !Arrays.equals(g.shape(), v.shape())
        || g.length() > Integer.MAX_VALUE) {
      return false;
    }
    return dense(g) && dense(m) && dense(v) && sameOrder(g, m) && sameOrder(g, v);
  }

  private static boolean dense(INDArray a) {
    return a.length() == 0 || a.length() == 1 || a.elementWiseStride() == 1;
  }

  private static boolean sameOrder(INDArray a, INDArray b) {
    // element k of each buffer range is the same logical element when the orders agree; a vector
    // (or
    // a shape with one dimension above 1) has the same layout in either order
    return a.ordering() == b.ordering() || nonUnitDims(a) <= 1;
  }

  private static int nonUnitDims(INDArray a) {
    int n = 0;
    for (long s : a.shape()) {
      if (s > 1) {
        n++;
      }
    }
    return n;
  }

  /**
   * Updates {@code m} and {@code v} and writes the step into {@code g} (see the class comment); call only
   * when {@link #applies} holds.
   */
  static void apply(
      INDArray g,
      INDArray m,
      INDArray v,
      double beta1,
      double beta2,
      double eps,
      double biasCorrection2Sqrt,
      double stepSize) {
    int n = (int) g.length();
    if (n == 0) {
      return;
    }
    int chunks = (n + CHUNK - 1) / CHUNK;
    if (g.dataType() == DataType.FLOAT) {
      FloatBuffer gb = g.data().asNioFloat();
      FloatBuffer mb = m.data().asNioFloat();
      FloatBuffer vb = v.data().asNioFloat();
      int go = (int) g.offset();
      int mo = (int) m.offset();
      int vo = (int) v.offset();
      float b1 = (float) beta1;
      float c1 = (float) (1.0 - beta1);
      float b2 = (float) beta2;
      float c2 = (float) (1.0 - beta2);
      float e = (float) eps;
      float bc2 = (float) biasCorrection2Sqrt;
      float step = (float) stepSize;
      Parallel.forRange(
          chunks,
          3L * CHUNK,
          (k, from, to) -> {
            float[] gs = new float[CHUNK];
            float[] ms = new float[CHUNK];
            float[] vs = new float[CHUNK];
            for (int c = from; c < to; c++) {
              int start = c * CHUNK;
              int len = Math.min(CHUNK, n - start);
              gb.get(go + start, gs, 0, len);
              mb.get(mo + start, ms, 0, len);
              vb.get(vo + start, vs, 0, len);
              for (int i = 0; i < len; i++) {
                float gi = gs[i];
                float mi = ms[i] * b1 + gi * c1;
                float vi = vs[i] * b2 + (gi * gi) * c2;
                ms[i] = mi;
                vs[i] = vi;
                gs[i] = (mi / ((float) Math.sqrt(vi) / bc2 + e)) * step;
              }
              mb.put(mo + start, ms, 0, len);
              vb.put(vo + start, vs, 0, len);
              gb.put(go + start, gs, 0, len);
            }
          });
    } else {
      DoubleBuffer gb = g.data().asNioDouble();
      DoubleBuffer mb = m.data().asNioDouble();
      DoubleBuffer vb = v.data().asNioDouble();
      int go = (int) g.offset();
      int mo = (int) m.offset();
      int vo = (int) v.offset();
      double c1 = 1.0 - beta1;
      double c2 = 1.0 - beta2;
      Parallel.forRange(
          chunks,
          3L * CHUNK,
          (k, from, to) -> {
            double[] gs = new double[CHUNK];
            double[] ms = new double[CHUNK];
            double[] vs = new double[CHUNK];
            for (int c = from; c < to; c++) {
              int start = c * CHUNK;
              int len = Math.min(CHUNK, n - start);
              gb.get(go + start, gs, 0, len);
              mb.get(mo + start, ms, 0, len);
              vb.get(vo + start, vs, 0, len);
              for (int i = 0; i < len; i++) {
                double gi = gs[i];
                double mi = ms[i] * beta1 + gi * c1;
                double vi = vs[i] * beta2 + (gi * gi) * c2;
                ms[i] = mi;
                vs[i] = vi;
                gs[i] = (mi / (Math.sqrt(vi) / biasCorrection2Sqrt + eps)) * stepSize;
              }
              mb.put(mo + start, ms, 0, len);
              vb.put(vo + start, vs, 0, len);
              gb.put(go + start, gs, 0, len);
            }
          });
    }
  }
}
