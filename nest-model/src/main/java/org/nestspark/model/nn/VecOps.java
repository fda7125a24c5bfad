package org.nestspark.model.nn;

/**
 * Element-wise loops over whole zero-offset arrays, written so that HotSpot's C2 (JDK 17) vectorises them:
 * it does not vectorise loops whose array accesses carry an offset ({@code y[o + i]}), which run about 3–6×
 * slower, so kernels copy slices into scratch rows and call these.
 */
public final class VecOps {
  private VecOps() {}

  /** {@code acc[i] += a[i] · b[i]} for i < n. */
  public static void fma(float[] acc, float[] a, float[] b, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += a[i] * b[i];
    }
  }

  /** {@code acc[i] += v · a[i]} for i < n. */
  public static void axpy(float[] acc, float v, float[] a, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += v * a[i];
    }
  }

  /** {@code acc[i] += a[i]} for i < n. */
  public static void add(float[] acc, float[] a, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += a[i];
    }
  }

  /** {@code a[i] = max(a[i], 0)} for i < n. */
  public static void relu(float[] a, int n) {
    for (int i = 0; i < n; i++) {
      a[i] = Math.max(a[i], 0f);
    }
  }

  /**
   * {@code acc[i] = gate[i] > 0 ? acc[i] : 0} for a non-negative gate (a ReLU output), without branches
   * (a data-dependent branch mispredicts half the time on ReLU outputs): the factor
   * {@code min(gate·MAX·MAX, 1)} is 1 for every positive float, denormals included, and 0 for 0.
   */
  public static void gatePositive(float[] acc, float[] gate, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] *= Math.min(gate[i] * Float.MAX_VALUE * Float.MAX_VALUE, 1f);
    }
  }

  /** {@code acc[i] += a[i] · b[i]} for i < n. */
  public static void fma(double[] acc, double[] a, double[] b, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += a[i] * b[i];
    }
  }

  /** {@code acc[i] += v · a[i]} for i < n. */
  public static void axpy(double[] acc, double v, double[] a, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += v * a[i];
    }
  }

  /** {@code acc[i] += a[i]} for i < n. */
  public static void add(double[] acc, double[] a, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] += a[i];
    }
  }

  public static void relu(double[] a, int n) {
    for (int i = 0; i < n; i++) {
      a[i] = Math.max(a[i], 0d);
    }
  }

  public static void gatePositive(double[] acc, double[] gate, int n) {
    for (int i = 0; i < n; i++) {
      acc[i] *= Math.min(gate[i] * Double.MAX_VALUE * Double.MAX_VALUE, 1d);
    }
  }
}
