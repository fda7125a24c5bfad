package org.nestspark.model.nn;

import static org.bytedeco.openblas.global.openblas.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas.CblasTrans;
import static org.bytedeco.openblas.global.openblas.cblas_dgemm;
import static org.bytedeco.openblas.global.openblas.cblas_sgemm;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Batched matrix products {@code C[i] = op(A[i])·op(B[i])} of 3-D arrays for the {@code java} kernels: one
 * {@code cblas_sgemm}/{@code cblas_dgemm} call per batch entry, straight into the OpenBLAS that ND4J's CPU
 * backend itself uses, with the thread count ND4J gave it ({@link ComputeThreads}).
 *
 * <p>libnd4j's batched {@code matmul} makes the same BLAS calls (so the results are the same bits,
 * CpuBlasTest), but spends 2-3× their time around them on the attention's small per-head products
 * ({@code 126×126×44}: about 20 against 55 GFLOP/s on one thread here). Arrays that are not dense C-order
 * FLOAT or DOUBLE, and every array on a non-CPU backend, go through {@code Nd4j.matmul}.
 */
public final class CpuBlas {
  private CpuBlas() {}

  /**
   * {@code op(a)·op(b)} for {@code a [n, ·, ·]} and {@code b [n, ·, ·]} as a new C-order {@code [n, m, p]}
   * array.
   */
  public static INDArray matmul(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    if (!applies(a, b)) {
      return Nd4j.matmul(a, b, transposeA, transposeB, false);
    }
    long n = a.size(0);
    int m = (int) (transposeA ? a.size(2) : a.size(1));
    int k = (int) (transposeA ? a.size(1) : a.size(2));
    int kb = (int) (transposeB ? b.size(2) : b.size(1));
    int p = (int) (transposeB ? b.size(1) : b.size(2));
    if (b.size(0) != n || kb != k) {
      throw new IllegalArgumentException(
          "cannot multiply "
              + java.util.Arrays.toString(a.shape())
              + (transposeA ? "ᵀ" : "")
              + " by "
              + java.util.Arrays.toString(b.shape())
              + (transposeB ? "ᵀ" : ""));
    }
    INDArray c = Nd4j.createUninitialized(a.dataType(), new long[] {n, m, p}, 'c');
    int lda = (int) a.size(2);
    int ldb = (int) b.size(2);
    long strideA = a.size(1) * a.size(2);
    long strideB = b.size(1) * b.size(2);
    long strideC = (long) m * p;
    int ta = transposeA ? CblasTrans : CblasNoTrans;
    int tb = transposeB ? CblasTrans : CblasNoTrans;
    // addressPointer() points at each array's first element (its offset included)
    if (a.dataType() == DataType.FLOAT) {
      FloatPointer pa = (FloatPointer) a.data().addressPointer();
      FloatPointer pb = (FloatPointer) b.data().addressPointer();
      FloatPointer pc = (FloatPointer) c.data().addressPointer();
      for (long i = 0; i < n; i++) {
        cblas_sgemm(
            CblasRowMajor,
            ta,
            tb,
            m,
            p,
            k,
            1f,
            new FloatPointer(pa).position(pa.position() + i * strideA),
            lda,
            new FloatPointer(pb).position(pb.position() + i * strideB),
            ldb,
            0f,
            new FloatPointer(pc).position(pc.position() + i * strideC),
            p);
      }
    } else {
      DoublePointer pa = (DoublePointer) a.data().addressPointer();
      DoublePointer pb = (DoublePointer) b.data().addressPointer();
      DoublePointer pc = (DoublePointer) c.data().addressPointer();
      for (long i = 0; i < n; i++) {
        cblas_dgemm(
            CblasRowMajor,
            ta,
            tb,
            m,
            p,
            k,
            1.0,
            new DoublePointer(pa).position(pa.position() + i * strideA),
            lda,
            new DoublePointer(pb).position(pb.position() + i * strideB),
            ldb,
            0.0,
            new DoublePointer(pc).position(pc.position() + i * strideC),
            p);
      }
    }
    return c;
  }

  /** Whether {@link #matmul} calls BLAS itself for these arrays (else it hands them to ND4J). */
  static boolean applies(INDArray a, INDArray b) {
    DataType dt = a.dataType();
    return (dt == DataType.FLOAT || dt == DataType.DOUBLE)
        && b.dataType() == dt
        && a.rank() == 3
        && b.rank() == 3
        && dense(a)
        && dense(b)
        && a.size(1) * a.size(2) <= Integer.MAX_VALUE
        && b.size(1) * b.size(2) <= Integer.MAX_VALUE
        && Kernels.cpuBackend();
  }

  private static boolean dense(INDArray x) {
    return x.ordering() == 'c' && x.elementWiseStride() == 1 && x.length() > 0;
  }
}
