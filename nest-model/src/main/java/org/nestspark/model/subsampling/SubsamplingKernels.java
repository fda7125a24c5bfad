package org.nestspark.model.subsampling;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.HeapArrays;

/**
 * The Java-loop kernels of {@link ConvSubsamplingImpl} ({@link FirstConv2dS2}, {@link DepthwiseConv2dS2})
 * for one data type, on heap arrays ({@code float[]} for FLOAT, {@code double[]} for DOUBLE, passed as
 * {@code Object}), with named reusable buffers so a training step allocates nothing once warm.
 */
abstract class SubsamplingKernels {
  private final Map<String, Object> buffers = new HashMap<>();

  static SubsamplingKernels of(DataType dt) {
    if (dt == DataType.FLOAT) {
      return new Floats();
    }
    if (dt == DataType.DOUBLE) {
      return new Doubles();
    }
    throw new IllegalStateException("ConvSubsampling supports FLOAT and DOUBLE, not " + dt);
  }

  abstract DataType dataType();

  abstract int length(Object heap);

  abstract Object allocate(int n);

  /** A reusable buffer of at least {@code n} elements, named by its role. */
  Object buffer(String name, long n) {
    if (n > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "ConvSubsampling: an activation of "
              + n
              + " elements exceeds Java's array limit; use a smaller batch or shorter utterances");
    }
    Object b = buffers.get(name);
    if (b == null || length(b) < n) {
      b = allocate((int) n);
      buffers.put(name, b);
    }
    return b;
  }

  /** The array's elements in C order, into the named buffer. */
  abstract Object toHeap(INDArray a, String name);

  /** Copies {@code target.length()} elements into a contiguous C-order array. */
  abstract void toArray(Object heap, INDArray target);

  /** A new C-order array (current workspace) holding the first elements of {@code heap}. */
  INDArray newArray(Object heap, long... shape) {
    INDArray a = Nd4j.createUninitialized(dataType(), shape, 'c');
    toArray(heap, a);
    return a;
  }

  abstract void firstForward(
      Object x,
      int batch,
      int f,
      int t,
      int[] inLengths,
      int[] outLengths,
      Object w,
      Object bias,
      int c,
      Object y);

  abstract void firstBackwardWeights(
      Object x, Object dz, int batch, int f, int t, int[] inLengths, int c, Object dw, Object db);

  abstract void firstBackwardInput(
      Object dz, int batch, int f, int t, int[] inLengths, Object w, int c, Object dx);

  abstract void dwForward(
      Object x, int batch, int h, int w, int c, Object wt, Object bias, int[] outLengths, Object y);

  abstract void dwBackwardInput(
      Object dy, int batch, int h, int w, int c, Object wt, Object gate, Object dx);

  abstract void dwBackwardWeights(
      Object x, Object dy, int batch, int h, int w, int c, Object dw, Object db);

  private static final class Floats extends SubsamplingKernels {
    @Override
    DataType dataType() {
      return DataType.FLOAT;
    }

    @Override
    int length(Object heap) {
      return ((float[]) heap).length;
    }

    @Override
    Object allocate(int n) {
      return new float[n];
    }

    @Override
    Object toHeap(INDArray a, String name) {
      return HeapArrays.floats(a, (float[]) buffer(name, a.length()));
    }

    @Override
    void toArray(Object heap, INDArray target) {
      HeapArrays.put((float[]) heap, target);
    }

    @Override
    void firstForward(
        Object x,
        int batch,
        int f,
        int t,
        int[] inL,
        int[] outL,
        Object w,
        Object bias,
        int c,
        Object y) {
      FirstConv2dS2.forward(
          (float[]) x, batch, f, t, inL, outL, (float[]) w, (float[]) bias, c, (float[]) y);
    }

    @Override
    void firstBackwardWeights(
        Object x, Object dz, int batch, int f, int t, int[] inL, int c, Object dw, Object db) {
      FirstConv2dS2.backwardWeights(
          (float[]) x, (float[]) dz, batch, f, t, inL, c, (float[]) dw, (float[]) db);
    }

    @Override
    void firstBackwardInput(
        Object dz, int batch, int f, int t, int[] inL, Object w, int c, Object dx) {
      FirstConv2dS2.backwardInput((float[]) dz, batch, f, t, inL, (float[]) w, c, (float[]) dx);
    }

    @Override
    void dwForward(
        Object x, int batch, int h, int w, int c, Object wt, Object bias, int[] outL, Object y) {
      DepthwiseConv2dS2.forward(
          (float[]) x, batch, h, w, c, (float[]) wt, (float[]) bias, outL, (float[]) y);
    }

    @Override
    void dwBackwardInput(
        Object dy, int batch, int h, int w, int c, Object wt, Object gate, Object dx) {
      DepthwiseConv2dS2.backwardInput(
          (float[]) dy, batch, h, w, c, (float[]) wt, (float[]) gate, (float[]) dx);
    }

    @Override
    void dwBackwardWeights(
        Object x, Object dy, int batch, int h, int w, int c, Object dw, Object db) {
      DepthwiseConv2dS2.backwardWeights(
          (float[]) x, (float[]) dy, batch, h, w, c, (float[]) dw, (float[]) db);
    }
  }

  private static final class Doubles extends SubsamplingKernels {
    @Override
    DataType dataType() {
      return DataType.DOUBLE;
    }

    @Override
    int length(Object heap) {
      return ((double[]) heap).length;
    }

    @Override
    Object allocate(int n) {
      return new double[n];
    }

    @Override
    Object toHeap(INDArray a, String name) {
      return HeapArrays.doubles(a, (double[]) buffer(name, a.length()));
    }

    @Override
    void toArray(Object heap, INDArray target) {
      HeapArrays.put((double[]) heap, target);
    }

    @Override
    void firstForward(
        Object x,
        int batch,
        int f,
        int t,
        int[] inL,
        int[] outL,
        Object w,
        Object bias,
        int c,
        Object y) {
      FirstConv2dS2.forward(
          (double[]) x, batch, f, t, inL, outL, (double[]) w, (double[]) bias, c, (double[]) y);
    }

    @Override
    void firstBackwardWeights(
        Object x, Object dz, int batch, int f, int t, int[] inL, int c, Object dw, Object db) {
      FirstConv2dS2.backwardWeights(
          (double[]) x, (double[]) dz, batch, f, t, inL, c, (double[]) dw, (double[]) db);
    }

    @Override
    void firstBackwardInput(
        Object dz, int batch, int f, int t, int[] inL, Object w, int c, Object dx) {
      FirstConv2dS2.backwardInput((double[]) dz, batch, f, t, inL, (double[]) w, c, (double[]) dx);
    }

    @Override
    void dwForward(
        Object x, int batch, int h, int w, int c, Object wt, Object bias, int[] outL, Object y) {
      DepthwiseConv2dS2.forward(
          (double[]) x, batch, h, w, c, (double[]) wt, (double[]) bias, outL, (double[]) y);
    }

    @Override
    void dwBackwardInput(
        Object dy, int batch, int h, int w, int c, Object wt, Object gate, Object dx) {
      DepthwiseConv2dS2.backwardInput(
          (double[]) dy, batch, h, w, c, (double[]) wt, (double[]) gate, (double[]) dx);
    }

    @Override
    void dwBackwardWeights(
        Object x, Object dy, int batch, int h, int w, int c, Object dw, Object db) {
      DepthwiseConv2dS2.backwardWeights(
          (double[]) x, (double[]) dy, batch, h, w, c, (double[]) dw, (double[]) db);
    }
  }
}
