package org.nestspark.model.conformer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The encoder-rate padding mask of one forward pass (docs/nest-numerics.md §6.3): {@code mask[b, t] = 1} for valid steps
 * {@code t < L_b}, 0 for padding, or no mask at all (every step valid).
 */
final class SequenceMask {
  private final int batch;
  private final int time;
  private final INDArray mask;
  private INDArray rowColumn;
  private INDArray keyBias;

  /**
   * @param dlMask DL4J's mask {@code [B, T]} (any numeric type, 1 valid / 0 padded) or null
   */
  SequenceMask(INDArray dlMask, int batch, int time, DataType dt) {
    this.batch = batch;
    this.time = time;
    if (dlMask == null) {
      this.mask = null;
    } else {
      if (dlMask.length() != (long) batch * time) {
        throw new IllegalStateException(
            "mask has shape "
                + java.util.Arrays.toString(dlMask.shape())
                + ", expected ["
                + batch
                + ", "
                + time
                + "]");
      }
      this.mask = dlMask.castTo(dt).reshape('c', batch, time).dup('c');
    }
  }

  boolean present() {
    return mask != null;
  }

  int batch() {
    return batch;
  }

  int time() {
    return time;
  }

  /** {@code [B, T]} 1/0, or null when there is no mask. */
  INDArray mask() {
    return mask;
  }

  /** {@code [B·T, 1]} 1/0 per row of the row matrices, or null. */
  INDArray rowColumn() {
    if (mask != null && rowColumn == null) {
      rowColumn = mask.reshape('c', (long) batch * time, 1);
    }
    return rowColumn;
  }

  /**
   * {@code [B, T]}: 0 for valid keys, −10000 for padded ones, added to the attention scores (NeMo
   * replaces masked scores by −10000; for a query row with at least one valid key both give exactly
   * the same probabilities, and fully padded query rows are zeroed afterwards either way).
   */
  INDArray keyBias() {
    if (mask != null && keyBias == null) {
      keyBias = mask.sub(1.0).muli(10000.0);
    }
    return keyBias;
  }
}
