package org.nestspark.ssl;

/**
 * What {@link RandomProjectionVectorQuantizer} produces for a batch (docs/nest-numerics.md §5, steps 2–4): the tokens
 * {@code xid (B, T/combine, H)}, the L2-normalised projections {@code z (B, T/combine, H, D)} and the
 * float64 distance of each z to its chosen code.
 *
 * <p>All arrays are flat, C order, and returned without copying; treat them as read-only.
 */
public final class QuantizerOutput {
  private final int batchSize;
  private final int numTokens;
  private final int numBooks;
  private final int codeDim;
  private final int[] tokens;
  private final float[] projected;
  private final double[] minDistance;

  QuantizerOutput(
      int batchSize,
      int numTokens,
      int numBooks,
      int codeDim,
      int[] tokens,
      float[] projected,
      double[] minDistance) {
    this.batchSize = batchSize;
    this.numTokens = numTokens;
    this.numBooks = numBooks;
    this.codeDim = codeDim;
    this.tokens = tokens;
    this.projected = projected;
    this.minDistance = minDistance;
  }

  /**
   * External targets in the quantizer's place ({@code model.targets = labels}, HuBERT's k-means labels): one
   * book, {@code labels[b]} at the first {@code labels[b].length} positions of row b, 0 after (padding: never
   * selected by the loss, docs/nest-numerics.md §7); no projections (code dimension 0) and zero distances.
   *
   * @param numTokens T' of the batch
   */
  public static QuantizerOutput fromLabels(int[][] labels, int numTokens) {
    int b = labels.length;
    int[] tokens = new int[b * numTokens];
    for (int i = 0; i < b; i++) {
      if (labels[i].length > numTokens) {
        throw new IllegalArgumentException(
            "row "
                + i
                + " has "
                + labels[i].length
                + " labels, the batch has "
                + numTokens
                + " encoder frames");
      }
      System.arraycopy(labels[i], 0, tokens, i * numTokens, labels[i].length);
    }
    return new QuantizerOutput(b, numTokens, 1, 0, tokens, new float[0], new double[b * numTokens]);
  }

  /** B. */
  public int batchSize() {
    return batchSize;
  }

  /** T / combine_time_steps: tokens per utterance (= the encoder's frame count T'). */
  public int numTokens() {
    return numTokens;
  }

  /** H, the number of codebooks. */
  public int numBooks() {
    return numBooks;
  }

  /** D, the code dimension. */
  public int codeDim() {
    return codeDim;
  }

  /** Tokens {@code [B, T', H]}, index {@code (b·T' + j)·H + h}: NeMo's {@code xid} (int64 there). */
  public int[] tokens() {
    return tokens;
  }

  /** The token of utterance b, position j, book h. */
  public int token(int b, int j, int h) {
    return tokens[(b * numTokens + j) * numBooks + h];
  }

  /** The tokens widened to int64, as NeMo stores them. */
  public long[] tokensAsLong() {
    long[] out = new long[tokens.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = tokens[i];
    }
    return out;
  }

  /** Normalised projections z {@code [B, T', H, D]} (float32). */
  public float[] projected() {
    return projected;
  }

  /** {@code ‖z − codebook[h, token]‖₂} in float64 {@code [B, T', H]}, computed as NeMo does. */
  public double[] minDistance() {
    return minDistance;
  }

  @Override
  public String toString() {
    return "QuantizerOutput[B="
        + batchSize
        + ", T'="
        + numTokens
        + ", H="
        + numBooks
        + ", D="
        + codeDim
        + "]";
  }
}
