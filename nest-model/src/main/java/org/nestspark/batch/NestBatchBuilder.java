package org.nestspark.batch;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.config.DatasetSettings;
import org.nestspark.config.NestSettings;
import org.nestspark.data.AudioNoiseBatch;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.NoiseSampler;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.labels.LabelFiles;
import org.nestspark.labels.LabelFrames;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation;

/**
 * Builds one training or validation batch from its manifest entries, on an executor, in NeMo's order
 * (docs/nest-numerics.md §2 and §8): load each utterance ({@code [offset, offset+duration)}, mono, model rate), pad clips
 * shorter than {@code min_audio_len_secs} (repeat, NeMo), sample one noise per utterance from the noise
 * corpus, collate, apply {@link MultiSpeakerNoiseAugmentation}, then {@link NestBatchPipeline}: clean
 * features → tokens, noisy features → masking → token selection. With {@code model.targets = labels} the
 * tokens are each entry's k-means labels ({@code label_filepath}, {@link LabelFiles}) instead.
 *
 * <p>An utterance that cannot be loaded is left out of the batch and reported in
 * {@link Result#skipped()} ("manifest:line: path: reason"); a batch whose utterances all fail gives no
 * {@link NestBatch}. Everything random derives from {@code seed}, so a batch is a function of (entries,
 * seed, training): validation uses seeds that do not depend on the epoch, so two validations of the same
 * weights give the same number.
 */
public final class NestBatchBuilder {
  private final NestBatchPipeline pipeline;
  private final MultiSpeakerNoiseAugmentation augmentation;
  private final NoiseSampler noise;
  private final MinLengthPadding padding;
  private final UtteranceLoader loader;
  private final int sampleRate;
  private final LabelFrames labelFrames;
  private final int numClasses;

  /** A builder that down-mixes and resamples every file ({@code data.downmix = data.resample = true}). */
  public NestBatchBuilder(
      NestBatchPipeline pipeline,
      MultiSpeakerNoiseAugmentation augmentation,
      NoiseSampler noise,
      MinLengthPadding padding,
      int sampleRate) {
    this(pipeline, augmentation, noise, padding, new UtteranceLoader(sampleRate, true, true));
  }

  /** @param loader how utterances are read ({@link UtteranceLoader#fromConfig}: rate, down-mix, resampling) */
  public NestBatchBuilder(
      NestBatchPipeline pipeline,
      MultiSpeakerNoiseAugmentation augmentation,
      NoiseSampler noise,
      MinLengthPadding padding,
      UtteranceLoader loader) {
    this(pipeline, augmentation, noise, padding, loader, null, 0);
  }

  /**
   * A builder whose targets are label files ({@code model.targets = labels}): each entry's
   * {@code label_filepath} ({@link LabelFiles}) must hold one class in {@code [0, numClasses)} per encoder
   * frame of the utterance as loaded and padded ({@code labelFrames}); an entry whose label file is missing,
   * unreadable or mis-sized is left out of the batch with the reason, like unreadable audio.
   *
   * @param labelFrames null: the quantizer's tokens are the targets
   */
  public NestBatchBuilder(
      NestBatchPipeline pipeline,
      MultiSpeakerNoiseAugmentation augmentation,
      NoiseSampler noise,
      MinLengthPadding padding,
      UtteranceLoader loader,
      LabelFrames labelFrames,
      int numClasses) {
    this.labelFrames = labelFrames;
    this.numClasses = numClasses;
    this.pipeline = Objects.requireNonNull(pipeline, "pipeline");
    this.augmentation = Objects.requireNonNull(augmentation, "augmentation");
    this.noise = Objects.requireNonNull(noise, "noise");
    this.padding = Objects.requireNonNull(padding, "padding");
    this.loader = Objects.requireNonNull(loader, "loader");
    this.sampleRate = loader.sampleRate();
  }

  /** Builds the batch; never throws for bad audio (see {@link Result#skipped()}). */
  public Result build(
      List<ManifestEntry> entries, Configuration hadoopConf, boolean training, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    long noiseSeed = rng.nextLong();
    long augmentSeed = rng.nextLong();
    long pipelineSeed = rng.nextLong();
    List<float[]> audio = new ArrayList<>(entries.size());
    List<ManifestEntry> used = new ArrayList<>(entries.size());
    List<String> skipped = new ArrayList<>();
    List<int[]> labels = new ArrayList<>(entries.size());
    for (ManifestEntry e : entries) {
      try {
        AudioSegment seg = loader.load(e, hadoopConf);
        float[] a = padding.apply(seg.samples());
        if (labelFrames != null) {
          try {
            labels.add(
                LabelFiles.read(e, hadoopConf, labelFrames.encoderFrames(a.length), numClasses));
          } catch (java.io.IOException ex) {
            skipped.add(e.where() + ": " + e.audioFilepath() + ": " + ex.getMessage());
            continue;
          }
        }
        audio.add(a);
        used.add(e);
      } catch (AudioException ex) {
        skipped.add(e.where() + ": " + ex.getMessage());
      } catch (RuntimeException ex) {
        skipped.add(
            e.where()
                + ": "
                + e.audioFilepath()
                + ": unexpected "
                + ex.getClass().getSimpleName()
                + ": "
                + ex.getMessage());
      }
    }
    if (audio.isEmpty()) {
      return new Result(null, used, skipped, 0);
    }
    SplittableRandom noiseRng = new SplittableRandom(noiseSeed);
    List<NoiseSampler.Noise> noises = new ArrayList<>(audio.size());
    for (float[] a : audio) {
      noises.add(noise.sample(a.length, noiseRng.split()));
    }
    AudioNoiseBatch collated = AudioNoiseBatch.collate(audio, noises);
    MultiSpeakerNoiseAugmentation.Result noisy =
        augmentation.apply(collated, new SplittableRandom(augmentSeed));
    NestBatch batch =
        pipeline.run(
            collated,
            noisy,
            training,
            pipelineSeed,
            labelFrames == null ? null : labels.toArray(new int[0][]));
    long samples = 0;
    for (int len : collated.audioLen()) {
      samples += len;
    }
    return new Result(batch, used, skipped, samples / (double) sampleRate);
  }

  /** A built batch (or none), the entries in it, and the skipped utterances with their reasons. */
  public static final class Result {
    private final NestBatch batch;
    private final List<ManifestEntry> entries;
    private final List<String> skipped;
    private final double audioSeconds;

    Result(
        NestBatch batch, List<ManifestEntry> entries, List<String> skipped, double audioSeconds) {
      this.batch = batch;
      this.entries = List.copyOf(entries);
      this.skipped = List.copyOf(skipped);
      this.audioSeconds = audioSeconds;
    }

    /** The batch, or null when no utterance could be loaded. */
    public NestBatch batch() {
      return batch;
    }

    /** The entries in the batch, in row order. */
    public List<ManifestEntry> entries() {
      return entries;
    }

    /** "manifest:line: path: reason" for every utterance left out. */
    public List<String> skipped() {
      return skipped;
    }

    /** Seconds of clean audio in the batch (after padding). */
    public double audioSeconds() {
      return audioSeconds;
    }
  }

  /**
   * The batch builder of one dataset section.
   *
   * @param dataset {@code model.train_ds} or {@code model.validation_ds}
   * @param noise the noise corpus entries (empty: no noise)
   * @param frozen the model's quantizer and mask embedding
   */
  public static NestBatchBuilder of(
      NestSettings c,
      String dataset,
      List<ManifestEntry> noise,
      Configuration hadoopConf,
      FrozenModules frozen) {
    DatasetSettings d = c.dataset(dataset);
    return new NestBatchBuilder(
        NestBatchPipeline.of(c, frozen),
        MultiSpeakerNoiseAugmentation.of(d.augmentor()),
        NoiseSampler.withAudio(noise, c.sampleRate(), hadoopConf),
        MinLengthPadding.of(d),
        UtteranceLoader.of(c),
        c.labelTargets() ? LabelFrames.of(c) : null,
        c.numClasses());
  }
}
