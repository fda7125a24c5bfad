package org.nestspark.data;

import java.io.Serializable;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.config.DataSettings;
import org.nestspark.config.NestSettings;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.tarred.ShardCursors;

/**
 * Loads a manifest entry's audio the way every nest-spark job does (docs/nest-numerics.md §2): {@code [offset,
 * offset+duration)} of the file, down-mixed to mono and resampled to {@code model.sample_rate} unless
 * {@code data.downmix} / {@code data.resample} are false, in which case such a file is refused with the
 * reason (an {@link AudioException} naming the file) instead of being read as something it is not.
 *
 * <p>An entry of a tarred dataset ({@link ManifestEntry#tarShard()}) is read from its shard member through this
 * JVM's {@link ShardCursors} (each shard streamed front to back, at most {@code data.tar_buffer_mb} of passed
 * members kept per shard); its messages name shard and member.
 */
public final class UtteranceLoader implements Serializable {
  private static final long serialVersionUID = 1L;

  private final int sampleRate;
  private final boolean downmix;
  private final boolean resample;
  private final long tarBufferBytes;

  public UtteranceLoader(int sampleRate, boolean downmix, boolean resample) {
    this(sampleRate, downmix, resample, 64L << 20);
  }

  /** @param tarBufferBytes members of a tar shard kept after they were passed, per shard (bytes) */
  public UtteranceLoader(int sampleRate, boolean downmix, boolean resample, long tarBufferBytes) {
    this.sampleRate = sampleRate;
    this.downmix = downmix;
    this.resample = resample;
    this.tarBufferBytes = tarBufferBytes;
  }

  /** {@code model.sample_rate}, {@code data.downmix}, {@code data.resample}, {@code data.tar_buffer_mb}. */
  public static UtteranceLoader of(NestSettings c) {
    DataSettings d = c.data();
    return new UtteranceLoader(c.sampleRate(), d.downmix(), d.resample(), d.tarBufferBytes());
  }

  public AudioSegment load(ManifestEntry e, Configuration hadoopConf) throws AudioException {
    double duration = e.duration() == null ? 0 : e.duration();
    AudioSegment seg;
    String name;
    if (e.tarShard() != null) {
      byte[] bytes = ShardCursors.member(e.tarShard(), e.tarMember(), hadoopConf, tarBufferBytes);
      name = ShardCursors.describe(e.tarShard(), e.tarMember());
      seg = AudioSegment.decode(bytes, name, e.offset(), duration, sampleRate);
    } else {
      name = NestPaths.display(e.audioPath());
      seg = AudioSegment.load(e.audioPath(), hadoopConf, e.offset(), duration, sampleRate);
    }
    if (!resample && seg.originalSampleRate() != sampleRate) {
      throw new AudioException(
          name,
          "sample rate "
              + seg.originalSampleRate()
              + " Hz, expected "
              + sampleRate
              + " Hz (data.resample=false)");
    }
    if (!downmix && seg.originalChannels() != 1) {
      throw new AudioException(
          name, seg.originalChannels() + " channels, expected mono (data.downmix=false)");
    }
    return seg;
  }

  public int sampleRate() {
    return sampleRate;
  }
}
