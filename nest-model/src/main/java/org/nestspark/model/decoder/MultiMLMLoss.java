package org.nestspark.model.decoder;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.shape.OneHot;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * NeMo's {@code MultiMLMLoss} on already selected positions (docs/nest-numerics.md §7): for each book h,
 * {@code loss_h = −(1/N) Σ_n log_softmax(z_n[·, h])[target_{n,h}]} over the N selected (b, t) of the
 * batch, and {@code loss = (1/H) Σ_h loss_h}; optionally its gradient with respect to the logits,
 * {@code scale/(H·N) · (softmax − onehot)}, and the number of correct argmax predictions.
 *
 * <p>Logits are {@code [N, num_classes·H]} with channel index {@code class·H + book} (NeMo's decoder
 * layout). N = 0 gives loss 0 and a zero gradient (NeMo would return NaN, docs/nest-numerics.md §14.6).
 */
public final class MultiMLMLoss {
  private MultiMLMLoss() {}

  /** Loss, correct predictions and (when asked for) the logits gradient. */
  public static final class Result {
    /** Mean NLL over selected positions, averaged over books (0 when nothing is selected). */
    public final double loss;

    /** Number of (position, book) pairs whose argmax equals the target. */
    public final long correct;

    /** Number of selected positions N. */
    public final int numSelected;

    /** d loss / d logits × scale, {@code [N, num_classes·H]}, or null. */
    public final INDArray gradLogits;

    /** Per selected position: the NLL averaged over books, or null. */
    public final double[] perPosition;

    Result(double loss, long correct, int numSelected, INDArray gradLogits, double[] perPosition) {
      this.loss = loss;
      this.correct = correct;
      this.numSelected = numSelected;
      this.gradLogits = gradLogits;
      this.perPosition = perPosition;
    }

    /** correct / (N·H), 0 when nothing is selected. */
    public double accuracy(int numBooks) {
      return numSelected == 0 ? 0.0 : (double) correct / ((long) numSelected * numBooks);
    }
  }

  /**
   * Number of selected tokens of a labels mask {@code [B, T']} (entries > 0.5). A trainer skips a batch
   * with none: its loss is undefined in NeMo (NaN) and 0 here, with zero gradients, but a fit step would
   * still move the BatchNorm running statistics.
   */
  public static long countSelected(INDArray labelsMask) {
    if (labelsMask == null) {
      throw new IllegalArgumentException("no labels mask: every position would count");
    }
    return labelsMask.gt(0.5).castTo(DataType.INT).sumNumber().longValue();
  }

  /** The number of selected positions, after checking that the logits hold numClasses × numBooks per target. */
  private static int checkShapes(INDArray logits, int[][] targets, int numClasses, int numBooks) {
    int n = (int) logits.size(0);
    if (logits.rank() != 2
        || logits.size(1) != (long) numClasses * numBooks
        || targets.length != n) {
      throw new IllegalArgumentException(
          "logits "
              + java.util.Arrays.toString(logits.shape())
              + " do not match "
              + n
              + " targets × "
              + numClasses
              + " classes × "
              + numBooks
              + " books");
    }
    return n;
  }

  /** The result for a batch without any selected position: loss 0, no gradient. */
  public static Result empty() {
    return new Result(0.0, 0, 0, null, new double[0]);
  }

  /**
   * @param logits {@code [N, numClasses·numBooks]}, channel {@code class·H + book}
   * @param targets {@code targets[n][h]}, each in [0, numClasses)
   * @param gradScale multiplies the gradient (the minibatch size, to undo DL4J's division); ignored
   *     unless {@code withGradient}
   */
  public static Result compute(
      INDArray logits,
      int[][] targets,
      int numClasses,
      int numBooks,
      boolean withGradient,
      double gradScale) {
    return compute(logits, targets, numClasses, numBooks, withGradient, gradScale, targets.length);
  }

  /**
   * As {@link #compute(INDArray, int[][], int, int, boolean, double)} with the mean taken over
   * {@code normalizer} positions instead of the {@code targets.length} given: a slice of a batch
   * ({@link org.nestspark.model.nn.SliceGroup}) divides by the selected positions of the whole batch, so the
   * slices' losses and gradients add up to the batch's.
   */
  public static Result compute(
      INDArray logits,
      int[][] targets,
      int numClasses,
      int numBooks,
      boolean withGradient,
      double gradScale,
      long normalizer) {
    int n = checkShapes(logits, targets, numClasses, numBooks);
    if (n == 0) {
      return empty();
    }
    INDArray grad =
        withGradient ? Nd4j.createUninitialized(logits.dataType(), logits.shape(), 'c') : null;
    double[] perPos = new double[n];
    double total = 0;
    long correct = 0;
    for (int h = 0; h < numBooks; h++) {
      INDArray zh =
          numBooks == 1
              ? logits
              : logits
                  .reshape('c', n, numClasses, numBooks)
                  .get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(h))
                  .dup('c');
      INDArray logp = Nd4j.createUninitialized(zh.dataType(), zh.shape(), 'c');
      Nd4j.exec(new LogSoftMax(zh, logp));
      long[] argmax = logp.argMax(1).castTo(DataType.LONG).toLongVector();
      double sumH = 0;
      for (int i = 0; i < n; i++) {
        int t = targets[i][h];
        if (t < 0 || t >= numClasses) {
          throw new IllegalArgumentException(
              "target "
                  + t
                  + " at selected position "
                  + i
                  + ", book "
                  + h
                  + " is outside [0, "
                  + numClasses
                  + ")");
        }
        double nll = -logp.getDouble(i, t);
        sumH += nll;
        perPos[i] += nll / numBooks;
        if (argmax[i] == t) {
          correct++;
        }
      }
      total += sumH / normalizer;
      if (withGradient) {
        INDArray p = Transforms.exp(logp, false);
        for (int i = 0; i < n; i++) {
          int t = targets[i][h];
          p.putScalar(i, t, p.getDouble(i, t) - 1.0);
        }
        p.muli(gradScale / ((double) numBooks * normalizer));
        if (numBooks == 1) {
          grad.assign(p);
        } else {
          grad.reshape('c', n, numClasses, numBooks)
              .get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(h))
              .assign(p);
        }
      }
    }
    return new Result(total / numBooks, correct, n, grad, perPos);
  }

  /**
   * {@link #compute} with libnd4j ops on the logits ({@code model.kernels = nd4j}): the targets become a
   * one-hot matrix on the device; the log-likelihoods are {@code Σ_c onehot · log p}, the gradient
   * {@code softmax − onehot}; only the per-position losses and the argmax hits (n values each) come to the
   * host. The same numbers as {@link #compute}: each row's sum holds one non-zero term.
   */
  public static Result computeNd4j(
      INDArray logits,
      int[][] targets,
      int numClasses,
      int numBooks,
      boolean withGradient,
      double gradScale,
      long normalizer) {
    int n = checkShapes(logits, targets, numClasses, numBooks);
    if (n == 0) {
      return empty();
    }
    INDArray grad =
        withGradient ? Nd4j.createUninitialized(logits.dataType(), logits.shape(), 'c') : null;
    double[] perPos = new double[n];
    double total = 0;
    long correct = 0;
    for (int h = 0; h < numBooks; h++) {
      int[] th = new int[n];
      for (int i = 0; i < n; i++) {
        int t = targets[i][h];
        if (t < 0 || t >= numClasses) {
          throw new IllegalArgumentException(
              "target "
                  + t
                  + " at selected position "
                  + i
                  + ", book "
                  + h
                  + " is outside [0, "
                  + numClasses
                  + ")");
        }
        th[i] = t;
      }
      INDArray zh =
          numBooks == 1
              ? logits
              : logits
                  .reshape('c', n, numClasses, numBooks)
                  .get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(h))
                  .dup('c');
      INDArray logp = Nd4j.createUninitialized(zh.dataType(), zh.shape(), 'c');
      Nd4j.exec(new LogSoftMax(zh, logp));
      INDArray idx = Nd4j.createFromArray(th);
      INDArray onehot = Nd4j.exec(new OneHot(idx, numClasses, -1, 1.0, 0.0, logp.dataType()))[0];
      double[] nll = logp.mul(onehot).sum(1).negi().castTo(DataType.DOUBLE).toDoubleVector();
      double sumH = 0;
      for (int i = 0; i < n; i++) {
        sumH += nll[i];
        perPos[i] += nll[i] / numBooks;
      }
      correct +=
          logp.argMax(1).castTo(DataType.INT).eq(idx).castTo(DataType.INT).sumNumber().longValue();
      total += sumH / normalizer;
      if (withGradient) {
        INDArray p = Transforms.exp(logp, false).subi(onehot);
        p.muli(gradScale / ((double) numBooks * normalizer));
        if (numBooks == 1) {
          grad.assign(p);
        } else {
          grad.reshape('c', n, numClasses, numBooks)
              .get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(h))
              .assign(p);
        }
      }
    }
    return new Result(total / numBooks, correct, n, grad, perPos);
  }
}
