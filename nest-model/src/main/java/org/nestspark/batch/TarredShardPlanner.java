package org.nestspark.batch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Batches of a tarred dataset, planned on the driver as NeMo's tarred loaders make them (docs/nest-numerics.md §2, "Other
 * loaders"), as a pure function of ({@code data.seed}, epoch) so resuming stays exact:
 * <ol>
 *   <li>The shard order of the epoch: as configured, or shuffled (seeded) when {@code shuffle} is on.</li>
 *   <li>Shards to workers, {@code tarred_shard_strategy}: {@code scatter} gives worker w the shards
 *       {@code [w·k, (w+1)·k)} of that order with {@code k = shards / workers}; as in NeMo's
 *       {@code expand_sharded_filepaths}, the {@code shards mod workers} shards left over are not read that
 *       epoch (with shuffling, a different set each epoch). {@code replicate} gives every worker every shard,
 *       each worker in its own seeded order.</li>
 *   <li>Each worker's utterances in shard and member order, passed through a shuffle buffer of
 *       {@code shuffle_n} utterances when {@code shuffle} is on (WebDataset's {@code shuffle}: fill the buffer,
 *       then emit a random one and put the next in its place), then cut into batches of {@code batch_size}
 *       ({@code drop_last} as configured).</li>
 *   <li>Batch i of the plan is worker {@code i mod workers}'s batch {@code i div workers}, which is how the
 *       pretraining job deals batches to workers; every worker contributes as many batches as the one with the
 *       fewest (NeMo's ranks would otherwise wait on each other).</li>
 * </ol>
 * With one worker and {@code shuffle=false} the plan is the manifest order in batches of {@code batch_size}, the
 * same as an unpacked corpus with the same order. A worker's requests then follow its shards' member order within
 * {@code shuffle_n} utterances, so each executor streams its shards once per epoch.
 */
public final class TarredShardPlanner implements EpochPlanner {
  private static final long serialVersionUID = 1L;

  private final int[] shardOf;
  private final int numShards;
  private final int workers;
  private final boolean scatter;
  private final boolean shuffle;
  private final int shuffleN;
  private final int batchSize;
  private final boolean dropLast;
  private final long seed;

  /**
   * @param shardOf the shard of each entry (entries in shard order, {@link TarredDataset#shardOf()})
   * @param strategy {@code scatter} or {@code replicate}
   * @throws IllegalArgumentException with {@code scatter} and fewer shards than workers, or an unknown strategy
   */
  public TarredShardPlanner(
      int[] shardOf,
      int numShards,
      int workers,
      String strategy,
      boolean shuffle,
      int shuffleN,
      int batchSize,
      boolean dropLast,
      long seed) {
    if (!strategy.equals("scatter") && !strategy.equals("replicate")) {
      throw new IllegalArgumentException(
          "tarred_shard_strategy must be scatter or replicate, got '" + strategy + "'");
    }
    this.scatter = strategy.equals("scatter");
    if (scatter && numShards < workers) {
      throw new IllegalArgumentException(
          "tarred_shard_strategy=scatter needs at least one shard per worker: "
              + numShards
              + " shards for "
              + workers
              + " workers (use replicate, fewer workers or more shards)");
    }
    this.shardOf = shardOf.clone();
    this.numShards = numShards;
    this.workers = workers;
    this.shuffle = shuffle;
    this.shuffleN = shuffleN;
    this.batchSize = batchSize;
    this.dropLast = dropLast;
    this.seed = seed;
  }

  @Override
  public List<int[]> plan(double[] durations, int epoch) {
    List<List<Integer>> byShard = new ArrayList<>();
    for (int s = 0; s < numShards; s++) {
      byShard.add(new ArrayList<>());
    }
    for (int i = 0; i < shardOf.length; i++) {
      byShard.get(shardOf[i]).add(i);
    }
    List<Integer> order = new ArrayList<>();
    for (int s = 0; s < numShards; s++) {
      order.add(s);
    }
    if (shuffle) {
      Collections.shuffle(order, new Random(mix(seed, epoch, -1)));
    }
    List<List<int[]>> perWorker = new ArrayList<>();
    int fewest = Integer.MAX_VALUE;
    for (int w = 0; w < workers; w++) {
      List<Integer> shards;
      if (scatter) {
        int k = numShards / workers;
        shards = order.subList(w * k, (w + 1) * k);
      } else {
        shards = new ArrayList<>(order);
        if (shuffle && workers > 1) {
          Collections.shuffle(shards, new Random(mix(seed, epoch, w)));
        }
      }
      List<Integer> stream = new ArrayList<>();
      for (int s : shards) {
        stream.addAll(byShard.get(s));
      }
      if (shuffle && shuffleN > 1) {
        stream = bufferShuffle(stream, shuffleN, new Random(mix(seed, epoch, 1000 + w)));
      }
      List<int[]> batches = new ArrayList<>();
      for (int i = 0; i < stream.size(); i += batchSize) {
        int n = Math.min(batchSize, stream.size() - i);
        if (n < batchSize && dropLast) {
          break;
        }
        int[] b = new int[n];
        for (int j = 0; j < n; j++) {
          b[j] = stream.get(i + j);
        }
        batches.add(b);
      }
      perWorker.add(batches);
      fewest = Math.min(fewest, batches.size());
    }
    List<int[]> plan = new ArrayList<>();
    for (int j = 0; j < fewest; j++) {
      for (int w = 0; w < workers; w++) {
        plan.add(perWorker.get(w).get(j));
      }
    }
    return plan;
  }

  /** WebDataset's shuffle: a buffer of {@code size} items; each new item replaces a random one, which is emitted. */
  static List<Integer> bufferShuffle(List<Integer> in, int size, Random rng) {
    List<Integer> out = new ArrayList<>(in.size());
    List<Integer> buf = new ArrayList<>(Math.min(size, in.size()));
    for (int x : in) {
      if (buf.size() < size) {
        buf.add(x);
        continue;
      }
      int k = rng.nextInt(buf.size());
      out.add(buf.get(k));
      buf.set(k, x);
    }
    while (!buf.isEmpty()) {
      int k = rng.nextInt(buf.size());
      out.add(buf.get(k));
      buf.set(k, buf.get(buf.size() - 1));
      buf.remove(buf.size() - 1);
    }
    return out;
  }

  private static long mix(long seed, int epoch, int salt) {
    long z =
        seed * 0x9E3779B97F4A7C15L
            + epoch * 0xBF58476D1CE4E5B9L
            + salt * 0x94D049BB133111EBL
            + 0x7A55ED0L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  @Override
  public String describe() {
    return String.format(
        Locale.ROOT,
        "%d utterances per batch from %d tar shards (%s over %d workers%s)",
        batchSize,
        numShards,
        scatter ? "scatter" : "replicate",
        workers,
        shuffle ? ", shuffle_n=" + shuffleN : "");
  }
}
