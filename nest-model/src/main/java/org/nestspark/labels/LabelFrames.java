package org.nestspark.labels;

import org.nestspark.config.NestSettings;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.KaldiMfcc;
import org.nestspark.model.subsampling.DepthwiseConv2dS2;

/**
 * How many labels an utterance gets and which 10 ms feature frame each label comes from.
 *
 * <p><b>Count</b>: one label per encoder output frame, i.e. the encoder's output length for the
 * utterance: the preprocessor's valid frames {@code floor(N / hop)} (docs/nest-numerics.md §1, {@link FilterbankFeatures#validFrames})
 * through the subsampling's {@code ceil(L / 2)} per stride-2 stage (docs/nest-numerics.md §6.1: {@code ceil(L / 8)} for
 * NEST), N the samples after NeMo's minimum-length padding, as the training batch sees them.
 *
 * <p><b>Which frame</b>: encoder frame j is made of preprocessor frames {@code 8j … 8j+7} (factor 8),
 * whose centres (NeMo's STFT is centred: frame m is centred on sample {@code hop·m}) are centred on sample
 * {@code hop·(8j + 3.5)}. A label is the cluster of the source frame whose centre is nearest to that
 * point, clamped to the source's frames (the last encoder frame of an utterance can start past its
 * last whole MFCC frame):
 * <ul>
 *   <li>log-mel (NeMo's frames, centre {@code hop·m}): {@code m = 8j + 3} (3.5 rounded down);</li>
 *   <li>Kaldi MFCC ({@link KaldiMfcc}, {@code snip_edges}: frame m covers {@code [160m, 160m + 400)}, centre
 *       {@code 160m + 200}, 12.5 ms after NeMo's frame m): {@code m = round(8j + 3.5 − 1.25) = 8j + 2};</li>
 *   <li>an encoder layer: already at the encoder's rate, {@code m = j}.</li>
 * </ul>
 * This is HuBERT's own choice of one label per target frame by index (fairseq keeps every
 * {@code label_rate / feature_rate}-th label) with the index picked at the frame's centre.
 */
public final class LabelFrames {
  /** Where a feature frame sits in time. */
  public enum Source {
    MFCC,
    LOGMEL,
    LAYER
  }

  private final FilterbankFeatures features;
  private final int factor;
  private final int stages;
  private final int hop;

  /** For the model configured by {@code c} (preprocessor and {@code model.encoder.subsampling_factor}). */
  public static LabelFrames of(NestSettings c) {
    return new LabelFrames(
        new FilterbankFeatures(c.preprocessor()), c.encoder().subsamplingFactor());
  }

  public LabelFrames(FilterbankFeatures features, int subsamplingFactor) {
    if (Integer.bitCount(subsamplingFactor) != 1 || subsamplingFactor < 2) {
      throw new IllegalArgumentException(
          "subsampling factor must be a power of 2, got " + subsamplingFactor);
    }
    this.features = features;
    this.factor = subsamplingFactor;
    this.stages = Integer.numberOfTrailingZeros(subsamplingFactor);
    this.hop = features.params().hopLength();
  }

  /** The encoder's output frames for an utterance of {@code numSamples} samples: the label count. */
  public int encoderFrames(int numSamples) {
    int l = features.validFrames(numSamples);
    for (int s = 0; s < stages; s++) {
      l = DepthwiseConv2dS2.outSize(l);
    }
    return l;
  }

  /** The source frames an utterance of {@code numSamples} samples has. */
  public int sourceFrames(Source source, int numSamples) {
    switch (source) {
      case MFCC:
        return KaldiMfcc.numFrames(numSamples);
      case LOGMEL:
        return features.validFrames(numSamples);
      default:
        return encoderFrames(numSamples);
    }
  }

  /** The source frame label j comes from, for a source of {@code sourceFrames} frames (at least 1). */
  public int sourceIndex(Source source, int j, int sourceFrames) {
    if (sourceFrames <= 0) {
      throw new IllegalArgumentException("no source frame");
    }
    int m;
    switch (source) {
      case MFCC:
        // centre of encoder frame j minus the MFCC frame's centre offset (200 samples), in MFCC
        // shifts, rounded
        double centre = hop * (factor * j + (factor - 1) / 2.0);
        m = (int) Math.round((centre - KaldiMfcc.FRAME_LENGTH / 2.0) / KaldiMfcc.FRAME_SHIFT);
        break;
      case LOGMEL:
        m = factor * j + (factor - 1) / 2;
        break;
      default:
        m = j;
    }
    return Math.max(0, Math.min(sourceFrames - 1, m));
  }
}
