package org.nestspark.audio;

import java.io.Serializable;

import org.apache.hadoop.conf.Configuration;

import org.nestspark.config.NestConfig;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;

/**
 * Loads a manifest entry's audio the way every nest-spark job does (docs/nest-numerics.md §2): {@code [offset,
 * offset+duration)} of the file, down-mixed to mono and resampled to {@code model.sample_rate} unless
 * {@code data.downmix} / {@code data.resample} are false, in which case such a file is refused with the
 * reason (an {@link AudioException} naming the file) instead of being read as something it is not.
 */
public final class UtteranceLoader implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int sampleRate;
  private final boolean downmix;
  private final boolean resample;

  public UtteranceLoader(int sampleRate, boolean downmix, boolean resample) {
    this.sampleRate = sampleRate;
    this.downmix = downmix;
    this.resample = resample;
  }

  /** {@code model.sample_rate}, {@code data.downmix}, {@code data.resample}. */
  public static UtteranceLoader fromConfig(NestConfig c) {
    return new UtteranceLoader(c.getInt("model.sample_rate"), c.getBoolean("data.downmix"), c.getBoolean("data.resample"));
  }

  public AudioSegment load(ManifestEntry e, Configuration hadoopConf) throws AudioException {
    double duration = e.duration() == null ? 0 : e.duration();
    AudioSegment seg = AudioSegment.load(e.audioPath(), hadoopConf, e.offset(), duration, sampleRate);
    if (!resample && seg.originalSampleRate() != sampleRate) {
      throw new AudioException(NestPaths.display(e.audioPath()),
          "sample rate " + seg.originalSampleRate() + " Hz, expected " + sampleRate + " Hz (data.resample=false)");
    }
    if (!downmix && seg.originalChannels() != 1) {
      throw new AudioException(NestPaths.display(e.audioPath()), seg.originalChannels() + " channels, expected mono (data.downmix=false)");
    }
    return seg;
  }

  public int sampleRate() {
    return sampleRate;
  }
}
