package org.nestspark.audio;

import java.util.Locale;

/**
 * What a container header says about a clip: format, sample encoding, sample rate, channel count and
 * length in frames (one frame = one sample per channel). Obtained without decoding the audio
 * ({@link AudioSegment#probe}, {@link AudioDecoders#probe}); used to validate manifest {@code offset} /
 * {@code duration} values against the real files (docs/nest-numerics.md §2, "Manifest" and "Loading one clean
 * utterance").
 *
 * <p>{@link #encoding()} uses soundfile's subtype names: {@code PCM_U8}, {@code PCM_S8} (FLAC),
 * {@code PCM_16}, {@code PCM_24}, {@code PCM_32}, {@code FLOAT}, {@code DOUBLE}, and {@code PCM_<n>}
 * for other FLAC bit depths.
 */
public final class AudioInfo {
  private final String format;
  private final String encoding;
  private final int sampleRate;
  private final int channels;
  private final long frames;
  private final int bitsPerSample;

  public AudioInfo(
      String format,
      String encoding,
      int sampleRate,
      int channels,
      long frames,
      int bitsPerSample) {
    this.format = format;
    this.encoding = encoding;
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.frames = frames;
    this.bitsPerSample = bitsPerSample;
  }

  /** Container: {@code "WAV"}, {@code "RF64"} (also used for BW64) or {@code "FLAC"}. */
  public String format() {
    return format;
  }

  /** Sample encoding, soundfile subtype names (see the class comment). */
  public String encoding() {
    return encoding;
  }

  /** Sample rate from the header, in Hz (never guessed). */
  public int sampleRate() {
    return sampleRate;
  }

  public int channels() {
    return channels;
  }

  /** Length in frames (samples per channel). */
  public long frames() {
    return frames;
  }

  /** Bits per sample of the stored samples (container width for WAV, stream bit depth for FLAC). */
  public int bitsPerSample() {
    return bitsPerSample;
  }

  /** {@code frames / sampleRate}. */
  public double durationSeconds() {
    return frames / (double) sampleRate;
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "%s %s %d Hz x%d, %d frames (%.6f s)",
        format,
        encoding,
        sampleRate,
        channels,
        frames,
        durationSeconds());
  }
}
