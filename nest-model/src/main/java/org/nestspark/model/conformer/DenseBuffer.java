package org.nestspark.model.conformer;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Element access to a dense C-order FLOAT or DOUBLE array for the row kernels ({@link AttentionRows},
 * {@link LayerNormOp}): the NIO view of its whole data buffer ({@link #f} or {@link #d}) and the index of
 * its first element ({@link #base}, the array's offset in that buffer).
 */
final class DenseBuffer {
  final FloatBuffer f;
  final DoubleBuffer d;
  final int base;

  DenseBuffer(INDArray a) {
    boolean vector = a.length() == 1 || a.isVector(); // one layout in either order
    if ((a.ordering() != 'c' && !vector)
        || a.elementWiseStride() != 1
        || a.length() > Integer.MAX_VALUE) {
      throw new IllegalArgumentException(
          "expected a dense C-order array, got " + a.shapeInfoToString());
    }
    base = (int) a.offset();
    if (a.dataType() == DataType.FLOAT) {
      f = a.data().asNioFloat();
      d = null;
    } else if (a.dataType() == DataType.DOUBLE) {
      f = null;
      d = a.data().asNioDouble();
    } else {
      throw new IllegalArgumentException("expected FLOAT or DOUBLE, got " + a.dataType());
    }
  }

  /** The buffer of {@code a}, or null for null. */
  static DenseBuffer of(INDArray a) {
    return a == null ? null : new DenseBuffer(a);
  }
}
