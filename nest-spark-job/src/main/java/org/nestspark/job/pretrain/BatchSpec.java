package org.nestspark.job.pretrain;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import org.nestspark.manifest.ManifestEntry;

/**
 * One planned batch as the driver sends it to an executor: manifest metadata only (never audio), its place
 * in the run and the seed everything random in it derives from (noise choice, augmentation, dither, masks;
 * docs/nest-numerics.md §2–§4). A batch is a pure function of (entries, seed, training), so a task that Spark retries after
 * an executor loss rebuilds exactly the same batch.
 *
 * @param epoch the epoch (-1 for validation)
 * @param index the batch's index in its epoch plan (or in the validation plan)
 * @param seed the batch seed
 * @param entries the utterances, in row order
 */
public record BatchSpec(int epoch, int index, long seed, List<ManifestEntry> entries)
    implements Serializable {
  public BatchSpec {
    Objects.requireNonNull(entries, "entries");
    entries = List.copyOf(entries);
  }

  /** Seed of training batch {@code index} of {@code epoch}: a SplitMix64 hash of (data.seed, epoch, index). */
  public static long trainingSeed(long seed, int epoch, int index) {
    return mix(mix(seed ^ 0x5DEECE66DL, epoch), index);
  }

  /**
   * Seed of validation batch {@code index}: independent of the epoch and the step, so two validations of the
   * same weights see identical noise, augmentation and masks and give the same number.
   */
  public static long validationSeed(long seed, int index) {
    return mix(mix(seed ^ 0x7A11DA7EL, -1), index);
  }

  static long mix(long a, long b) {
    long z = a + 0x9E3779B97F4A7C15L * (b + 1);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** "epoch 3 batch 12" or "validation batch 4", for messages. */
  public String where() {
    return epoch < 0 ? "validation batch " + index : "epoch " + epoch + " batch " + index;
  }
}
