package org.nestspark.nemo;

import java.nio.ByteBuffer;
import org.nestspark.io.HalfFloats;

/**
 * Converts between checkpoint storage bytes and the Java arrays of {@link NemoTensor} (docs/nest-numerics.md §11: raw
 * little-endian storages, a tensor being a strided view {@code (offset, size, stride)} of one).
 *
 * <p>float16 and bfloat16 are widened to float exactly and narrowed with round-to-nearest-even, so a
 * value read from a checkpoint is written back with the same bits (NaN payloads included).
 */
final class TensorCodec {
  private TensorCodec() {}

  /** A zeroed array of the Java type of {@code dtype}. */
  static Object newArray(NemoDtype dtype, int n) {
    switch (dtype) {
      case FLOAT32:
      case FLOAT16:
      case BFLOAT16:
        return new float[n];
      case FLOAT64:
        return new double[n];
      case INT64:
        return new long[n];
      case INT32:
      case INT16:
      case INT8:
      case UINT8:
        return new int[n];
      case BOOL:
        return new boolean[n];
      default:
        throw new AssertionError(dtype);
    }
  }

  /** Number of elements of a Java array of any of the types above. */
  static int length(Object array) {
    return java.lang.reflect.Array.getLength(array);
  }

  /** Decodes {@code count} consecutive elements starting at byte {@code pos} of {@code src}. */
  static void decode(NemoDtype dtype, ByteBuffer src, int pos, Object dst, int dstOff, int count) {
    ByteBuffer b = src.duplicate().order(src.order());
    b.position(pos);
    switch (dtype) {
      case FLOAT32:
        b.asFloatBuffer().get((float[]) dst, dstOff, count);
        return;
      case FLOAT64:
        b.asDoubleBuffer().get((double[]) dst, dstOff, count);
        return;
      case INT64:
        b.asLongBuffer().get((long[]) dst, dstOff, count);
        return;
      case INT32:
        b.asIntBuffer().get((int[]) dst, dstOff, count);
        return;
      default:
        for (int i = 0; i < count; i++) {
          decodeAt(dtype, src, pos + i * dtype.itemSize(), dst, dstOff + i);
        }
    }
  }

  /** Decodes the element at byte {@code pos} into {@code dst[i]}. */
  static void decodeAt(NemoDtype dtype, ByteBuffer src, int pos, Object dst, int i) {
    switch (dtype) {
      case FLOAT32:
        ((float[]) dst)[i] = src.getFloat(pos);
        break;
      case FLOAT64:
        ((double[]) dst)[i] = src.getDouble(pos);
        break;
      case FLOAT16:
        ((float[]) dst)[i] = HalfFloats.halfToFloat(src.getShort(pos));
        break;
      case BFLOAT16:
        ((float[]) dst)[i] = HalfFloats.bfloat16ToFloat(src.getShort(pos));
        break;
      case INT64:
        ((long[]) dst)[i] = src.getLong(pos);
        break;
      case INT32:
        ((int[]) dst)[i] = src.getInt(pos);
        break;
      case INT16:
        ((int[]) dst)[i] = src.getShort(pos);
        break;
      case INT8:
        ((int[]) dst)[i] = src.get(pos);
        break;
      case UINT8:
        ((int[]) dst)[i] = src.get(pos) & 0xff;
        break;
      case BOOL:
        ((boolean[]) dst)[i] = src.get(pos) != 0;
        break;
      default:
        throw new AssertionError(dtype);
    }
  }

  /**
   * Encodes elements {@code [from, from + count)} of {@code src} into {@code dst} (which must be
   * little-endian and have room), as the checkpoint stores them.
   */
  static void encode(NemoDtype dtype, Object src, int from, int count, ByteBuffer dst) {
    switch (dtype) {
      case FLOAT32:
        {
          float[] a = (float[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putInt(Float.floatToRawIntBits(a[i]));
          }
          return;
        }
      case FLOAT64:
        {
          double[] a = (double[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putLong(Double.doubleToRawLongBits(a[i]));
          }
          return;
        }
      case FLOAT16:
        {
          float[] a = (float[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putShort(HalfFloats.floatToHalf(a[i]));
          }
          return;
        }
      case BFLOAT16:
        {
          float[] a = (float[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putShort(HalfFloats.floatToBfloat16(a[i]));
          }
          return;
        }
      case INT64:
        {
          long[] a = (long[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putLong(a[i]);
          }
          return;
        }
      case INT32:
        {
          int[] a = (int[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putInt(a[i]);
          }
          return;
        }
      case INT16:
        {
          int[] a = (int[]) src;
          for (int i = from; i < from + count; i++) {
            dst.putShort((short) a[i]);
          }
          return;
        }
      case INT8:
      case UINT8:
        {
          int[] a = (int[]) src;
          for (int i = from; i < from + count; i++) {
            dst.put((byte) a[i]);
          }
          return;
        }
      case BOOL:
        {
          boolean[] a = (boolean[]) src;
          for (int i = from; i < from + count; i++) {
            dst.put((byte) (a[i] ? 1 : 0));
          }
          return;
        }
      default:
        throw new AssertionError(dtype);
    }
  }

  /**
   * Materialises the strided view {@code (offset, size, stride)} of a storage in C order.
   *
   * @param storage the storage bytes, ordered by the checkpoint's byte order
   * @param storageNumel elements in the storage
   * @throws IllegalArgumentException when the view reaches outside the storage or has negative strides
   */
  static Object view(
      NemoDtype dtype,
      ByteBuffer storage,
      long storageNumel,
      long offset,
      int[] size,
      long[] stride) {
    if (size.length != stride.length) {
      throw new IllegalArgumentException(
          "size has " + size.length + " dims but stride " + stride.length);
    }
    int n = checkedNumel(size);
    Object out = newArray(dtype, n);
    if (n == 0) {
      return out;
    }
    if (offset < 0) {
      throw new IllegalArgumentException("negative storage offset " + offset);
    }
    long last = offset;
    for (int d = 0; d < size.length; d++) {
      if (stride[d] < 0) {
        throw new IllegalArgumentException("negative stride " + stride[d]);
      }
      last = Math.addExact(last, Math.multiplyExact((long) size[d] - 1, stride[d]));
    }
    if (last >= storageNumel) {
      throw new IllegalArgumentException(
          "view reaches element " + last + " of a storage of " + storageNumel + " elements");
    }
    int item = dtype.itemSize();
    if (isContiguous(size, stride)) {
      decode(dtype, storage, Math.toIntExact(offset * item), out, 0, n);
      return out;
    }
    int rank = size.length;
    // Odometer over all dims but the last; the last dim is a run (bulk when its stride is 1).
    int inner = size[rank - 1];
    long innerStride = stride[rank - 1];
    int[] idx = new int[rank];
    long base = offset;
    for (int o = 0; o < n; o += inner) {
      if (innerStride == 1) {
        decode(dtype, storage, Math.toIntExact(base * item), out, o, inner);
      } else {
        for (int j = 0; j < inner; j++) {
          decodeAt(dtype, storage, Math.toIntExact((base + j * innerStride) * item), out, o + j);
        }
      }
      for (int d = rank - 2; d >= 0; d--) {
        idx[d]++;
        base += stride[d];
        if (idx[d] < size[d]) {
          break;
        }
        base -= stride[d] * size[d];
        idx[d] = 0;
      }
    }
    return out;
  }

  /** True when the strides are the C-contiguous ones (dims of size 1 may have any stride). */
  static boolean isContiguous(int[] size, long[] stride) {
    long expected = 1;
    for (int d = size.length - 1; d >= 0; d--) {
      if (size[d] != 1 && stride[d] != expected) {
        return false;
      }
      expected *= size[d];
    }
    return true;
  }

  /** PyTorch's contiguous strides (a zero-size dim counts as 1, as {@code torch.empty} computes them). */
  static long[] contiguousStrides(int[] size) {
    long[] s = new long[size.length];
    long acc = 1;
    for (int d = size.length - 1; d >= 0; d--) {
      s[d] = acc;
      acc *= Math.max(size[d], 1);
    }
    return s;
  }

  /** Product of a shape, at most {@code Integer.MAX_VALUE - 8} (a Java array). */
  static int checkedNumel(int[] size) {
    long n = 1;
    for (int d : size) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension " + d);
      }
      n *= d;
      if (n > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException("tensor of more than 2^31 elements is not supported");
      }
    }
    return (int) n;
  }
}
