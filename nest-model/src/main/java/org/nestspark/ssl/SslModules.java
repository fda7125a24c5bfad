package org.nestspark.ssl;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.UtteranceLoader;
import org.nestspark.config.ModelConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.data.NoiseSampler;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.labels.LabelFrames;
import org.nestspark.manifest.ManifestEntry;

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
  public static long quantizerSeed(NestConfig c) {
    return c.getLong("data.seed");
  }

  /** Seed of the (frozen) mask embedding: {@code data.seed + 1}. */
  public static long maskEmbeddingSeed(NestConfig c) {
    return c.getLong("data.seed") + 1;
  }

  /** The quantizer a new run configured by {@code c} draws. */
  public static RandomProjectionVectorQuantizer quantizer(NestConfig c) {
    return RandomProjectionVectorQuantizer.fromConfig(c, quantizerSeed(c));
  }

  /** The block masking (with the embedding) a new run configured by {@code c} draws. */
  public static RandomBlockMasking masking(NestConfig c) {
    return RandomBlockMasking.fromConfig(c, maskEmbeddingSeed(c));
  }

  /** Features → tokens → masks → selection for {@code c}, with the model's frozen modules. */
  public static NestBatchPipeline pipeline(NestConfig c, FrozenModules frozen) {
    return new NestBatchPipeline(
        new FilterbankFeatures(ModelConfigs.preprocessor(c)),
        frozen.quantizer(c),
        frozen.masking(c),
        TokenSelection.fromConfig(c));
  }

  /**
   * The batch builder of one dataset section.
   *
   * @param dataset {@code model.train_ds} or {@code model.validation_ds}
   * @param noise the noise corpus entries (empty: no noise)
   * @param frozen the model's quantizer and mask embedding
   */
  public static NestBatchBuilder batchBuilder(
      NestConfig c,
      String dataset,
      List<ManifestEntry> noise,
      Configuration hadoopConf,
      FrozenModules frozen) {
    int sr = c.getInt("model.sample_rate");
    boolean labels = "labels".equals(c.getString("model.targets"));
    return new NestBatchBuilder(
        pipeline(c, frozen),
        MultiSpeakerNoiseAugmentation.fromConfig(c, dataset + ".batch_augmentor"),
        NoiseSampler.withAudio(noise, sr, hadoopConf),
        ModelConfigs.padding(c, dataset),
        UtteranceLoader.fromConfig(c),
        labels ? LabelFrames.fromConfig(c) : null,
        c.getInt("model.num_classes"));
  }
}
