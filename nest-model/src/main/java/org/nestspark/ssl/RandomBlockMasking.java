package org.nestspark.ssl;

import java.io.Serializable;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nestspark.config.MaskingSettings;
import org.nestspark.features.FeatureBatch;

/**
 * NeMo's {@code RandomBlockMasking} (docs/nest-numerics.md §4), applied to the <em>noisy</em> features {@code [B, F, T]} with
 * their lengths, outside the trainable graph.
 *
 * <p>Mask embedding: {@code mask_processor.mask_embedding}, {@code (F,)} float32, {@code N(0, 0.1²)},
 * frozen. A masked frame's whole F-vector is <em>replaced</em> by it (not added).
 *
 * <p>Per utterance of {@code len} valid frames ({@code block} = block_size 40, p = mask_prob 0.01,
 * {@code r} = max_mask_ratio 0.8):
 * <ul>
 *   <li><b>Short rule</b> (both variants): if {@code block ≥ len·r} (evaluated in float32 as PyTorch does
 *       for a length tensor times a Python float; len ≤ 50 for NEST): frames {@code [0, min(8, len))}.</li>
 *   <li><b>allow_overlap = true</b> (NEST): {@code count = len − block}; {@code k ~ Binomial(count, p)};
 *       the k starts are the first k entries of a random permutation of {@code [0, count)}; each block covers
 *       {@code [s, min(s + block, len))}; union. So frame {@code len − 1} and the padding are never masked, and
 *       about {@code 1 − (1−p)^block} ≈ 33 % of interior frames are. Binomial draws use geometric skips
 *       (exactly Binomial-distributed).</li>
 *   <li><b>allow_overlap = false</b> (not used by NEST): {@code n = ceil(len·p / block)} (float32),
 *       {@code o ~ U{0 … block−1}}; the block shrinks to {@code len // (n+1)} when {@code (n+1)·block > len};
 *       slots: the first n of a random permutation of {@code [0, len // size − 1)}; block j covers
 *       {@code [slot·size + o, slot·size + o + size)}, cut at T only. <b>[quirk]</b> the offset is drawn from
 *       {@code [0, block)} even when the block shrank, so a block can reach past len into padding (NeMo
 *       does the same). <b>Deviation</b>: NeMo's short rule in this variant uses an {@code offset} variable
 *       that is only assigned in the long branch (a NameError, or a stale offset of an earlier utterance);
 *       here the short rule masks {@code [0, min(8, len))} like the overlap variant.</li>
 * </ul>
 *
 * <p>Randomness: NeMo draws from numpy/torch global streams, which cannot be reproduced; here utterance b
 * uses the b-th {@link SplittableRandom#split()} of {@code new SplittableRandom(seed)}, so a mask is a
 * function of (seed, b, len_b). Golden parity is checked through the forced-mask API
 * ({@link #apply(float[], int, int, int, boolean[])}).
 */
public final class RandomBlockMasking implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Frames masked by the short-utterance rule. */
  public static final int SHORT_BLOCK = 8;

  /** Standard deviation of the mask embedding's initialisation. */
  public static final double EMBEDDING_STD = 0.1;

  private final int featIn;
  private final double maskProb;
  private final int blockSize;
  private final boolean allowOverlap;
  private final double maxMaskRatio;
  private final float[] maskEmbedding;

  /**
   * @param maskEmbedding {@code (featIn,)} float32, copied (NeMo checkpoint key
   *     {@code mask_processor.mask_embedding})
   */
  public RandomBlockMasking(
      int featIn,
      double maskProb,
      int blockSize,
      boolean allowOverlap,
      double maxMaskRatio,
      float[] maskEmbedding) {
    if (featIn <= 0 || blockSize <= 0) {
      throw new IllegalArgumentException(
          "feat_in and block_size must be positive: " + featIn + ", " + blockSize);
    }
    if (!(maskProb >= 0 && maskProb <= 1)) {
      throw new IllegalArgumentException("mask_prob must be in [0, 1]: " + maskProb);
    }
    if (!(maxMaskRatio >= 0 && maxMaskRatio <= 1)) {
      throw new IllegalArgumentException("max_mask_ratio must be in [0, 1]: " + maxMaskRatio);
    }
    Objects.requireNonNull(maskEmbedding, "maskEmbedding");
    if (maskEmbedding.length != featIn) {
      throw new IllegalArgumentException(
          "mask embedding has " + maskEmbedding.length + " values, feat_in is " + featIn);
    }
    this.featIn = featIn;
    this.maskProb = maskProb;
    this.blockSize = blockSize;
    this.allowOverlap = allowOverlap;
    this.maxMaskRatio = maxMaskRatio;
    this.maskEmbedding = maskEmbedding.clone();
  }

  /** NeMo's initialisation of the embedding, {@code N(0, 0.1²)} from {@code seed}. */
  public static float[] randomEmbedding(int featIn, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    float[] e = new float[featIn];
    for (int i = 0; i < featIn; i++) {
      e[i] = (float) (EMBEDDING_STD * rng.nextGaussian());
    }
    return e;
  }

  /** {@code model.masking.*} with an embedding drawn from {@code seed}. */
  public static RandomBlockMasking of(MaskingSettings s, long seed) {
    return of(s, randomEmbedding(s.featIn(), seed));
  }

  /** {@code model.masking.*} with an explicit embedding. */
  public static RandomBlockMasking of(MaskingSettings s, float[] maskEmbedding) {
    return new RandomBlockMasking(
        s.featIn(), s.maskProb(), s.blockSize(), s.allowOverlap(), s.maxMaskRatio(), maskEmbedding);
  }

  public int featIn() {
    return featIn;
  }

  public double maskProb() {
    return maskProb;
  }

  public int blockSize() {
    return blockSize;
  }

  public boolean allowOverlap() {
    return allowOverlap;
  }

  public double maxMaskRatio() {
    return maxMaskRatio;
  }

  /** A copy of the mask embedding. */
  public float[] maskEmbedding() {
    return maskEmbedding.clone();
  }

  // ------------------------------------------------------------------ masking

  /** Random masks for a feature batch (its lengths are the valid frames), then {@link #apply}. */
  public MaskedFeatures apply(FeatureBatch features, long seed) {
    return apply(
        features.data(),
        features.batchSize(),
        features.numFeatures(),
        features.numFrames(),
        features.lengths(),
        seed);
  }

  /** Random masks ({@link #sampleFrameMask}) applied to {@code features [B, F, T]}. */
  public MaskedFeatures apply(
      float[] features, int batchSize, int numFeatures, int numFrames, int[] lengths, long seed) {
    return apply(
        features, batchSize, numFeatures, numFrames, sampleFrameMask(lengths, numFrames, seed));
  }

  /**
   * The forced-mask forward: a copy of {@code features [B, F, T]} with the whole F-vector of every frame
   * where {@code frameMask [B, T]} is true replaced by the mask embedding.
   */
  public MaskedFeatures apply(
      float[] features, int batchSize, int numFeatures, int numFrames, boolean[] frameMask) {
    Objects.requireNonNull(features, "features");
    Objects.requireNonNull(frameMask, "frameMask");
    if (numFeatures != featIn) {
      throw new IllegalArgumentException(
          "features have " + numFeatures + " channels, the embedding " + featIn);
    }
    if ((long) batchSize * numFeatures * numFrames != features.length) {
      throw new IllegalArgumentException(
          "features have "
              + features.length
              + " values, not "
              + batchSize
              + "*"
              + numFeatures
              + "*"
              + numFrames);
    }
    if ((long) batchSize * numFrames != frameMask.length) {
      throw new IllegalArgumentException(
          "frame mask has " + frameMask.length + " values, not " + batchSize + "*" + numFrames);
    }
    float[] out = features.clone();
    for (int b = 0; b < batchSize; b++) {
      for (int t = 0; t < numFrames; t++) {
        if (frameMask[b * numFrames + t]) {
          for (int f = 0; f < numFeatures; f++) {
            out[(b * numFeatures + f) * numFrames + t] = maskEmbedding[f];
          }
        }
      }
    }
    return new MaskedFeatures(out, frameMask.clone(), batchSize, numFeatures, numFrames);
  }

  /**
   * Random frame masks {@code [B, T]} for utterances of {@code lengths[b]} valid frames; utterance b draws from
   * the b-th split of {@code new SplittableRandom(seed)}.
   */
  public boolean[] sampleFrameMask(int[] lengths, int numFrames, long seed) {
    Objects.requireNonNull(lengths, "lengths");
    SplittableRandom root = new SplittableRandom(seed);
    boolean[] mask = new boolean[lengths.length * numFrames];
    for (int b = 0; b < lengths.length; b++) {
      int len = lengths[b];
      if (len < 0 || len > numFrames) {
        throw new IllegalArgumentException(
            "length " + len + " of utterance " + b + " is outside [0, " + numFrames + "]");
      }
      SplittableRandom rng = root.split();
      sampleUtterance(mask, b * numFrames, len, numFrames, rng);
    }
    return mask;
  }

  /** One utterance's mask into {@code mask[off … off + numFrames)}. */
  void sampleUtterance(boolean[] mask, int off, int len, int numFrames, SplittableRandom rng) {
    if (blockSize >= (float) len * (float) maxMaskRatio) {
      markRange(mask, off, 0, Math.min(SHORT_BLOCK, len));
      return;
    }
    if (allowOverlap) {
      int count = Math.max(0, len - blockSize);
      int k = binomial(count, maskProb, rng);
      int[] starts = permutationPrefix(count, k, rng);
      for (int s : starts) {
        markRange(mask, off, s, Math.min(s + blockSize, len));
      }
    } else {
      int n = (int) Math.ceil((float) len * (float) maskProb / (float) blockSize);
      int offset = rng.nextInt(blockSize);
      int size = blockSize;
      if ((long) (n + 1) * blockSize > len) {
        size = len / (n + 1);
      }
      if (size == 0) {
        return; // only for block_size 1 with mask_prob 1, where NeMo divides by zero
      }
      int slots = len / size - 1;
      int[] chosen = permutationPrefix(Math.max(0, slots), n, rng);
      for (int j : chosen) {
        int start = j * size + offset;
        markRange(mask, off, start, Math.min(start + size, numFrames));
      }
    }
  }

  private static void markRange(boolean[] mask, int off, int from, int to) {
    for (int t = from; t < to; t++) {
      mask[off + t] = true;
    }
  }

  /**
   * The first {@code min(k, n)} entries of a uniformly random permutation of {@code [0, n)} (partial
   * Fisher–Yates), as {@code torch.randperm(n)[:k]}.
   */
  static int[] permutationPrefix(int n, int k, SplittableRandom rng) {
    int m = Math.min(k, n);
    int[] perm = new int[n];
    for (int i = 0; i < n; i++) {
      perm[i] = i;
    }
    for (int i = 0; i < m; i++) {
      int j = i + rng.nextInt(n - i);
      int tmp = perm[i];
      perm[i] = perm[j];
      perm[j] = tmp;
    }
    int[] out = new int[m];
    System.arraycopy(perm, 0, out, 0, m);
    return out;
  }

  /**
   * A {@code Binomial(n, p)} draw: the number of successes among n Bernoulli(p) trials, counted by jumping
   * from success to success with geometric gaps {@code floor(ln U / ln(1−p))} (the same distribution, about
   * n·p + 1 uniforms instead of n).
   */
  static int binomial(int n, double p, SplittableRandom rng) {
    if (n <= 0 || p <= 0) {
      return 0;
    }
    if (p >= 1) {
      return n;
    }
    double logQ = StrictMath.log1p(-p); // StrictMath: the same masks on every JVM and CPU
    int successes = 0;
    long pos = -1;
    while (true) {
      double u = 1.0 - rng.nextDouble(); // (0, 1]
      pos += 1 + (long) Math.floor(StrictMath.log(u) / logQ);
      if (pos >= n) {
        return successes;
      }
      successes++;
    }
  }

  @Override
  public String toString() {
    return "RandomBlockMasking(feat_in "
        + featIn
        + ", block "
        + blockSize
        + ", p "
        + maskProb
        + ", allow_overlap "
        + allowOverlap
        + ", max_mask_ratio "
        + maxMaskRatio
        + ")";
  }
}
