package org.nestspark.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastMulOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Time masks of the NEST graph: {@code [B, T]} arrays with 1 for valid steps and 0 for padding, always a
 * prefix of ones (NeMo passes lengths, docs/nest-numerics.md §6.3); helpers convert between masks and lengths and apply a
 * mask to channels-last activations.
 */
public final class Masks {
  private Masks() {}

  /**
   * Lengths of a prefix mask {@code [B, T]}: the number of ones per row; every row T when the mask is null.
   *
   * @throws IllegalArgumentException when a row is not ones followed by zeros (NeMo masks are lengths)
   */
  public static int[] lengths(INDArray mask, int batch, int time) {
    int[] out = new int[batch];
    if (mask == null) {
      java.util.Arrays.fill(out, time);
      return out;
    }
    if (mask.rank() != 2 || mask.size(0) != batch || mask.size(1) != time) {
      throw new IllegalArgumentException(
          "mask of shape "
              + java.util.Arrays.toString(mask.shape())
              + " does not match ["
              + batch
              + ", "
              + time
              + "]");
    }
    double[] m = mask.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    for (int b = 0; b < batch; b++) {
      int n = 0;
      while (n < time && m[b * time + n] > 0.5) {
        n++;
      }
      for (int t = n; t < time; t++) {
        if (m[b * time + t] > 0.5) {
          throw new IllegalArgumentException(
              "mask row "
                  + b
                  + " is not a prefix of ones (1 at step "
                  + t
                  + " after 0 at step "
                  + n
                  + "); NEST masks are sequence lengths");
        }
      }
      out[b] = n;
    }
    return out;
  }

  /** A prefix mask {@code [B, time]} with {@code lengths[b]} ones in row b, outside any workspace. */
  public static INDArray fromLengths(int[] lengths, int time, DataType dataType) {
    float[] m = new float[lengths.length * time];
    for (int b = 0; b < lengths.length; b++) {
      int n = Math.min(Math.max(lengths[b], 0), time);
      for (int t = 0; t < n; t++) {
        m[b * time + t] = 1f;
      }
    }
    try (MemoryWorkspace ws = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
      return Nd4j.create(m, new long[] {lengths.length, time}, 'c').castTo(dataType);
    }
  }

  /** True when every length equals {@code time} (the mask would be all ones). */
  public static boolean allValid(int[] lengths, int time) {
    for (int l : lengths) {
      if (l < time) {
        return false;
      }
    }
    return true;
  }

  /**
   * Multiplies, in place, an activation whose first two dimensions are {@code [B, T]} (e.g. channels-last
   * {@code [B, T, F, C]}) by a {@code [B, T]} mask. A null mask leaves it unchanged.
   */
  public static INDArray applyTimeMask(INDArray x, INDArray mask) {
    if (mask == null) {
      return x;
    }
    INDArray m = mask.dataType() == x.dataType() ? mask : mask.castTo(x.dataType());
    Nd4j.getExecutioner().exec(new BroadcastMulOp(x, m, x, 0, 1));
    return x;
  }
}
