package org.nestspark.ssl;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Micro benchmark of {@link RandomProjectionVectorQuantizer} (docs/nest-numerics.md §5) at NEST's size: a batch of 8 × 10 s
 * (T = 1000 frames → 8 × 125 tokens), F = 80, combine 8, D = 16, C = 8192, one thread. Reports ms per batch
 * for the screened exact search ({@link RandomProjectionVectorQuantizer#quantize}) and NeMo's exhaustive
 * float64 search ({@link RandomProjectionVectorQuantizer#quantizeExhaustive}), and checks that both give the
 * same tokens.
 *
 * <p>Usage: {@code java -cp nest-model.jar:… org.nestspark.ssl.QuantizerBench [iterations] [exhaustiveIterations]}
 * (defaults 50 and 3). Features are N(0, 1) (like per_feature-normalised log-mels); the last 16 frames of every
 * other utterance are zero, like padding.
 */
public final class QuantizerBench {
  private QuantizerBench() {}

  public static void main(String[] args) {
    int iters = args.length > 0 ? Integer.parseInt(args[0]) : 50;
    int slowIters = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int b = 8;
    int f = 80;
    int t = 1000;
    RandomProjectionVectorQuantizer q =
        RandomProjectionVectorQuantizer.initialise(f, 16, 1, 8192, 8, 1234L);
    SplittableRandom rng = new SplittableRandom(99);
    float[] feats = new float[b * f * t];
    for (int i = 0; i < b; i++) {
      int valid = i % 2 == 0 ? t : t - 16;
      for (int c = 0; c < f; c++) {
        for (int k = 0; k < valid; k++) {
          feats[(i * f + c) * t + k] = (float) rng.nextGaussian();
        }
      }
    }
    // warm-up (JIT)
    QuantizerOutput fast = null;
    for (int i = 0; i < 20; i++) {
      fast = q.quantize(feats, b, f, t);
    }
    long[] ns = new long[iters];
    for (int i = 0; i < iters; i++) {
      long t0 = System.nanoTime();
      fast = q.quantize(feats, b, f, t);
      ns[i] = System.nanoTime() - t0;
    }
    Arrays.sort(ns);
    long projNs = Long.MAX_VALUE;
    for (int i = 0; i < Math.max(5, iters / 5); i++) {
      long t0 = System.nanoTime();
      q.project(feats, b, f, t);
      projNs = Math.min(projNs, System.nanoTime() - t0);
    }
    System.out.printf(
        Locale.ROOT,
        "screened exact search: median %.2f ms, min %.2f ms per batch of %d x %d tokens"
            + " (projection+normalisation alone: %.2f ms)%n",
        ns[iters / 2] / 1e6,
        ns[0] / 1e6,
        b,
        t / 8,
        projNs / 1e6);
    if (slowIters > 0) {
      long best = Long.MAX_VALUE;
      QuantizerOutput slow = null;
      for (int i = 0; i < slowIters; i++) {
        long t0 = System.nanoTime();
        slow = q.quantizeExhaustive(feats, b, f, t);
        best = Math.min(best, System.nanoTime() - t0);
      }
      boolean same =
          Arrays.equals(slow.tokens(), fast.tokens())
              && Arrays.equals(slow.minDistance(), fast.minDistance());
      System.out.printf(
          Locale.ROOT,
          "exhaustive float64 search (NeMo's computation): best %.1f ms per batch;"
              + " tokens and distances identical: %s%n",
          best / 1e6,
          same);
      if (!same) {
        System.exit(1);
      }
    }
  }
}
