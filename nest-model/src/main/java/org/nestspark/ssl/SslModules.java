package org.nestspark.ssl;

import org.nestspark.config.NestSettings;

/**
 * The non-graph modules of one NEST model (docs/nest-numerics.md §4, §5) and the batch builders made of them. NeMo draws the
 * quantizer's projection and codebooks and the mask embedding from torch's RNG at model construction and
 * saves them in the state dict; a new nest-spark run draws its own from {@code data.seed} (the quantizer from
 * {@link #quantizerSeed}, the mask embedding from {@link #maskEmbeddingSeed}; {@link FrozenModules#drawn}),
 * and from then on they travel with the model ({@link FrozenModules}: checkpoints, imports, exports).
 */
public final class SslModules {
  private SslModules() {}

  /** Seed of the random-projection quantizer: {@code data.seed}. */
  public static long quantizerSeed(NestSettings c) {
    return c.seed();
  }

  /** Seed of the (frozen) mask embedding: {@code data.seed + 1}. */
  public static long maskEmbeddingSeed(NestSettings c) {
    return c.seed() + 1;
  }

  /** The quantizer a new run configured by {@code c} draws. */
  public static RandomProjectionVectorQuantizer quantizer(NestSettings c) {
    return RandomProjectionVectorQuantizer.of(c.quantizer(), quantizerSeed(c));
  }

  /** The block masking (with the embedding) a new run configured by {@code c} draws. */
  public static RandomBlockMasking masking(NestSettings c) {
    return RandomBlockMasking.of(c.masking(), maskEmbeddingSeed(c));
  }
}
