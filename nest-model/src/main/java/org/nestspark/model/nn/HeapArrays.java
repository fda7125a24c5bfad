package org.nestspark.model.nn;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Bulk copies between ND4J arrays and Java arrays, for the few kernels written as plain Java loops
 * (ND4J's native depthwise convolution is about 10× slower than a channels-last Java loop here). The
 * copies are single memcpy calls; non-contiguous arrays are made contiguous first.
 */
public final class HeapArrays {
  private HeapArrays() {}

  private static INDArray contiguous(INDArray a) {
    if (a.isView() || a.ordering() != 'c' || a.length() != a.data().length()) {
      return a.dup('c');
    }
    return a;
  }

  /** The elements of a FLOAT array in C order. */
  public static float[] floats(INDArray a, float[] reuse) {
    if (a.dataType() != DataType.FLOAT) {
      throw new IllegalArgumentException("expected FLOAT, got " + a.dataType());
    }
    INDArray c = contiguous(a);
    int n = (int) c.length();
    float[] out = reuse != null && reuse.length >= n ? reuse : new float[n];
    ((FloatPointer) c.data().addressPointer()).get(out, 0, n);
    return out;
  }

  /** The elements of a DOUBLE array in C order. */
  public static double[] doubles(INDArray a, double[] reuse) {
    if (a.dataType() != DataType.DOUBLE) {
      throw new IllegalArgumentException("expected DOUBLE, got " + a.dataType());
    }
    INDArray c = contiguous(a);
    int n = (int) c.length();
    double[] out = reuse != null && reuse.length >= n ? reuse : new double[n];
    ((DoublePointer) c.data().addressPointer()).get(out, 0, n);
    return out;
  }

  /** Writes {@code target.length()} values into a contiguous C-order FLOAT array. */
  public static void put(float[] src, INDArray target) {
    checkTarget(target, DataType.FLOAT);
    ((FloatPointer) target.data().addressPointer()).put(src, 0, (int) target.length());
  }

  /** Writes {@code target.length()} values into a contiguous C-order DOUBLE array. */
  public static void put(double[] src, INDArray target) {
    checkTarget(target, DataType.DOUBLE);
    ((DoublePointer) target.data().addressPointer()).put(src, 0, (int) target.length());
  }

  private static void checkTarget(INDArray t, DataType dt) {
    if (t.dataType() != dt
        || t.isView()
        || t.ordering() != 'c'
        || t.length() != t.data().length()) {
      throw new IllegalArgumentException("target must be a contiguous C-order " + dt + " array");
    }
  }
}
