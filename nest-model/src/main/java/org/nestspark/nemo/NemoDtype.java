package org.nestspark.nemo;

/**
 * The tensor element types a NeMo state dict can hold, with PyTorch's names for them (docs/nest-numerics.md §11).
 *
 * <p>{@link #storageClass()} is the legacy typed-storage class that {@code torch.save} names in the
 * pickle's persistent ids ({@code torch.FloatStorage}, ...), which torch 1.13 and 2.x both write.
 * NEST checkpoints hold float32 tensors, the float64 {@code quantizer.codebooks} and int64
 * {@code num_batches_tracked} scalars; the others are accepted so that any plain state dict reads.
 *
 * <p>Java holds the elements as: {@code float[]} for float32 and (widened exactly) float16 and
 * bfloat16; {@code double[]} for float64; {@code long[]} for int64; {@code int[]} for int32, int16,
 * int8 and uint8; {@code boolean[]} for bool.
 */
public enum NemoDtype {
  FLOAT32("torch.float32", "FloatStorage", 4, float[].class),
  FLOAT64("torch.float64", "DoubleStorage", 8, double[].class),
  FLOAT16("torch.float16", "HalfStorage", 2, float[].class),
  BFLOAT16("torch.bfloat16", "BFloat16Storage", 2, float[].class),
  INT64("torch.int64", "LongStorage", 8, long[].class),
  INT32("torch.int32", "IntStorage", 4, int[].class),
  INT16("torch.int16", "ShortStorage", 2, int[].class),
  INT8("torch.int8", "CharStorage", 1, int[].class),
  UINT8("torch.uint8", "ByteStorage", 1, int[].class),
  BOOL("torch.bool", "BoolStorage", 1, boolean[].class);

  private final String torchName;
  private final String storageClass;
  private final int itemSize;
  private final Class<?> arrayType;

  NemoDtype(String torchName, String storageClass, int itemSize, Class<?> arrayType) {
    this.torchName = torchName;
    this.storageClass = storageClass;
    this.itemSize = itemSize;
    this.arrayType = arrayType;
  }

  /** PyTorch's name, e.g. {@code torch.float32}. */
  public String torchName() {
    return torchName;
  }

  /** The legacy storage class in module {@code torch}, e.g. {@code FloatStorage}. */
  public String storageClass() {
    return storageClass;
  }

  /** Bytes per element in the checkpoint. */
  public int itemSize() {
    return itemSize;
  }

  /** The Java array type that holds the elements ({@code float[].class}, ...). */
  public Class<?> arrayType() {
    return arrayType;
  }

  /** True for float32, float64, float16 and bfloat16. */
  public boolean isFloatingPoint() {
    return arrayType == float[].class || arrayType == double[].class;
  }

  /** The dtype of a legacy storage class name ({@code FloatStorage}), or {@code null}. */
  public static NemoDtype ofStorageClass(String name) {
    for (NemoDtype d : values()) {
      if (d.storageClass.equals(name)) {
        return d;
      }
    }
    return null;
  }
}
