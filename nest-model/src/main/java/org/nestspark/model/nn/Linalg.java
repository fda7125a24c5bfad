package org.nestspark.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The few dense operations of the hand-written layers, always producing C-order results (so that
 * reshapes of them are views and in-place masking reaches the data).
 */
public final class Linalg {
  private Linalg() {}

  /** {@code op(a)·op(b)} as a new C-order matrix in the current workspace. */
  public static INDArray mmul(INDArray a, boolean transposeA, INDArray b, boolean transposeB) {
    long rows = transposeA ? a.size(1) : a.size(0);
    long cols = transposeB ? b.size(0) : b.size(1);
    INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {rows, cols}, 'c');
    return Nd4j.gemm(a, b, c, transposeA, transposeB, 1.0, 0.0);
  }

  /**
   * {@code target = op(a)·op(b)} into a contiguous C-order matrix (e.g. a gradient view reshaped to 2-D).
   */
  public static INDArray mmulInto(
      INDArray a, boolean transposeA, INDArray b, boolean transposeB, INDArray target) {
    if (target.ordering() != 'c' || target.elementWiseStride() != 1) {
      throw new IllegalArgumentException("target must be contiguous C order");
    }
    return Nd4j.gemm(a, b, target, transposeA, transposeB, 1.0, 0.0);
  }

  /** Column sums of a matrix {@code [N, C]} as {@code [1, C]}, computed as a gemv with ones (ND4J's sum over
   * dimension 0 is several times slower on tall matrices). */
  public static INDArray columnSums(INDArray x) {
    INDArray ones = Nd4j.ones(x.dataType(), 1, x.size(0));
    return mmul(ones, false, x, false);
  }

  /** In place: {@code eps ← eps · [activation > 0]}, ReLU's backward given its output (or its input). */
  public static INDArray reluBackpropInPlace(INDArray activation, INDArray eps) {
    Nd4j.exec(
        DynamicCustomOp.builder("relu_bp")
            .addInputs(activation, eps)
            .addOutputs(eps)
            .addFloatingPointArguments(0.0)
            .build());
    return eps;
  }
}
