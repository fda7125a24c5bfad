package org.nestspark.batch;

import java.util.Objects;
import java.util.SplittableRandom;
import org.nestspark.config.NestSettings;
import org.nestspark.data.AudioNoiseBatch;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.ssl.MaskedFeatures;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation;
import org.nestspark.ssl.QuantizerOutput;
import org.nestspark.ssl.RandomBlockMasking;
import org.nestspark.ssl.RandomProjectionVectorQuantizer;
import org.nestspark.ssl.SelectedTokens;
import org.nestspark.ssl.TokenSelection;

/**
 * The per-batch work of NeMo's {@code EncDecDenoiseMaskedTokenPredModel.forward} that happens before the
 * encoder (docs/nest-numerics.md §8, pre_conv), on plain arrays, in NeMo's order:
 * <ol>
 *   <li>clean features {@code (B, F, T)} from the clean audio ({@link FilterbankFeatures}; dither in training);</li>
 *   <li>noisy features from the noisy audio (independent dither); same T, since both waveforms have the
 *       batch width;</li>
 *   <li>tokens = quantizer(clean features) ({@link RandomProjectionVectorQuantizer});</li>
 *   <li>masking of the noisy features with the noisy lengths ({@link RandomBlockMasking}) — also in
 *       validation, as NeMo does ({@code apply_mask = true} in validation_step, docs/nest-numerics.md §14.7);</li>
 * </ol>
 * then the loss selection from the masks ({@link TokenSelection}). The result is a {@link NestBatch}.
 *
 * <p>Seeds: {@code seed} feeds a {@link SplittableRandom} whose first three longs seed the clean dither, the
 * noisy dither and the masking, so a batch is a function of (inputs, seed, training).
 *
 * <p>Thread-safe (the featurizer keeps per-thread scratch, the other parts are immutable). Not serializable
 * ({@link FilterbankFeatures} is not): build one per executor, e.g. from the broadcast weights.
 */
public final class NestBatchPipeline {
  private final FilterbankFeatures featurizer;
  private final RandomProjectionVectorQuantizer quantizer;
  private final RandomBlockMasking masking;
  private final TokenSelection selection;

  public NestBatchPipeline(
      FilterbankFeatures featurizer,
      RandomProjectionVectorQuantizer quantizer,
      RandomBlockMasking masking,
      TokenSelection selection) {
    this.featurizer = Objects.requireNonNull(featurizer, "featurizer");
    this.quantizer = Objects.requireNonNull(quantizer, "quantizer");
    this.masking = Objects.requireNonNull(masking, "masking");
    this.selection = Objects.requireNonNull(selection, "selection");
    int f = featurizer.params().features();
    if (quantizer.featIn() != f || masking.featIn() != f) {
      throw new IllegalArgumentException(
          "feature sizes differ: preprocessor "
              + f
              + ", quantizer "
              + quantizer.featIn()
              + ", masking "
              + masking.featIn());
    }
    if (quantizer.combineTimeSteps() != selection.combineTimeSteps()) {
      throw new IllegalArgumentException(
          "quantizer combine_time_steps "
              + quantizer.combineTimeSteps()
              + " != loss combine_time_steps "
              + selection.combineTimeSteps());
    }
  }

  /** Clean audio from the collated batch, noisy audio from the augmentor. */
  public NestBatch run(
      AudioNoiseBatch batch,
      MultiSpeakerNoiseAugmentation.Result noisy,
      boolean training,
      long seed) {
    return run(
        batch.audio(),
        batch.audioLen(),
        noisy.noisyAudio(),
        noisy.noisyLen(),
        training,
        seed,
        null,
        null);
  }

  /**
   * As {@link #run(AudioNoiseBatch, MultiSpeakerNoiseAugmentation.Result, boolean, long)} with external targets
   * ({@code model.targets = labels}): {@code labels[b]} (one class per encoder frame of utterance b) replace the
   * quantizer's tokens; masking and selection are unchanged (docs/nest-numerics.md §7/§8: NeMo's loss, HuBERT's targets).
   */
  public NestBatch run(
      AudioNoiseBatch batch,
      MultiSpeakerNoiseAugmentation.Result noisy,
      boolean training,
      long seed,
      int[][] labels) {
    return run(
        batch.audio(),
        batch.audioLen(),
        noisy.noisyAudio(),
        noisy.noisyLen(),
        training,
        seed,
        null,
        labels);
  }

  /**
   * The pipeline with random masks.
   *
   * @param cleanAudio {@code [B][W]} zero-padded clean audio
   * @param noisyAudio {@code [B][W]} noisy audio of the same width
   * @param training training mode: dither on (when the preprocessor's dither is non-zero)
   */
  public NestBatch run(
      float[][] cleanAudio,
      int[] cleanLen,
      float[][] noisyAudio,
      int[] noisyLen,
      boolean training,
      long seed) {
    return run(cleanAudio, cleanLen, noisyAudio, noisyLen, training, seed, null, null);
  }

  /**
   * The pipeline with a given frame mask {@code [B, T]} instead of random masks (golden parity, tests), or
   * {@code forcedFrameMask == null} for random masks.
   */
  public NestBatch run(
      float[][] cleanAudio,
      int[] cleanLen,
      float[][] noisyAudio,
      int[] noisyLen,
      boolean training,
      long seed,
      boolean[] forcedFrameMask) {
    return run(cleanAudio, cleanLen, noisyAudio, noisyLen, training, seed, forcedFrameMask, null);
  }

  /**
   * The pipeline; {@code forcedFrameMask} as above, {@code labels} (null: the quantizer's tokens) one class per
   * encoder frame of each utterance, in place of the tokens.
   */
  public NestBatch run(
      float[][] cleanAudio,
      int[] cleanLen,
      float[][] noisyAudio,
      int[] noisyLen,
      boolean training,
      long seed,
      boolean[] forcedFrameMask,
      int[][] labels) {
    Objects.requireNonNull(cleanAudio, "cleanAudio");
    Objects.requireNonNull(noisyAudio, "noisyAudio");
    if (cleanAudio.length != noisyAudio.length) {
      throw new IllegalArgumentException(
          cleanAudio.length + " clean rows, " + noisyAudio.length + " noisy rows");
    }
    SplittableRandom seeds = new SplittableRandom(seed);
    long cleanDither = seeds.nextLong();
    long noisyDither = seeds.nextLong();
    long maskSeed = seeds.nextLong();
    FeatureBatch clean = featurizer.compute(cleanAudio, cleanLen, training, cleanDither);
    FeatureBatch noisy = featurizer.compute(noisyAudio, noisyLen, training, noisyDither);
    if (clean.numFrames() != noisy.numFrames()) {
      throw new IllegalArgumentException(
          "clean and noisy audio give "
              + clean.numFrames()
              + " and "
              + noisy.numFrames()
              + " frames: both batches must have the same width");
    }
    int b = clean.batchSize();
    int f = clean.numFeatures();
    int t = clean.numFrames();
    if (labels != null && labels.length != b) {
      throw new IllegalArgumentException(labels.length + " label rows for " + b + " utterances");
    }
    QuantizerOutput tokens =
        labels == null
            ? quantizer.quantize(clean)
            : QuantizerOutput.fromLabels(labels, t / selection.combineTimeSteps());
    MaskedFeatures masked =
        forcedFrameMask == null
            ? masking.apply(noisy, maskSeed)
            : masking.apply(noisy.data(), b, f, t, forcedFrameMask);
    SelectedTokens sel = selection.select(masked);
    return new NestBatch(
        masked.features(),
        b,
        f,
        t,
        noisy.lengths(),
        masked.frameMask(),
        tokens,
        sel,
        quantizer.numClasses(),
        clean.data(),
        clean.lengths());
  }

  /** Features → tokens → masks → selection for {@code c}, with the model's frozen modules. */
  public static NestBatchPipeline of(NestSettings c, FrozenModules frozen) {
    return new NestBatchPipeline(
        new FilterbankFeatures(c.preprocessor()),
        frozen.quantizer(c),
        frozen.masking(c),
        TokenSelection.of(c.loss()));
  }
}
