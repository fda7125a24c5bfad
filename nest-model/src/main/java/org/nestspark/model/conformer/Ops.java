package org.nestspark.model.conformer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Small ND4J building blocks shared by the Conformer sub-modules, forward and backward, on 2-D row
 * matrices {@code [N = B·T', features]} (C order).
 */
final class Ops {
  private Ops() {}

  /** {@code y = x·Wᵀ + b} for a PyTorch Linear weight {@code W (out, in)}; b may be null. */
  static INDArray linear(INDArray x, INDArray w, INDArray b) {
    INDArray y = Nd4j.createUninitialized(x.dataType(), x.size(0), w.size(0));
    Nd4j.gemm(x, w, y, false, true, 1.0, 0.0);
    if (b != null) {
      y.addiRowVector(b);
    }
    return y;
  }

  /**
   * Backward of {@link #linear}: writes {@code dW = dyᵀ·x} into {@code dW} and {@code db = Σ_rows dy}
   * into {@code db} (if not null), and returns {@code dx = dy·W} (or null when {@code needDx} is false).
   */
  static INDArray linearBackward(
      INDArray dy, INDArray x, INDArray w, INDArray dW, INDArray db, boolean needDx) {
    Nd4j.gemm(dy, x, dW, true, false, 1.0, 0.0);
    if (db != null) {
      db.assign(columnSum(dy).reshape(db.shape()));
    }
    if (!needDx) {
      return null;
    }
    INDArray dx = Nd4j.createUninitialized(dy.dataType(), dy.size(0), w.size(1));
    Nd4j.gemm(dy, w, dx, false, false, 1.0, 0.0);
    return dx;
  }

  /**
   * Column sums {@code [1, cols]} of a row matrix, as {@code 1ᵀ·m} (a gemm: libnd4j's strided
   * {@code sum(0)} is several times slower on wide matrices).
   */
  static INDArray columnSum(INDArray m) {
    INDArray ones = Nd4j.ones(m.dataType(), 1, m.size(0));
    INDArray out = Nd4j.createUninitialized(m.dataType(), 1, m.size(1));
    Nd4j.gemm(ones, m, out, false, false, 1.0, 0.0);
    return out;
  }

  /** Column means {@code [1, cols]}. */
  static INDArray columnMean(INDArray m) {
    return columnSum(m).divi(m.size(0));
  }

  /** Swish / SiLU {@code a·σ(a)}; returns {σ(a), a·σ(a)}. */
  static INDArray[] swish(INDArray a) {
    INDArray sig = Transforms.sigmoid(a, true);
    INDArray s = a.mul(sig);
    return new INDArray[] {sig, s};
  }

  /** In place: {@code ds ← ds · d swish/da = ds · σ(a)·(1 + a·(1 − σ(a)))}. */
  static INDArray swishBackwardInPlace(INDArray ds, INDArray a, INDArray sig) {
    // g = sig * (1 + a * (1 - sig))
    INDArray g = sig.rsub(1.0).muli(a).addi(1.0).muli(sig);
    return ds.muli(g);
  }

  /**
   * Inverted-dropout mask (values 0 or 1/(1−p), keep probability 1−p, drawn from
   * {@code Nd4j.getRandom()}), or null when nothing is dropped.
   */
  static INDArray dropoutMask(boolean training, double p, DataType dt, long... shape) {
    if (!training || p <= 0) {
      return null;
    }
    INDArray m = Nd4j.createUninitialized(dt, shape);
    Nd4j.getExecutioner().exec(new BernoulliDistribution(m, 1.0 - p), Nd4j.getRandom());
    return m.muli(1.0 / (1.0 - p));
  }

  /** {@code x ⊙ mask}, or x itself when mask is null (x is not modified). */
  static INDArray applyMask(INDArray x, INDArray mask) {
    return mask == null ? x : x.mul(mask);
  }

  /** In place {@code x ⊙= mask} when mask is not null. */
  static INDArray applyMaskInPlace(INDArray x, INDArray mask) {
    return mask == null ? x : x.muli(mask);
  }
}
