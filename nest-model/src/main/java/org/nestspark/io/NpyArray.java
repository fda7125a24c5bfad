package org.nestspark.io;

import java.util.Arrays;
import java.util.Objects;

/**
 * An n-dimensional array as stored in an NPY file: a shape, a {@link NpyDtype} and the elements in
 * C (row-major) order in a flat Java array ({@code float[]}, {@code double[]}, {@code long[]},
 * {@code int[]} or {@code boolean[]} according to the dtype).
 *
 * <p>The holder does not copy: the data array passed in (or returned by the {@code *Data()} accessors)
 * is the one held. A 0-d array (NumPy scalar) has shape {@code []} and one element.
 */
public final class NpyArray {
  private final int[] shape;
  private final NpyDtype dtype;
  private final Object data;

  private NpyArray(int[] shape, NpyDtype dtype, Object data, int length) {
    this.shape = shape.clone();
    this.dtype = dtype;
    this.data = data;
    long n = numElements(this.shape);
    if (n != length) {
      throw new IllegalArgumentException(
          "shape "
              + Arrays.toString(shape)
              + " holds "
              + n
              + " elements but the data has "
              + length);
    }
  }

  /** A float32 ({@code <f4}) array. */
  public static NpyArray of(int[] shape, float[] data) {
    return new NpyArray(shape, NpyDtype.FLOAT32, Objects.requireNonNull(data), data.length);
  }

  /** A float64 ({@code <f8}) array. */
  public static NpyArray of(int[] shape, double[] data) {
    return new NpyArray(shape, NpyDtype.FLOAT64, Objects.requireNonNull(data), data.length);
  }

  /** An int64 ({@code <i8}) array. */
  public static NpyArray of(int[] shape, long[] data) {
    return new NpyArray(shape, NpyDtype.INT64, Objects.requireNonNull(data), data.length);
  }

  /** An int32 ({@code <i4}) array. */
  public static NpyArray of(int[] shape, int[] data) {
    return new NpyArray(shape, NpyDtype.INT32, Objects.requireNonNull(data), data.length);
  }

  /** A bool ({@code |b1}) array. */
  public static NpyArray of(int[] shape, boolean[] data) {
    return new NpyArray(shape, NpyDtype.BOOL, Objects.requireNonNull(data), data.length);
  }

  /**
   * Number of elements of a shape (1 for the 0-d shape).
   *
   * @throws IllegalArgumentException for a negative dimension or more than {@code Integer.MAX_VALUE}
   *     elements
   */
  public static long numElements(int[] shape) {
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
      }
      n *= d;
      if (n > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            "array too large for Java: shape " + Arrays.toString(shape));
      }
    }
    return n;
  }

  /** A copy of the shape. */
  public int[] shape() {
    return shape.clone();
  }

  /** Size of dimension {@code i}. */
  public int dim(int i) {
    return shape[i];
  }

  /** Number of dimensions (0 for a scalar). */
  public int rank() {
    return shape.length;
  }

  public NpyDtype dtype() {
    return dtype;
  }

  /** Number of elements. */
  public int size() {
    return (int) numElements(shape);
  }

  /** The backing array ({@code float[]}, {@code double[]}, {@code long[]}, {@code int[]} or {@code boolean[]}). */
  public Object data() {
    return data;
  }

  /** The backing {@code float[]}; only for {@link NpyDtype#FLOAT32}. */
  public float[] floatData() {
    return (float[]) requireDtype(NpyDtype.FLOAT32);
  }

  /** The backing {@code double[]}; only for {@link NpyDtype#FLOAT64}. */
  public double[] doubleData() {
    return (double[]) requireDtype(NpyDtype.FLOAT64);
  }

  /** The backing {@code long[]}; only for {@link NpyDtype#INT64}. */
  public long[] longData() {
    return (long[]) requireDtype(NpyDtype.INT64);
  }

  /** The backing {@code int[]}; only for {@link NpyDtype#INT32}. */
  public int[] intData() {
    return (int[]) requireDtype(NpyDtype.INT32);
  }

  /** The backing {@code boolean[]}; only for {@link NpyDtype#BOOL}. */
  public boolean[] booleanData() {
    return (boolean[]) requireDtype(NpyDtype.BOOL);
  }

  /** The elements converted to a new {@code double[]} (bool as 0/1). */
  public double[] toDoubleArray() {
    int n = size();
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = getDouble(i);
    }
    return out;
  }

  /** The elements converted to a new {@code float[]} (bool as 0/1). */
  public float[] toFloatArray() {
    int n = size();
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) getDouble(i);
    }
    return out;
  }

  /** The elements converted to a new {@code long[]} (floats truncated toward zero, bool as 0/1). */
  public long[] toLongArray() {
    int n = size();
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      switch (dtype) {
        case INT64:
          out[i] = ((long[]) data)[i];
          break;
        case INT32:
          out[i] = ((int[]) data)[i];
          break;
        default:
          out[i] = (long) getDouble(i);
      }
    }
    return out;
  }

  /** Element {@code i} of the flat C-order data as a double (bool as 0/1). */
  public double getDouble(int i) {
    switch (dtype) {
      case FLOAT32:
        return ((float[]) data)[i];
      case FLOAT64:
        return ((double[]) data)[i];
      case INT64:
        return ((long[]) data)[i];
      case INT32:
        return ((int[]) data)[i];
      case BOOL:
        return ((boolean[]) data)[i] ? 1 : 0;
      default:
        throw new AssertionError(dtype);
    }
  }

  private Object requireDtype(NpyDtype want) {
    if (dtype != want) {
      throw new IllegalStateException("array is " + dtype.descr() + ", not " + want.descr());
    }
    return data;
  }

  @Override
  public String toString() {
    return "NpyArray(" + dtype.descr() + ", shape " + Arrays.toString(shape) + ")";
  }
}
