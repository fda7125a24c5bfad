package org.nestspark.features;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.NpyArray;

/**
 * The output of {@link FilterbankFeatures}: NeMo's {@code (features (B, F, T), seq_len (B,))} (docs/nest-numerics.md §1
 * step 11).
 *
 * <p>The features are one flat float32 array in C order, index {@code (b·F + f)·T + t}, which is exactly
 * the memory layout of a {@code [B, F, T]} C-order tensor ({@link #toINDArray()}, {@link #toNpy()}).
 * {@link #data()} exposes the backing array without copying; treat it as read-only unless you own the
 * batch.
 */
public final class FeatureBatch {
  private final float[] data;
  private final int batchSize;
  private final int numFeatures;
  private final int numFrames;
  private final int[] lengths;

  /**
   * Wraps {@code data} (not copied).
   *
   * @param data {@code batchSize · numFeatures · numFrames} values, C order [B, F, T]
   * @param lengths valid frames per item ({@code seq_len})
   */
  public FeatureBatch(float[] data, int batchSize, int numFeatures, int numFrames, int[] lengths) {
    if ((long) batchSize * numFeatures * numFrames != data.length) {
      throw new IllegalArgumentException(
          "data has "
              + data.length
              + " values, not "
              + batchSize
              + "*"
              + numFeatures
              + "*"
              + numFrames);
    }
    if (lengths.length != batchSize) {
      throw new IllegalArgumentException(lengths.length + " lengths for a batch of " + batchSize);
    }
    this.data = data;
    this.batchSize = batchSize;
    this.numFeatures = numFeatures;
    this.numFrames = numFrames;
    this.lengths = lengths.clone();
  }

  /** B. */
  public int batchSize() {
    return batchSize;
  }

  /** F (80). */
  public int numFeatures() {
    return numFeatures;
  }

  /** T: the padded number of frames, a multiple of pad_to. */
  public int numFrames() {
    return numFrames;
  }

  /** A copy of the valid frame counts ({@code seq_len}). */
  public int[] lengths() {
    return lengths.clone();
  }

  /** Valid frames of item {@code b}. */
  public int length(int b) {
    return lengths[b];
  }

  /** The backing array, C order [B, F, T] (not a copy). */
  public float[] data() {
    return data;
  }

  /** Feature {@code f} of frame {@code t} of item {@code b}. */
  public float get(int b, int f, int t) {
    return data[(b * numFeatures + f) * numFrames + t];
  }

  /** Offset of row {@code (b, f)} in {@link #data()}. */
  public int rowOffset(int b, int f) {
    return (b * numFeatures + f) * numFrames;
  }

  /** Item {@code b} as a new {@code [F][T]} array. */
  public float[][] item(int b) {
    float[][] out = new float[numFeatures][];
    for (int f = 0; f < numFeatures; f++) {
      int o = rowOffset(b, f);
      out[f] = Arrays.copyOfRange(data, o, o + numFrames);
    }
    return out;
  }

  /** The features as a float32 {@code [B, F, T]} C-order INDArray (copies into ND4J memory). */
  public INDArray toINDArray() {
    return Nd4j.create(data, new long[] {batchSize, numFeatures, numFrames}, DataType.FLOAT);
  }

  /** The lengths as an int64 {@code [B]} INDArray. */
  public INDArray lengthsToINDArray() {
    long[] l = new long[batchSize];
    for (int b = 0; b < batchSize; b++) {
      l[b] = lengths[b];
    }
    return Nd4j.createFromArray(l);
  }

  /** The features as a float32 {@code (B, F, T)} NPY array (shares {@link #data()}). */
  public NpyArray toNpy() {
    return NpyArray.of(new int[] {batchSize, numFeatures, numFrames}, data);
  }

  /** The lengths as an int64 {@code (B,)} NPY array, NeMo's {@code seq_len} dtype. */
  public NpyArray lengthsToNpy() {
    long[] l = new long[batchSize];
    for (int b = 0; b < batchSize; b++) {
      l[b] = lengths[b];
    }
    return NpyArray.of(new int[] {batchSize}, l);
  }

  @Override
  public String toString() {
    return "FeatureBatch[B="
        + batchSize
        + ", F="
        + numFeatures
        + ", T="
        + numFrames
        + ", lengths="
        + Arrays.toString(lengths)
        + "]";
  }
}
