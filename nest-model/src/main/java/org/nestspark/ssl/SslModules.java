package org.nestspark.ssl;

import java.util.List;

import org.apache.hadoop.conf.Configuration;

import org.nestspark.audio.UtteranceLoader;
import org.nestspark.config.ModelConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.data.NoiseSampler;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.manifest.ManifestEntry;

/**
 * The frozen, non-graph modules of one NEST model (spec §4, §5) as a run builds them from its configuration.
 * NeMo draws the quantizer's projection and codebooks and the mask embedding from torch's RNG at model
 * construction and saves them in the state dict; nest-spark draws them from {@code data.seed} so that every
 * executor, a resumed run and an exported {@code .nemo} see the same ones without shipping them:
 * the quantizer from {@link #quantizerSeed}, the mask embedding from {@link #maskEmbeddingSeed}.
 */
public final class SslModules {
  private SslModules() {}

  /** Seed of the random-projection quantizer: {@code data.seed}. */
  public static long quantizerSeed(NestConfig c) {
    return c.getLong("data.seed");
  }

  /** Seed of the (frozen) mask embedding: {@code data.seed + 1}. */
  public static long maskEmbeddingSeed(NestConfig c) {
    return c.getLong("data.seed") + 1;
  }

  /** The quantizer of a run configured by {@code c}. */
  public static RandomProjectionVectorQuantizer quantizer(NestConfig c) {
    return RandomProjectionVectorQuantizer.fromConfig(c, quantizerSeed(c));
  }

  /** The block masking (with its embedding) of a run configured by {@code c}. */
  public static RandomBlockMasking masking(NestConfig c) {
    return RandomBlockMasking.fromConfig(c, maskEmbeddingSeed(c));
  }

  /** Features → tokens → masks → selection for {@code c}. */
  public static NestBatchPipeline pipeline(NestConfig c) {
    return new NestBatchPipeline(new FilterbankFeatures(ModelConfigs.preprocessor(c)), quantizer(c), masking(c), TokenSelection.fromConfig(c));
  }

  /**
   * The batch builder of one dataset section.
   *
   * @param dataset {@code model.train_ds} or {@code model.validation_ds}
   * @param noise the noise corpus entries (empty: no noise)
   */
  public static NestBatchBuilder batchBuilder(NestConfig c, String dataset, List<ManifestEntry> noise, Configuration hadoopConf) {
    int sr = c.getInt("model.sample_rate");
    return new NestBatchBuilder(pipeline(c), MultiSpeakerNoiseAugmentation.fromConfig(c, dataset + ".batch_augmentor"),
        NoiseSampler.withAudio(noise, sr, hadoopConf), ModelConfigs.padding(c, dataset), UtteranceLoader.fromConfig(c));
  }
}
