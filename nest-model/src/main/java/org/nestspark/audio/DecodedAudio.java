package org.nestspark.audio;

/**
 * Decoded float32 samples of a frame range of one file, one array per channel, at the file's own
 * sample rate (docs/nest-numerics.md §2, "Loading one clean utterance", step 1).
 *
 * <p>Scaling follows soundfile (libsndfile) reading {@code dtype='float32'}: integer PCM is divided by
 * 2^(bits-1) of its container width (16-bit {@code s/32768f}, 24-bit {@code s/8388608f}, 32-bit
 * {@code s/2147483648f}, 8-bit unsigned WAV {@code (u-128)/128f}, FLAC at depth b {@code s/2^(b-1)});
 * float32 samples are kept, float64 samples are cast to float32. All these conversions are exact except
 * the 32-bit-integer and float64 ones, which round to nearest float32 exactly as libsndfile does.
 *
 * <p>The arrays returned by {@link #channel(int)} are the decoder's own (not copied).
 */
public final class DecodedAudio {
  private final AudioInfo info;
  private final long startFrame;
  private final float[][] data;

  public DecodedAudio(AudioInfo info, long startFrame, float[][] data) {
    if (data.length != info.channels()) {
      throw new IllegalArgumentException(
          "channel arrays " + data.length + " != channels " + info.channels());
    }
    int n = data[0].length;
    for (float[] ch : data) {
      if (ch.length != n) {
        throw new IllegalArgumentException("channel arrays of different lengths");
      }
    }
    this.info = info;
    this.startFrame = startFrame;
    this.data = data;
  }

  /** Header information of the whole file this range was decoded from. */
  public AudioInfo info() {
    return info;
  }

  public int sampleRate() {
    return info.sampleRate();
  }

  public int channels() {
    return info.channels();
  }

  /** Number of frames decoded (the range length, not the file length). */
  public int frames() {
    return data[0].length;
  }

  /** Index in the file of the first decoded frame. */
  public long startFrame() {
    return startFrame;
  }

  public int bitsPerSample() {
    return info.bitsPerSample();
  }

  /** soundfile subtype name, e.g. {@code PCM_16}, {@code FLOAT}. */
  public String encoding() {
    return info.encoding();
  }

  /** {@code WAV}, {@code RF64} or {@code FLAC}. */
  public String format() {
    return info.format();
  }

  /** Samples of channel {@code c} (the internal array, not a copy). */
  public float[] channel(int c) {
    return data[c];
  }

  /** All channels, {@code [channel][frame]} (the internal arrays). */
  public float[][] channelData() {
    return data;
  }

  /** A new interleaved array {@code [frame * channels + channel]}. */
  public float[] interleaved() {
    int ch = data.length;
    int n = frames();
    float[] out = new float[n * ch];
    for (int c = 0; c < ch; c++) {
      float[] src = data[c];
      for (int i = 0; i < n; i++) {
        out[i * ch + c] = src[i];
      }
    }
    return out;
  }

  /**
   * Mono by averaging the channels: {@code (c0 + c1 + ... ) / channels}, summed in float32 in channel
   * order. A mono clip returns its only channel (same array).
   *
   * <p><b>Deviation from NeMo:</b> NeMo's NEST data path ({@code channel_selector=None}) does not
   * down-mix and assumes mono data (docs/nest-numerics.md §2 step 2, §14 item 13); we average so that multi-channel
   * files still yield one waveform.
   */
  public float[] toMono() {
    if (data.length == 1) {
      return data[0];
    }
    int n = frames();
    float[] out = new float[n];
    float inv = data.length;
    for (int i = 0; i < n; i++) {
      float s = 0f;
      for (float[] ch : data) {
        s += ch[i];
      }
      out[i] = s / inv;
    }
    return out;
  }
}
