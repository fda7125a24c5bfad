package org.nestspark.ssl;

/**
 * The output of {@link TokenSelection}: which of the {@code [B, T']} token positions enter the masked-token
 * loss (docs/nest-numerics.md §7). Arrays are flat, index {@code b·T' + j}, returned without copying.
 */
public final class SelectedTokens {
  private final boolean[] selected;
  private final int batchSize;
  private final int numTokens;
  private final int count;

  SelectedTokens(boolean[] selected, int batchSize, int numTokens) {
    this.selected = selected;
    this.batchSize = batchSize;
    this.numTokens = numTokens;
    int n = 0;
    for (boolean s : selected) {
      if (s) {
        n++;
      }
    }
    this.count = n;
  }

  /** {@code [B, T']}: true where the token is in the loss. */
  public boolean[] selected() {
    return selected;
  }

  public boolean isSelected(int b, int j) {
    return selected[b * numTokens + j];
  }

  /** The selection as a 1.0/0.0 labels mask {@code [B, T']} (DL4J's per-time-step labels mask). */
  public float[] asFloat() {
    float[] out = new float[selected.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = selected[i] ? 1f : 0f;
    }
    return out;
  }

  /** Selected positions in the whole batch: the N of NeMo's mean. */
  public int count() {
    return count;
  }

  /** Selected positions of utterance b. */
  public int count(int b) {
    int n = 0;
    for (int j = 0; j < numTokens; j++) {
      if (selected[b * numTokens + j]) {
        n++;
      }
    }
    return n;
  }

  /** True when nothing is selected: NeMo's loss would be NaN (0/0), the trainer must skip the batch. */
  public boolean isEmpty() {
    return count == 0;
  }

  public int batchSize() {
    return batchSize;
  }

  /** T' = T / combine_time_steps. */
  public int numTokens() {
    return numTokens;
  }

  @Override
  public String toString() {
    return "SelectedTokens[" + count + " of " + batchSize + " x " + numTokens + "]";
  }
}
