package org.nestspark.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

/**
 * Plans the batches of one epoch on the driver from manifest metadata alone (docs/nest-numerics.md §2 "Collate", NeMo's
 * DataLoader with {@code shuffle} and {@code drop_last}), with duration bucketing so that a batch holds
 * clips of similar length (less padding, faster steps).
 *
 * <p>Algorithm, deterministic in (seed, epoch): shuffle the entries (when {@code shuffle}); cut the
 * shuffled order into pools of {@code bucketBatches · batchSize} entries; sort each pool by duration
 * (stable; entries without a duration sort as 0 s); cut each pool into batches of {@code batchSize};
 * with {@code dropLast} drop incomplete batches (NeMo drops one per epoch; bucketing can leave one
 * per pool, so with {@code dropLast} the remainders of all pools are gathered, re-sorted and cut again
 * before dropping), then shuffle the order of the batches. {@code bucketBatches = 1} means no bucketing
 * (plain shuffled batches, as NeMo).
 *
 * <p>A batch is identified by its index in the epoch's plan, so "epoch e, batch b" is a complete data
 * position for resuming.
 */
public final class BatchPlanner implements EpochPlanner {
  private static final long serialVersionUID = 1L;

  private final int batchSize;
  private final boolean shuffle;
  private final boolean dropLast;
  private final int bucketBatches;
  private final long seed;

  /**
   * @param batchSize utterances per batch ({@code model.*_ds.batch_size})
   * @param shuffle shuffle every epoch ({@code shuffle})
   * @param dropLast drop incomplete batches ({@code drop_last})
   * @param bucketBatches batches per duration-sorting pool; 1 = no bucketing
   * @param seed base seed ({@code data.seed})
   */
  public BatchPlanner(
      int batchSize, boolean shuffle, boolean dropLast, int bucketBatches, long seed) {
    if (batchSize <= 0) {
      throw new IllegalArgumentException("batch_size must be positive, got " + batchSize);
    }
    if (bucketBatches <= 0) {
      throw new IllegalArgumentException("bucket batches must be positive, got " + bucketBatches);
    }
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.bucketBatches = bucketBatches;
    this.seed = seed;
  }

  /**
   * The batches of one epoch, each an array of indices into {@code durations}.
   *
   * @param durations seconds per entry (NaN or negative when unknown: sorted as 0)
   */
  @Override
  public List<int[]> plan(double[] durations, int epoch) {
    int n = durations.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Random rng = new Random(mix(seed, epoch));
    if (shuffle) {
      Collections.shuffle(Arrays.asList(order), rng);
    }
    Comparator<Integer> byDuration =
        Comparator.comparingDouble(i -> durations[i] >= 0 ? durations[i] : 0.0);
    int pool = bucketBatches * batchSize;
    List<int[]> batches = new ArrayList<>();
    List<Integer> remainder = new ArrayList<>();
    for (int start = 0; start < n; start += pool) {
      Integer[] p = Arrays.copyOfRange(order, start, Math.min(n, start + pool));
      if (bucketBatches > 1) {
        Arrays.sort(p, byDuration);
      }
      int full = p.length / batchSize * batchSize;
      for (int b = 0; b < full; b += batchSize) {
        batches.add(toInts(p, b, b + batchSize));
      }
      for (int i = full; i < p.length; i++) {
        remainder.add(p[i]);
      }
    }
    if (bucketBatches > 1) {
      remainder.sort(byDuration);
    }
    Integer[] rest = remainder.toArray(new Integer[0]);
    for (int b = 0; b < rest.length; b += batchSize) {
      int end = Math.min(rest.length, b + batchSize);
      if (end - b == batchSize || !dropLast) {
        batches.add(toInts(rest, b, end));
      }
    }
    if (shuffle) {
      Collections.shuffle(batches, rng);
    }
    return batches;
  }

  private static int[] toInts(Integer[] a, int from, int to) {
    int[] out = new int[to - from];
    for (int i = from; i < to; i++) {
      out[i - from] = a[i];
    }
    return out;
  }

  @Override
  public String describe() {
    return batchSize + " utterances per batch";
  }

  static long mix(long seed, int epoch) {
    long z = seed * 0x9E3779B97F4A7C15L + epoch;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  public int batchSize() {
    return batchSize;
  }
}
