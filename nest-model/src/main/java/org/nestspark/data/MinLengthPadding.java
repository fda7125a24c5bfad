package org.nestspark.data;

import org.nestspark.config.DatasetSettings;

/**
 * NeMo's minimum-length padding of a loaded utterance (docs/nest-numerics.md §2, "Loading one clean utterance", step 5):
 * clips with fewer than {@code min_audio_len_secs · sample_rate} samples are padded up to that length,
 * by repeating the clip ({@code pad_audio_mode = repeat}, NeMo's default: tile, then cut) or with zeros
 * ({@code zero}). A zero-length clip is always zero-padded.
 */
public final class MinLengthPadding {
  /** How short clips are padded. */
  public enum Mode {
    REPEAT,
    ZERO
  }

  private final int minSamples;
  private final Mode mode;

  public MinLengthPadding(double minAudioLenSecs, int sampleRate, Mode mode) {
    this.minSamples = (int) (minAudioLenSecs * sampleRate);
    this.mode = mode;
  }

  /** {@code model.*_ds.pad_audio_mode}: "repeat" or "zero". */
  public static Mode mode(String name) {
    switch (name) {
      case "repeat":
        return Mode.REPEAT;
      case "zero":
        return Mode.ZERO;
      default:
        throw new IllegalArgumentException(
            "pad_audio_mode: '" + name + "' is not supported; expected repeat or zero");
    }
  }

  public int minSamples() {
    return minSamples;
  }

  /** The clip itself when long enough, else a padded copy of exactly {@link #minSamples()} samples. */
  public float[] apply(float[] samples) {
    if (samples.length >= minSamples) {
      return samples;
    }
    float[] out = new float[minSamples];
    if (samples.length == 0 || mode == Mode.ZERO) {
      System.arraycopy(samples, 0, out, 0, samples.length);
      return out;
    }
    for (int pos = 0; pos < minSamples; pos += samples.length) {
      System.arraycopy(samples, 0, out, pos, Math.min(samples.length, minSamples - pos));
    }
    return out;
  }

  @Override
  public String toString() {
    return "MinLengthPadding(" + minSamples + " samples, " + mode + ")";
  }

  /** NeMo's minimum-length padding of a dataset section, e.g. {@code model.train_ds}. */
  public static MinLengthPadding of(DatasetSettings d) {
    return new MinLengthPadding(d.minAudioLenSecs(), d.sampleRate(), mode(d.padAudioMode()));
  }
}
