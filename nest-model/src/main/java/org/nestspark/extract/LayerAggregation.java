package org.nestspark.extract;

import java.util.Locale;

/**
 * NeMo's {@code Aggregator} (docs/nest-numerics.md §10, {@code multi_layer_feat.py}) over one utterance's per-layer
 * outputs as {@code nest extract} writes them: float32 {@code [L, D, T]} in C order.
 *
 * <ul>
 *   <li>{@code cat}: concatenation along the channels, {@code [L·D, T]} (layer-major channels, as
 *       {@code torch.cat(dim=1)}; the same bytes as the input);
 *   <li>{@code sum}, {@code mean} (alias {@code avg}): element-wise over the layers, {@code [D, T]};
 *   <li>{@code max}, {@code min}: element-wise, {@code [D, T]} (values only; NeMo returns torch's
 *       (values, indices) pairs there, a quirk not reproduced);
 *   <li>{@code weighted_sum}: {@code Σ_l w_l · x_l}, {@code [D, T]}, with NeMo's initial weights
 *       {@code 1/L} each when none are given (no softmax, no normalisation).
 * </ul>
 *
 * <p>Sums are accumulated in double and rounded once to float.
 */
public final class LayerAggregation {
  private LayerAggregation() {}

  /** Concatenation along channels: {@code [L·D, T]}. */
  public static float[] cat(float[] x, int layers, int dim, int frames) {
    check(x, layers, dim, frames);
    return x.clone();
  }

  /** Element-wise sum over layers: {@code [D, T]}. */
  public static float[] sum(float[] x, int layers, int dim, int frames) {
    double[] w = new double[layers];
    java.util.Arrays.fill(w, 1.0);
    return weightedSum(x, layers, dim, frames, w);
  }

  /** Element-wise mean over layers: {@code [D, T]}. */
  public static float[] mean(float[] x, int layers, int dim, int frames) {
    check(x, layers, dim, frames);
    int n = dim * frames;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int l = 0; l < layers; l++) {
        s += x[l * n + i];
      }
      out[i] = (float) (s / layers);
    }
    return out;
  }

  /** NeMo's {@code weighted_sum} with its initial weights {@code 1/L}. */
  public static float[] weightedSum(float[] x, int layers, int dim, int frames) {
    double[] w = new double[layers];
    java.util.Arrays.fill(w, 1.0 / layers);
    return weightedSum(x, layers, dim, frames, w);
  }

  /** {@code Σ_l w_l · x_l}: {@code [D, T]}. */
  public static float[] weightedSum(float[] x, int layers, int dim, int frames, double[] weights) {
    check(x, layers, dim, frames);
    if (weights.length != layers) {
      throw new IllegalArgumentException(weights.length + " weights for " + layers + " layers");
    }
    int n = dim * frames;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      double s = 0;
      for (int l = 0; l < layers; l++) {
        s += weights[l] * x[l * n + i];
      }
      out[i] = (float) s;
    }
    return out;
  }

  /** Element-wise maximum ({@code max = true}) or minimum over layers: {@code [D, T]}. */
  public static float[] extreme(float[] x, int layers, int dim, int frames, boolean max) {
    check(x, layers, dim, frames);
    int n = dim * frames;
    float[] out = new float[n];
    for (int i = 0; i < n; i++) {
      float v = x[i];
      for (int l = 1; l < layers; l++) {
        float u = x[l * n + i];
        v = max ? Math.max(v, u) : Math.min(v, u);
      }
      out[i] = v;
    }
    return out;
  }

  /**
   * By NeMo's mode name: {@code cat}, {@code sum}, {@code mean}/{@code avg}, {@code max}, {@code min},
   * {@code weighted_sum} (initial weights).
   *
   * @throws IllegalArgumentException for another name
   */
  public static float[] apply(String mode, float[] x, int layers, int dim, int frames) {
    switch (mode.toLowerCase(Locale.ROOT)) {
      case "cat":
        return cat(x, layers, dim, frames);
      case "sum":
        return sum(x, layers, dim, frames);
      case "mean":
      case "avg":
        return mean(x, layers, dim, frames);
      case "max":
        return extreme(x, layers, dim, frames, true);
      case "min":
        return extreme(x, layers, dim, frames, false);
      case "weighted_sum":
        return weightedSum(x, layers, dim, frames);
      default:
        throw new IllegalArgumentException(
            "aggregation '" + mode + "': expected cat, sum, mean, avg, max, min or weighted_sum");
    }
  }

  private static void check(float[] x, int layers, int dim, int frames) {
    if (layers <= 0 || dim <= 0 || frames < 0) {
      throw new IllegalArgumentException("bad shape [" + layers + ", " + dim + ", " + frames + "]");
    }
    if (x.length != (long) layers * dim * frames) {
      throw new IllegalArgumentException(
          x.length + " values for shape [" + layers + ", " + dim + ", " + frames + "]");
    }
  }
}
