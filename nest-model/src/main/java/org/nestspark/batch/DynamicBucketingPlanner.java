package org.nestspark.batch;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Duration-based batches ({@code model.*_ds.batch_duration}, {@code num_buckets}, {@code quadratic_duration}):
 * NeMo's lhotse data path, where {@code batch_duration} becomes lhotse's {@code DynamicBucketingSampler(
 * max_duration=batch_duration, max_cuts=batch_size, num_buckets=..., quadratic_duration=...)}, planned here
 * on the driver for a whole epoch from the manifest durations. Only the batching comes from NeMo's lhotse path
 * (docs/nest-numerics.md §2, "Lhotse"); loading, padding and augmentation stay those of the classic {@code AudioNoiseDataset}.
 *
 * <h2>lhotse's rules we follow</h2>
 * <ul>
 *   <li><b>Bucket bins</b> ({@code lhotse.dataset.sampling.dynamic_bucketing.estimate_duration_buckets}): sort the
 *       durations, and start a new bucket at the first duration reached after the running total exceeds
 *       {@code total / num_buckets}; so buckets hold about equal <em>audio time</em>, not equal counts. A cut of
 *       duration {@code d} goes to bucket {@code i} with {@code bins[i-1] <= d < bins[i]} (lhotse's
 *       {@code bisect_right}). The bins come from all training durations and do not change between epochs.
 *       {@code num_buckets = 1} is lhotse's {@code DynamicCutSampler} (one pool, no bucketing).</li>
 *   <li><b>Cost of a cut</b> ({@code lhotse.dataset.sampling.base.TimeConstraint}): its duration {@code d}, or with
 *       {@code quadratic_duration = q} the effective duration {@code d + d²/q} (twice {@code d} when
 *       {@code d = q}; lhotse suggests q between 15 and 40 s for transformer-like models).</li>
 *   <li><b>Cost of a batch</b> (same class, lhotse ≥ 1.4 "strict" semantics): its padded cost,
 *       {@code cuts × longest cost in it}, which bounds the sum of the costs from above; at most
 *       {@code batch_size} cuts ({@code max_cuts}).</li>
 *   <li><b>drop_last</b>: a bucket's last, incomplete batch is dropped unless it is "close to exceeding"
 *       (one more cut as long as its longest would not fit, or it holds {@code batch_size} cuts), lhotse's
 *       {@code close_to_exceeding}.</li>
 * </ul>
 *
 * <h2>What we do differently, and why</h2>
 * <ul>
 *   <li>lhotse fills a batch until it is close to exceeding and keeps the cut that got it there, so a batch
 *       can overshoot {@code max_duration} by its last cut. Here a cut joins a batch only if the batch's padded
 *       cost stays {@code <= batch_duration}; otherwise the batch is closed and the cut starts the next one.
 *       So no batch ever costs more than {@code batch_duration}, except a single cut that costs more on its
 *       own: it forms a batch of its own (lhotse warns about the same case; {@link #oversizeCuts} counts them
 *       and the pretrain driver reports them).</li>
 *   <li>lhotse streams cuts through a shuffle buffer and picks a random bucket that has a full batch ready;
 *       here the whole epoch is planned at once: shuffle all cuts ({@code shuffle}), assign them to buckets in
 *       that order, cut every bucket into batches in that order, then shuffle the batches. Same mix of
 *       buckets, no buffer-size effects, and the plan is a pure function of (seed, epoch) as resuming needs.</li>
 * </ul>
 */
public final class DynamicBucketingPlanner implements EpochPlanner {
  private static final long serialVersionUID = 1L;

  private final double batchDuration;
  private final int maxCuts;
  private final int numBuckets;
  private final double quadraticDuration;
  private final boolean shuffle;
  private final boolean dropLast;
  private final long seed;

  /**
   * @param batchDuration seconds of (effective) audio per batch ({@code batch_duration}, lhotse's {@code max_duration})
   * @param maxCuts most cuts per batch ({@code batch_size}, lhotse's {@code max_cuts}); {@code <= 0}: no limit
   * @param numBuckets duration buckets ({@code num_buckets}); 1 = no bucketing
   * @param quadraticDuration {@code quadratic_duration} in seconds, or {@code <= 0} / NaN for none
   * @param shuffle shuffle every epoch
   * @param dropLast drop each bucket's last batch unless it is close to full
   * @param seed base seed ({@code data.seed})
   */
  public DynamicBucketingPlanner(
      double batchDuration,
      int maxCuts,
      int numBuckets,
      double quadraticDuration,
      boolean shuffle,
      boolean dropLast,
      long seed) {
    if (!(batchDuration > 0) || Double.isInfinite(batchDuration)) {
      throw new IllegalArgumentException("batch_duration must be positive, got " + batchDuration);
    }
    if (numBuckets <= 0) {
      throw new IllegalArgumentException("num_buckets must be positive, got " + numBuckets);
    }
    this.batchDuration = batchDuration;
    this.maxCuts = maxCuts <= 0 ? Integer.MAX_VALUE : maxCuts;
    this.numBuckets = numBuckets;
    this.quadraticDuration = quadraticDuration > 0 ? quadraticDuration : Double.NaN;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.seed = seed;
  }

  /** A cut's cost: {@code d}, or {@code d + d²/quadratic_duration}. */
  public double cost(double duration) {
    double d = Math.max(0, duration);
    return Double.isNaN(quadraticDuration) ? d : d + d * d / quadraticDuration;
  }

  /** A batch's padded cost: {@code cuts × longest cost}. */
  public double batchCost(int[] batch, double[] durations) {
    double longest = 0;
    for (int i : batch) {
      longest = Math.max(longest, cost(durations[i]));
    }
    return batch.length * longest;
  }

  /** How many entries cost more than {@code batch_duration} on their own (each is a batch of one). */
  public int oversizeCuts(double[] durations) {
    int n = 0;
    for (double d : durations) {
      if (cost(d) > batchDuration) {
        n++;
      }
    }
    return n;
  }

  /**
   * lhotse's bucket bins: {@code min(num_buckets, entries) - 1} ascending durations; bucket {@code i} holds
   * {@code bins[i-1] <= d < bins[i]}.
   */
  public double[] bins(double[] durations) {
    int buckets = Math.min(numBuckets, durations.length);
    if (buckets <= 1) {
      return new double[0];
    }
    double[] sorted = new double[durations.length];
    double total = 0;
    for (int i = 0; i < sorted.length; i++) {
      sorted[i] = Math.max(0, durations[i]);
      total += sorted[i];
    }
    Arrays.sort(sorted);
    double perBucket = total / buckets;
    List<Double> bins = new ArrayList<>();
    double acc = 0;
    for (double d : sorted) {
      if (acc > perBucket) {
        bins.add(d);
        acc = 0;
      }
      acc += d;
    }
    double[] out = new double[bins.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = bins.get(i);
    }
    return out;
  }

  /** The bucket of a duration: the number of bins {@code <= d} (lhotse's {@code bisect_right}). */
  static int bucketOf(double[] bins, double d) {
    int lo = 0;
    int hi = bins.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (bins[mid] <= d) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  @Override
  public List<int[]> plan(double[] durations, int epoch) {
    int n = durations.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Random rng = new Random(BatchPlanner.mix(seed ^ 0x6C686F747365L, epoch));
    if (shuffle) {
      Collections.shuffle(Arrays.asList(order), rng);
    }
    double[] bins = bins(durations);
    List<List<Integer>> buckets = new ArrayList<>();
    for (int b = 0; b <= bins.length; b++) {
      buckets.add(new ArrayList<>());
    }
    for (int i : order) {
      buckets.get(bucketOf(bins, Math.max(0, durations[i]))).add(i);
    }
    List<int[]> batches = new ArrayList<>();
    for (List<Integer> bucket : buckets) {
      List<Integer> current = new ArrayList<>();
      double longest = 0;
      for (int i : bucket) {
        double c = cost(durations[i]);
        if (!current.isEmpty()
            && (current.size() + 1 > maxCuts
                || (current.size() + 1) * Math.max(longest, c) > batchDuration)) {
          batches.add(toInts(current));
          current.clear();
          longest = 0;
        }
        current.add(i);
        longest = Math.max(longest, c);
      }
      if (!current.isEmpty()) {
        boolean closeToFull =
            current.size() >= maxCuts || (current.size() + 1) * longest > batchDuration;
        if (!dropLast || closeToFull) {
          batches.add(toInts(current));
        }
      }
    }
    if (shuffle) {
      Collections.shuffle(batches, rng);
    }
    return batches;
  }

  private static int[] toInts(List<Integer> a) {
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i);
    }
    return out;
  }

  @Override
  public String describe() {
    return String.format(
        Locale.ROOT,
        "batches of at most %s s%s%s in %d duration buckets",
        num(batchDuration),
        Double.isNaN(quadraticDuration) ? "" : " (cost d + d²/" + num(quadraticDuration) + ")",
        maxCuts == Integer.MAX_VALUE ? "" : " and " + maxCuts + " utterances",
        numBuckets);
  }

  private static String num(double v) {
    return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
  }

  public double batchDuration() {
    return batchDuration;
  }
}
