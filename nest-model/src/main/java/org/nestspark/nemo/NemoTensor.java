package org.nestspark.nemo;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import org.nestspark.io.NpyArray;

/**
 * One entry of a NeMo state dict (docs/nest-numerics.md §11): a name ({@code encoder.layers.0.norm_out.weight}), a
 * {@link NemoDtype}, a shape (empty for a 0-d tensor such as {@code num_batches_tracked}) and the
 * elements in C (row-major) order.
 *
 * <p>Immutable: the factories copy the array they are given and the accessors return copies. The
 * elements are held as described in {@link NemoDtype}; float16/bfloat16 values given to a factory are
 * rounded to the dtype (nearest even) at once, so what you read back is what will be written.
 * Whatever strides the checkpoint used, the data here is always C-contiguous.
 */
public final class NemoTensor {
  private final String name;
  private final NemoDtype dtype;
  private final int[] shape;
  private final Object data;

  /** Takes ownership of {@code data} (no copy); the caller has validated it. */
  private NemoTensor(String name, NemoDtype dtype, int[] shape, Object data) {
    this.name = Objects.requireNonNull(name, "name");
    this.dtype = dtype;
    this.shape = shape;
    this.data = data;
  }

  /** A float32 tensor (data copied). */
  public static NemoTensor of(String name, int[] shape, float[] data) {
    return of(name, NemoDtype.FLOAT32, shape, data);
  }

  /** A float64 tensor (data copied). */
  public static NemoTensor of(String name, int[] shape, double[] data) {
    return of(name, NemoDtype.FLOAT64, shape, data);
  }

  /** An int64 tensor (data copied). */
  public static NemoTensor of(String name, int[] shape, long[] data) {
    return of(name, NemoDtype.INT64, shape, data);
  }

  /**
   * A tensor of any dtype; {@code data} must be the array type of {@link NemoDtype#arrayType()} with
   * {@code prod(shape)} elements (copied). int16/int8/uint8 values must be in range; float16/bfloat16
   * values are rounded to the dtype.
   *
   * @throws IllegalArgumentException on a wrong array type, length or out-of-range integer
   */
  public static NemoTensor of(String name, NemoDtype dtype, int[] shape, Object data) {
    Objects.requireNonNull(dtype, "dtype");
    Objects.requireNonNull(data, "data");
    int[] s = shape.clone();
    int n = TensorCodec.checkedNumel(s);
    if (!dtype.arrayType().isInstance(data)) {
      throw new IllegalArgumentException(
          name
              + ": "
              + dtype
              + " needs a "
              + dtype.arrayType().getSimpleName()
              + ", got "
              + data.getClass().getSimpleName());
    }
    if (TensorCodec.length(data) != n) {
      throw new IllegalArgumentException(
          name
              + ": shape "
              + Arrays.toString(s)
              + " holds "
              + n
              + " elements but the data has "
              + TensorCodec.length(data));
    }
    Object copy = copyOf(data);
    switch (dtype) {
      case FLOAT16:
        {
          float[] a = (float[]) copy;
          for (int i = 0; i < n; i++) {
            a[i] =
                org.nestspark.io.HalfFloats.halfToFloat(
                    org.nestspark.io.HalfFloats.floatToHalf(a[i]));
          }
          break;
        }
      case BFLOAT16:
        {
          float[] a = (float[]) copy;
          for (int i = 0; i < n; i++) {
            a[i] =
                org.nestspark.io.HalfFloats.bfloat16ToFloat(
                    org.nestspark.io.HalfFloats.floatToBfloat16(a[i]));
          }
          break;
        }
      case INT16:
        checkRange(name, (int[]) copy, Short.MIN_VALUE, Short.MAX_VALUE, dtype);
        break;
      case INT8:
        checkRange(name, (int[]) copy, Byte.MIN_VALUE, Byte.MAX_VALUE, dtype);
        break;
      case UINT8:
        checkRange(name, (int[]) copy, 0, 255, dtype);
        break;
      default:
        break;
    }
    return new NemoTensor(name, dtype, s, copy);
  }

  /** A tensor from an NPY array (float32, float64, int64, int32 or bool; data copied). */
  public static NemoTensor fromNpy(String name, NpyArray a) {
    NemoDtype d;
    switch (a.dtype()) {
      case FLOAT32:
        d = NemoDtype.FLOAT32;
        break;
      case FLOAT64:
        d = NemoDtype.FLOAT64;
        break;
      case INT64:
        d = NemoDtype.INT64;
        break;
      case INT32:
        d = NemoDtype.INT32;
        break;
      case BOOL:
        d = NemoDtype.BOOL;
        break;
      default:
        throw new IllegalArgumentException("unsupported NPY dtype " + a.dtype());
    }
    return of(name, d, a.shape(), a.data());
  }

  /** Wraps {@code data} without copying (package use: the reader owns freshly decoded arrays). */
  static NemoTensor wrap(String name, NemoDtype dtype, int[] shape, Object data) {
    if (TensorCodec.length(data) != TensorCodec.checkedNumel(shape)) {
      throw new IllegalArgumentException(
          "data length does not match shape " + Arrays.toString(shape));
    }
    return new NemoTensor(name, dtype, shape.clone(), data);
  }

  /** The same tensor under another name (the data is shared, which is safe: it is never modified). */
  public NemoTensor withName(String newName) {
    return new NemoTensor(newName, dtype, shape, data);
  }

  public String name() {
    return name;
  }

  public NemoDtype dtype() {
    return dtype;
  }

  /** A copy of the shape ({@code []} for a 0-d tensor). */
  public int[] shape() {
    return shape.clone();
  }

  /** Number of dimensions. */
  public int rank() {
    return shape.length;
  }

  /** Size of dimension {@code i}. */
  public int dim(int i) {
    return shape[i];
  }

  /** Number of elements (1 for a 0-d tensor). */
  public int numel() {
    return TensorCodec.length(data);
  }

  /** The elements as float (a copy; float64 and integers are converted, bool is 0/1). */
  public float[] toFloatArray() {
    if (data instanceof float[]) {
      return ((float[]) data).clone();
    }
    int n = numel();
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      out[i] = (float) getDouble(i);
    }
    return out;
  }

  /** The elements as double (a copy; exact for every dtype but int64 beyond 2^53). */
  public double[] toDoubleArray() {
    if (data instanceof double[]) {
      return ((double[]) data).clone();
    }
    int n = numel();
    double[] out = new double[n];
    for (int i = 0; i < n; i++) {
      out[i] = getDouble(i);
    }
    return out;
  }

  /**
   * The elements as long (a copy).
   *
   * @throws IllegalStateException for floating-point tensors (use {@link #toDoubleArray()})
   */
  public long[] toLongArray() {
    if (data instanceof long[]) {
      return ((long[]) data).clone();
    }
    int n = numel();
    long[] out = new long[n];
    if (data instanceof int[]) {
      int[] a = (int[]) data;
      for (int i = 0; i < n; i++) {
        out[i] = a[i];
      }
    } else if (data instanceof boolean[]) {
      boolean[] a = (boolean[]) data;
      for (int i = 0; i < n; i++) {
        out[i] = a[i] ? 1 : 0;
      }
    } else {
      throw new IllegalStateException(
          name + " is " + dtype.torchName() + ", not an integer tensor");
    }
    return out;
  }

  /**
   * A copy of the elements in their Java array type ({@code float[]}, {@code double[]},
   * {@code long[]}, {@code int[]} or {@code boolean[]}, see {@link NemoDtype}).
   */
  public Object copyData() {
    return copyOf(data);
  }

  /** Element {@code i} (C order) as a double. */
  public double getDouble(int i) {
    if (data instanceof float[]) {
      return ((float[]) data)[i];
    } else if (data instanceof double[]) {
      return ((double[]) data)[i];
    } else if (data instanceof long[]) {
      return ((long[]) data)[i];
    } else if (data instanceof int[]) {
      return ((int[]) data)[i];
    } else {
      return ((boolean[]) data)[i] ? 1 : 0;
    }
  }

  /** The elements as the checkpoint stores them: C order, little-endian, {@link NemoDtype#itemSize()} each. */
  public byte[] toLittleEndianBytes() {
    ByteBuffer b =
        ByteBuffer.allocate(Math.multiplyExact(numel(), dtype.itemSize()))
            .order(ByteOrder.LITTLE_ENDIAN);
    TensorCodec.encode(dtype, data, 0, numel(), b);
    return b.array();
  }

  /** Writes elements {@code [from, from + count)} little-endian into {@code dst} (package use: the writer). */
  void encodeTo(int from, int count, ByteBuffer dst) {
    TensorCodec.encode(dtype, data, from, count, dst);
  }

  /**
   * An NPY array of the same values: float32, float64, int64, int32 and bool as they are; float16 and
   * bfloat16 widened to float32; int16, int8 and uint8 widened to int32.
   */
  public NpyArray toNpy() {
    Object copy = copyOf(data);
    if (copy instanceof float[]) {
      return NpyArray.of(shape, (float[]) copy);
    } else if (copy instanceof double[]) {
      return NpyArray.of(shape, (double[]) copy);
    } else if (copy instanceof long[]) {
      return NpyArray.of(shape, (long[]) copy);
    } else if (copy instanceof int[]) {
      return NpyArray.of(shape, (int[]) copy);
    }
    return NpyArray.of(shape, (boolean[]) copy);
  }

  /** Same name, dtype, shape and bit-identical elements. */
  @Override
  public boolean equals(Object o) {
    if (!(o instanceof NemoTensor)) {
      return false;
    }
    NemoTensor t = (NemoTensor) o;
    return name.equals(t.name)
        && dtype == t.dtype
        && Arrays.equals(shape, t.shape)
        && dataEquals(t);
  }

  /** Same dtype, shape and bit-identical elements, whatever the names. */
  public boolean sameValues(NemoTensor t) {
    return dtype == t.dtype && Arrays.equals(shape, t.shape) && dataEquals(t);
  }

  private boolean dataEquals(NemoTensor t) {
    return Arrays.equals(toLittleEndianBytes(), t.toLittleEndianBytes());
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, dtype, Arrays.hashCode(shape));
  }

  @Override
  public String toString() {
    return "NemoTensor(" + name + ", " + dtype.torchName() + ", " + Arrays.toString(shape) + ")";
  }

  private static Object copyOf(Object a) {
    if (a instanceof float[]) {
      return ((float[]) a).clone();
    } else if (a instanceof double[]) {
      return ((double[]) a).clone();
    } else if (a instanceof long[]) {
      return ((long[]) a).clone();
    } else if (a instanceof int[]) {
      return ((int[]) a).clone();
    } else if (a instanceof boolean[]) {
      return ((boolean[]) a).clone();
    }
    throw new IllegalArgumentException("unsupported array type " + a.getClass());
  }

  private static void checkRange(String name, int[] a, int lo, int hi, NemoDtype dtype) {
    for (int i = 0; i < a.length; i++) {
      if (a[i] < lo || a[i] > hi) {
        throw new IllegalArgumentException(
            name + ": element " + i + " = " + a[i] + " is out of range for " + dtype.torchName());
      }
    }
  }
}
