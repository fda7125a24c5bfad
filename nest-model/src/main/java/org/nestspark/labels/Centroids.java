package org.nestspark.labels;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.Arrays;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;

/**
 * The k centroids of a k-means fit ({@code centroids.npy}: float64 {@code [k, D]}) and the assignment of
 * a feature frame to its nearest centroid (squared Euclidean distance, as Spark MLlib's and scikit-learn's
 * k-means assign; exact ties go to the lowest index).
 *
 * <p>{@link #canonical} orders centroids lexicographically by their coordinates, so that the label of a
 * cluster does not depend on the order k-means|| happened to find it in (partition counts change that order).
 */
public final class Centroids implements Serializable {
  private static final long serialVersionUID = 1L;
  private final double[][] c;
  private final double[] norms;

  public Centroids(double[][] centroids) {
    if (centroids.length == 0) {
      throw new IllegalArgumentException("no centroid");
    }
    int d = centroids[0].length;
    this.c = new double[centroids.length][];
    this.norms = new double[centroids.length];
    for (int i = 0; i < centroids.length; i++) {
      if (centroids[i].length != d) {
        throw new IllegalArgumentException(
            "centroid " + i + " has " + centroids[i].length + " values, centroid 0 has " + d);
      }
      c[i] = centroids[i].clone();
      for (double v : c[i]) {
        if (!Double.isFinite(v)) {
          throw new IllegalArgumentException("centroid " + i + " is not finite");
        }
        norms[i] += v * v;
      }
    }
  }

  /** The same centroids sorted lexicographically by coordinates (first coordinate, then the second, ...). */
  public static Centroids canonical(double[][] centroids) {
    double[][] s = centroids.clone();
    Arrays.sort(
        s,
        (a, b) -> {
          for (int i = 0; i < Math.min(a.length, b.length); i++) {
            int r = Double.compare(a[i], b[i]);
            if (r != 0) {
              return r;
            }
          }
          return Integer.compare(a.length, b.length);
        });
    return new Centroids(s);
  }

  /** k. */
  public int k() {
    return c.length;
  }

  /** D, the feature dimension. */
  public int dim() {
    return c[0].length;
  }

  /** Centroid i (a copy). */
  public double[] centroid(int i) {
    return c[i].clone();
  }

  /** The nearest centroid of the D values of {@code x} from {@code offset}. */
  public int nearest(float[] x, int offset) {
    int best = 0;
    double bestD = Double.POSITIVE_INFINITY;
    int d = c[0].length;
    for (int i = 0; i < c.length; i++) {
      double[] ci = c[i];
      double dist = 0;
      for (int j = 0; j < d; j++) {
        double diff = x[offset + j] - ci[j];
        dist += diff * diff;
      }
      if (dist < bestD) {
        bestD = dist;
        best = i;
      }
    }
    return best;
  }

  /** The nearest centroid of a vector. */
  public int nearest(double[] x) {
    int best = 0;
    double bestD = Double.POSITIVE_INFINITY;
    for (int i = 0; i < c.length; i++) {
      double dist = 0;
      for (int j = 0; j < x.length; j++) {
        double diff = x[j] - c[i][j];
        dist += diff * diff;
      }
      if (dist < bestD) {
        bestD = dist;
        best = i;
      }
    }
    return best;
  }

  /** Writes {@code centroids.npy}: float64 {@code [k, D]}. */
  public void write(OutputStream out) throws IOException {
    int d = dim();
    double[] flat = new double[c.length * d];
    for (int i = 0; i < c.length; i++) {
      System.arraycopy(c[i], 0, flat, i * d, d);
    }
    Npy.write(out, new int[] {c.length, d}, flat);
  }

  /**
   * Reads a centroids file: a rank-2 float npy {@code [k, D]}.
   *
   * @param name shown in errors
   * @throws IOException naming the file and what is wrong
   */
  public static Centroids read(InputStream in, String name) throws IOException {
    NpyArray a = Npy.read(in);
    if (a.rank() != 2 || a.dim(0) < 1 || a.dim(1) < 1) {
      throw new IOException(
          name + ": expected centroids [k, D], got shape " + Arrays.toString(a.shape()));
    }
    if (a.dtype() != NpyDtype.FLOAT32 && a.dtype() != NpyDtype.FLOAT64) {
      throw new IOException(name + ": expected float32 or float64 centroids, got " + a.dtype());
    }
    double[] v = a.toDoubleArray();
    double[][] c = new double[a.dim(0)][a.dim(1)];
    for (int i = 0; i < c.length; i++) {
      System.arraycopy(v, i * a.dim(1), c[i], 0, a.dim(1));
    }
    try {
      return new Centroids(c);
    } catch (IllegalArgumentException e) {
      throw new IOException(name + ": " + e.getMessage());
    }
  }
}
