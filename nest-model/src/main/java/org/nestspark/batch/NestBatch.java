package org.nestspark.batch;

import org.nestspark.ssl.QuantizerOutput;
import org.nestspark.ssl.SelectedTokens;

/**
 * One training or validation batch of NEST after everything that runs outside the trainable graph (docs/nest-numerics.md §8,
 * steps 1–4, and the selection of docs/nest-numerics.md §7 step 1), built by {@link NestBatchPipeline}. This is what the graph
 * consumes:
 *
 * <ul>
 *   <li><b>input</b> {@link #features()} {@code [B, F, T]} float32 C order: the masked noisy log-mels
 *       (NeMo's {@code masked_feats}, pre_conv);</li>
 *   <li><b>input lengths / features mask</b> {@link #featureLengths()} and {@link #featuresMask()}
 *       {@code [B, T]}: the noisy features' {@code seq_len} (NeMo passes {@code noisy_len} to the encoder);
 *       the encoder derives its {@code ceil(len/8)} output lengths from them;</li>
 *   <li><b>labels</b> {@link #tokens()} {@code [B, T', H]} ({@code T' = T / 8}): the quantizer's tokens of
 *       the <em>clean</em> features, class indices in {@code [0, num_classes)} per book — or one-hot
 *       {@code [B, C, T']} via {@link #oneHotLabels(int)} for an MCXENT output layer;</li>
 *   <li><b>labels mask</b> {@link #labelsMask()} {@code [B, T']}: the tokens whose 8 frames are &gt; 80 %
 *       masked; the loss is the mean NLL over them (whole batch). {@link #isEmpty()}: none selected — NeMo's
 *       loss would be NaN; skip the batch.</li>
 * </ul>
 * The encoder output lengths are not used by the loss (only masked positions count, and masks never cover
 * padded frames in the overlap variant).
 *
 * <p>Arrays are returned without copying; treat them as read-only.
 */
public final class NestBatch {
  private final float[] features;
  private final int batchSize;
  private final int numFeatures;
  private final int numFrames;
  private final int[] featureLengths;
  private final boolean[] frameMask;
  private final QuantizerOutput tokens;
  private final SelectedTokens selection;
  private final int numClasses;
  private final float[] cleanFeatures;
  private final int[] cleanLengths;

  NestBatch(
      float[] features,
      int batchSize,
      int numFeatures,
      int numFrames,
      int[] featureLengths,
      boolean[] frameMask,
      QuantizerOutput tokens,
      SelectedTokens selection,
      int numClasses,
      float[] cleanFeatures,
      int[] cleanLengths) {
    this.features = features;
    this.batchSize = batchSize;
    this.numFeatures = numFeatures;
    this.numFrames = numFrames;
    this.featureLengths = featureLengths;
    this.frameMask = frameMask;
    this.tokens = tokens;
    this.selection = selection;
    this.numClasses = numClasses;
    this.cleanFeatures = cleanFeatures;
    this.cleanLengths = cleanLengths;
  }

  /** The clean (un-augmented, unmasked) log-mels {@code [B, F, T]} the tokens were computed from. */
  public float[] cleanFeatures() {
    return cleanFeatures;
  }

  /** Valid frames of the clean features per utterance. */
  public int[] cleanLengths() {
    return cleanLengths;
  }

  /** Masked noisy features {@code [B, F, T]}. */
  public float[] features() {
    return features;
  }

  public int batchSize() {
    return batchSize;
  }

  /** F (80). */
  public int numFeatures() {
    return numFeatures;
  }

  /** T, a multiple of 16 (pad_to). */
  public int numFrames() {
    return numFrames;
  }

  /** T' = T / combine_time_steps, the encoder's output frames and the token count. */
  public int numTokens() {
    return tokens.numTokens();
  }

  /** Valid frames of the noisy features per utterance (the encoder's input lengths). */
  public int[] featureLengths() {
    return featureLengths;
  }

  /** {@code [B, T]}: 1 for {@code t < featureLengths[b]}, else 0. */
  public float[] featuresMask() {
    float[] m = new float[batchSize * numFrames];
    for (int b = 0; b < batchSize; b++) {
      for (int t = 0; t < featureLengths[b]; t++) {
        m[b * numFrames + t] = 1f;
      }
    }
    return m;
  }

  /** The masked frames {@code [B, T]} (all false without masking). */
  public boolean[] frameMask() {
    return frameMask;
  }

  /** The quantizer's output on the clean features (tokens, projections, distances). */
  public QuantizerOutput quantizerOutput() {
    return tokens;
  }

  /** Tokens {@code [B, T', H]}. */
  public int[] tokens() {
    return tokens.tokens();
  }

  /** The loss selection. */
  public SelectedTokens selection() {
    return selection;
  }

  /** The labels mask {@code [B, T']}, 1.0 where the token is in the loss. */
  public float[] labelsMask() {
    return selection.asFloat();
  }

  /** True when no token is selected (NeMo: NaN loss; the trainer skips the batch). */
  public boolean isEmpty() {
    return selection.isEmpty();
  }

  /**
   * One-hot labels of book h, {@code [B, C, T']} float32 C order (DL4J's RNN label layout). Large: C = 8192
   * makes it {@code B·8192·T'} floats (36 MB for 8 × 138 tokens).
   */
  public float[] oneHotLabels(int book) {
    int tp = tokens.numTokens();
    int h = tokens.numBooks();
    if (book < 0 || book >= h) {
      throw new IllegalArgumentException("book " + book + " of " + h);
    }
    float[] out = new float[batchSize * numClasses * tp];
    int[] tok = tokens.tokens();
    for (int b = 0; b < batchSize; b++) {
      for (int j = 0; j < tp; j++) {
        int c = tok[(b * tp + j) * h + book];
        out[(b * numClasses + c) * tp + j] = 1f;
      }
    }
    return out;
  }

  @Override
  public String toString() {
    return "NestBatch[B="
        + batchSize
        + ", F="
        + numFeatures
        + ", T="
        + numFrames
        + ", T'="
        + numTokens()
        + ", "
        + selection.count()
        + " tokens in the loss]";
  }
}
