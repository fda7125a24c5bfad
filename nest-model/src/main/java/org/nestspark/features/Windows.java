package org.nestspark.features;

import java.util.Arrays;

/**
 * The STFT windows of NeMo's {@code torch_windows} map, built with {@code periodic=False} as
 * {@code FilterbankFeatures} does (docs/nest-numerics.md §1: "Hann, symmetric").
 *
 * <p>The values are PyTorch 1.13's own, bit for bit: {@code hamming_window} in {@code TensorFactories.cpp}
 * is {@code arange(n)} in float32, {@code mul_} by the step {@code 2π/(n−1)} (the double scalar rounded to
 * float32), {@code cos_()} (SLEEF's vectorised {@code cosf_u10}, {@link TorchCpuCos}, not a correctly rounded
 * cosine: 9 of the 400 taps of {@code hann_window(400, periodic=False)} differ by one ulp from one), then
 * {@code mul_(−β)} and {@code add_(α)}, each rounded to float32. A plain float64 formula rounded once differs
 * by up to 1.8e-7.
 */
public final class Windows {
  private Windows() {}

  /**
   * The window {@code name} of {@code length} taps, as float32.
   *
   * @param name hann, hamming, blackman, bartlett or none (all ones; NeMo's {@code window: none}
   *     makes torch.stft use a rectangular window of win_length)
   * @throws IllegalArgumentException for another name or a length < 1
   */
  public static float[] window(String name, int length) {
    if (length < 1) {
      throw new IllegalArgumentException("window length must be >= 1, got " + length);
    }
    switch (name) {
      case "hann":
        return hann(length);
      case "hamming":
        return hamming(length);
      case "blackman":
        return blackman(length);
      case "bartlett":
        return bartlett(length);
      case "none":
        float[] ones = new float[length];
        Arrays.fill(ones, 1f);
        return ones;
      default:
        throw new IllegalArgumentException("unknown window '" + name + "'");
    }
  }

  /** {@code torch.hann_window(n, periodic=False)}: {@code 0.5 − 0.5·cos(2πk/(n−1))}. */
  public static float[] hann(int n) {
    return generalHamming(n, 0.5, 0.5);
  }

  /** {@code torch.hamming_window(n, periodic=False)}: {@code 0.54 − 0.46·cos(2πk/(n−1))}. */
  public static float[] hamming(int n) {
    return generalHamming(n, 0.54, 0.46);
  }

  /**
   * PyTorch's {@code hamming_window(n, periodic=False, alpha, beta)}: {@code arange(n)} (float32) times
   * the float32 step {@code 2π/(n−1)}, {@code cos}, times {@code −β}, plus {@code α}, each step rounded
   * to float32. {@code n == 1} gives {@code [1]} as in PyTorch.
   */
  private static float[] generalHamming(int n, double alpha, double beta) {
    float[] w = new float[n];
    if (n == 1) {
      w[0] = 1f;
      return w;
    }
    float step = (float) (Math.PI * 2.0 / (n - 1));
    float negBeta = (float) -beta;
    float a = (float) alpha;
    for (int k = 0; k < n; k++) {
      float x = (float) k * step;
      float c = TorchCpuCos.cos(x);
      w[k] = c * negBeta + a;
    }
    return w;
  }

  /**
   * {@code torch.blackman_window(n, periodic=False)}: {@code 0.42 − 0.5·cos(2πk/(n−1)) +
   * 0.08·cos(4πk/(n−1))}, in PyTorch's float32 operation order.
   */
  public static float[] blackman(int n) {
    float[] w = new float[n];
    if (n == 1) {
      w[0] = 1f;
      return w;
    }
    float step = (float) (Math.PI / (n - 1));
    for (int k = 0; k < n; k++) {
      float x = (float) k * step;
      float c4 = TorchCpuCos.cos(x * 4f) * 0.08f;
      float c2 = TorchCpuCos.cos(x * 2f) * 0.5f;
      w[k] = (c4 - c2) + 0.42f;
    }
    return w;
  }

  /** {@code torch.bartlett_window(n, periodic=False)}: triangle {@code 1 − |2k/(n−1) − 1|}. */
  public static float[] bartlett(int n) {
    float[] w = new float[n];
    if (n == 1) {
      w[0] = 1f;
      return w;
    }
    float step = (float) (2.0 / (n - 1));
    int firstHalf = ((n - 1) >> 1) + 1;
    for (int k = 0; k < n; k++) {
      float x = (float) k * step;
      w[k] = k < firstHalf ? x : 2f - x;
    }
    return w;
  }
}
