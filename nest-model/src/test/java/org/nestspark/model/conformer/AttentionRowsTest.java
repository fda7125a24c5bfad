package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.nestspark.model.conformer.ConformerLayer.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;

/**
 * The attention's {@code java} row kernels ({@link AttentionRows}) give the {@code nd4j} ops' bits: the
 * module's output and every gradient, with and without padding and attention dropout, in float and double, on
 * 1 and 3 threads.
 */
class AttentionRowsTest {
  @AfterEach
  void restore() {
    ComputeThreads.apply(ComputeThreads.configured());
  }

  private static Map<String, INDArray> params(DataType dt, int d, int h) {
    Nd4j.getRandom().setSeed(11);
    Map<String, INDArray> p = new LinkedHashMap<>();
    for (String k : new String[] {ATT_Q_W, ATT_K_W, ATT_V_W, ATT_OUT_W, ATT_POS_W}) {
      p.put(k, Nd4j.randn(dt, d, d).muli(1.0 / Math.sqrt(d)));
    }
    for (String k : new String[] {ATT_Q_B, ATT_K_B, ATT_V_B, ATT_OUT_B}) {
      p.put(k, Nd4j.randn(dt, d).muli(0.1));
    }
    p.put(ATT_POS_BIAS_U, Nd4j.randn(dt, h, d / h).muli(0.1));
    p.put(ATT_POS_BIAS_V, Nd4j.randn(dt, h, d / h).muli(0.1));
    return p;
  }

  private static Map<String, INDArray> zerosLike(Map<String, INDArray> p) {
    Map<String, INDArray> g = new LinkedHashMap<>();
    p.forEach((k, v) -> g.put(k, Nd4j.zeros(v.dataType(), v.shape())));
    return g;
  }

  /** Output, dx and every parameter gradient, in that order, as raw bits. */
  private static long[][] run(
      String kernels, DataType dt, int b, int t, int d, int h, boolean padded, double dropAtt) {
    Map<String, INDArray> p = params(dt, d, h);
    Nd4j.getRandom().setSeed(12);
    INDArray x = Nd4j.randn(dt, (long) b * t, d);
    INDArray pos = Nd4j.randn(dt, 2L * t - 1, d);
    INDArray dy = Nd4j.randn(dt, (long) b * t, d);
    INDArray dl = null;
    if (padded) {
      dl = Nd4j.ones(DataType.FLOAT, b, t);
      for (int i = 1; i < b; i++) {
        for (int j = t - 3 * i; j < t; j++) {
          if (j >= 1) {
            dl.putScalar(i, j, 0);
          }
        }
      }
    }
    SequenceMask mask = new SequenceMask(dl, b, t, dt);
    RelPositionMultiHeadAttention att = new RelPositionMultiHeadAttention(d, h, kernels);
    Nd4j.getRandom().setSeed(13); // the same dropout mask on both paths
    INDArray y = att.forward(x, p, pos, mask, dropAtt > 0, dropAtt);
    Map<String, INDArray> g = zerosLike(p);
    INDArray dx = att.backward(dy, p, g);
    long[][] out = new long[2 + g.size()][];
    out[0] = bits(y);
    out[1] = bits(dx);
    int k = 2;
    for (INDArray v : g.values()) {
      out[k++] = bits(v);
    }
    return out;
  }

  private static long[] bits(INDArray a) {
    INDArray c = a.dup('c');
    if (c.dataType() == DataType.FLOAT) {
      int[] i = c.data().asInt();
      long[] l = new long[i.length];
      for (int j = 0; j < i.length; j++) {
        l[j] = i[j];
      }
      return l;
    }
    return c.data().asLong();
  }

  @ParameterizedTest(name = "{0} {1} threads, padded {2}, dropout_att {3}")
  @CsvSource({
    "FLOAT, 1, true, 0.1",
    "FLOAT, 3, true, 0.1",
    "FLOAT, 1, false, 0.0",
    "FLOAT, 3, false, 0.25",
    "DOUBLE, 1, true, 0.1",
    "DOUBLE, 3, true, 0.0"
  })
  void sameBitsAsTheNd4jOps(DataType dt, int threads, boolean padded, double dropAtt) {
    Parallel.setThreads(threads);
    int b = 3;
    int t = 17;
    int d = 12;
    int h = 3;
    long[][] rows = run("java", dt, b, t, d, h, padded, dropAtt);
    long[][] nd4j = run("nd4j", dt, b, t, d, h, padded, dropAtt);
    for (int i = 0; i < rows.length; i++) {
      assertArrayEquals(nd4j[i], rows[i], "array " + i);
    }
    // and the arrays are not trivially equal: another dropout draw or no mask changes them
    if (padded) {
      assertNotEquals(
          java.util.Arrays.hashCode(rows[1]),
          java.util.Arrays.hashCode(run("java", dt, b, t, d, h, false, dropAtt)[1]));
    }
  }
}
