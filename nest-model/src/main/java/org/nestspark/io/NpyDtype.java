package org.nestspark.io;

import java.nio.ByteOrder;

/**
 * The NPY element types nest-spark reads and writes. The {@link #descr()} is the little-endian NumPy
 * type string written into headers ({@code <f4}, {@code <f8}, {@code <i8}, {@code <i4}, {@code |b1});
 * {@link #parse(String)} also accepts the big-endian ({@code >}) and native ({@code =}) spellings.
 */
public enum NpyDtype {
  /** {@code <f4}: float32, held as {@code float[]}. */
  FLOAT32("<f4", 4),
  /** {@code <f8}: float64, held as {@code double[]}. */
  FLOAT64("<f8", 8),
  /** {@code <i8}: int64, held as {@code long[]}. */
  INT64("<i8", 8),
  /** {@code <i4}: int32, held as {@code int[]}. */
  INT32("<i4", 4),
  /** {@code |b1}: bool (one byte, 0 or 1), held as {@code boolean[]}. */
  BOOL("|b1", 1);

  private final String descr;
  private final int itemSize;

  NpyDtype(String descr, int itemSize) {
    this.descr = descr;
    this.itemSize = itemSize;
  }

  /** NumPy's type string for this dtype in little-endian order, as written by {@link Npy}. */
  public String descr() {
    return descr;
  }

  /** Bytes per element. */
  public int itemSize() {
    return itemSize;
  }

  /**
   * Parses a NumPy {@code descr}. Returns the dtype and, through {@code orderOut[0]}, the byte order
   * the data is stored in.
   *
   * @throws IllegalArgumentException for any other type string
   */
  static NpyDtype parse(String descr, ByteOrder[] orderOut) {
    if (descr.length() != 3) {
      throw new IllegalArgumentException("unsupported NPY dtype '" + descr + "'");
    }
    char order = descr.charAt(0);
    String kind = descr.substring(1);
    ByteOrder bo;
    switch (order) {
      case '<':
      case '|':
        bo = ByteOrder.LITTLE_ENDIAN;
        break;
      case '>':
        bo = ByteOrder.BIG_ENDIAN;
        break;
      case '=':
        bo = ByteOrder.nativeOrder();
        break;
      default:
        throw new IllegalArgumentException("unsupported NPY dtype '" + descr + "'");
    }
    orderOut[0] = bo;
    switch (kind) {
      case "f4":
        return FLOAT32;
      case "f8":
        return FLOAT64;
      case "i8":
        return INT64;
      case "i4":
        return INT32;
      case "b1":
        return BOOL;
      default:
        throw new IllegalArgumentException(
            "unsupported NPY dtype '" + descr + "' (supported: <f4, <f8, <i8, <i4, |b1)");
    }
  }
}
