package org.nestspark.audio;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * One utterance loaded for the pipeline: mono float32 samples at the target rate (NeMo's
 * {@code AudioSegment.from_file}; docs/nest-numerics.md §2, "Loading one clean utterance", steps 1-3).
 *
 * <p>Order of operations:
 * <ol>
 *   <li>Read the frames {@code [offset, offset + duration)} at the <em>file's</em> rate, with NeMo's
 *       rule: start frame {@code (long) (offset · sr_file)} when {@code offset > 0}, frame count
 *       {@code (long) (duration · sr_file)} when {@code duration > 0} (a short read if the file ends
 *       first, like soundfile), otherwise to the end. The rate always comes from the header. Scaling as
 *       soundfile's float32 ({@link DecodedAudio}). WAV reads only the needed bytes; a FLAC range decodes
 *       only the frames it needs ({@link FlacSeeker}); a whole FLAC file is decoded and MD5-checked.</li>
 *   <li>Down-mix to mono by averaging channels (<b>deviation</b>: NeMo does not down-mix, see
 *       {@link DecodedAudio#toMono()}).</li>
 *   <li>Resample to {@code targetSampleRate} with {@link Resampler} (<b>deviation</b>: NeMo uses librosa's
 *       {@code soxr_hq}). No resampling when the rates are equal; {@code targetSampleRate <= 0} keeps the
 *       file's rate (NeMo's {@code target_sr=None}).</li>
 * </ol>
 * Padding to the 1-second minimum (docs/nest-numerics.md §2 step 5) is the dataset's job, not this loader's. There is no
 * pydub fallback (NeMo's second chance when soundfile fails): containers other than WAV and FLAC are
 * reported as unsupported.
 *
 * <p>Bytes are read through {@code path.getFileSystem(conf)}, so {@code file://}, {@code hdfs://} and other
 * Hadoop file systems work. All problems are {@link AudioException}s whose message starts with the path:
 * {@code "no such file"}, {@code "is a directory"}, {@code "empty file (0 bytes)"}, plus the decoders'
 * reasons ({@link WavDecoder}, {@link FlacDecoder}, {@link AudioDecoders}).
 */
public final class AudioSegment {
  private final String path;
  private final float[] samples;
  private final int sampleRate;
  private final int originalSampleRate;
  private final int originalChannels;
  private final AudioInfo fileInfo;
  private final long startFrame;
  private final int originalFrames;

  private AudioSegment(String path, float[] samples, int sampleRate, DecodedAudio decoded) {
    this.path = path;
    this.samples = samples;
    this.sampleRate = sampleRate;
    this.originalSampleRate = decoded.sampleRate();
    this.originalChannels = decoded.channels();
    this.fileInfo = decoded.info();
    this.startFrame = decoded.startFrame();
    this.originalFrames = decoded.frames();
  }

  /**
   * Loads {@code [offsetSec, offsetSec + durationSec)} of a file as mono at {@code targetSampleRate}.
   *
   * @param offsetSec   start in seconds; {@code <= 0} means the beginning
   * @param durationSec length in seconds; {@code <= 0} means to the end of the file
   * @param targetSampleRate output rate in Hz; {@code <= 0} keeps the file's rate
   */
  public static AudioSegment load(
      Path path, Configuration conf, double offsetSec, double durationSec, int targetSampleRate)
      throws AudioException {
    String name = String.valueOf(path);
    try (ByteSource src = open(path, conf, name)) {
      DecodedAudio d = AudioDecoders.decodeSeconds(src, name, offsetSec, durationSec);
      return fromDecoded(name, d, targetSampleRate);
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  /** Loads a whole file. */
  public static AudioSegment load(Path path, Configuration conf, int targetSampleRate)
      throws AudioException {
    return load(path, conf, 0, 0, targetSampleRate);
  }

  /**
   * Same as {@link #load(Path, Configuration, double, double, int)} for bytes already in memory (e.g. a
   * member of a tarred dataset); {@code name} is used in messages.
   */
  public static AudioSegment decode(
      byte[] data, String name, double offsetSec, double durationSec, int targetSampleRate)
      throws AudioException {
    DecodedAudio d = AudioDecoders.decodeSeconds(ByteSource.of(data), name, offsetSec, durationSec);
    return fromDecoded(name, d, targetSampleRate);
  }

  /**
   * Header-only information (sample rate, channels, frames, duration, format) without decoding the
   * audio, to validate manifest offsets and durations. FLAC files that do not declare their length are
   * decoded to count it.
   */
  public static AudioInfo probe(Path path, Configuration conf) throws AudioException {
    String name = String.valueOf(path);
    try (ByteSource src = open(path, conf, name)) {
      return AudioDecoders.probe(src, name);
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  private static AudioSegment fromDecoded(String name, DecodedAudio d, int targetSampleRate) {
    float[] mono = d.toMono();
    int rate = targetSampleRate > 0 ? targetSampleRate : d.sampleRate();
    float[] out = rate == d.sampleRate() ? mono : Resampler.get(d.sampleRate(), rate).process(mono);
    return new AudioSegment(name, out, rate, d);
  }

  /** Opens the file through its Hadoop FileSystem, reporting missing files, directories and empty files. */
  static ByteSource open(Path path, Configuration conf, String name) throws AudioException {
    FileSystem fs;
    FileStatus st;
    try {
      fs = path.getFileSystem(conf);
      st = fs.getFileStatus(path);
    } catch (FileNotFoundException e) {
      throw new AudioException(name, "no such file");
    } catch (IOException | RuntimeException e) {
      throw new AudioException(name, "cannot access: " + e, e);
    }
    if (st.isDirectory()) {
      throw new AudioException(name, "is a directory");
    }
    long len = st.getLen();
    if (len == 0) {
      throw new AudioException(name, "empty file (0 bytes)");
    }
    FSDataInputStream in;
    try {
      in = fs.open(path);
    } catch (FileNotFoundException e) {
      throw new AudioException(name, "no such file");
    } catch (IOException | RuntimeException e) {
      throw new AudioException(name, "cannot open: " + e, e);
    }
    return new ByteSource() {
      @Override
      public long length() {
        return len;
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int length)
          throws IOException {
        in.readFully(position, buffer, offset, length);
      }

      @Override
      public void close() throws IOException {
        in.close();
      }
    };
  }

  /** Mono samples at {@link #sampleRate()} (the internal array, not a copy). */
  public float[] samples() {
    return samples;
  }

  /** Number of samples. */
  public int numSamples() {
    return samples.length;
  }

  /** Rate of {@link #samples()}: the target rate, or the file's when none was asked for. */
  public int sampleRate() {
    return sampleRate;
  }

  /** The file's sample rate, from its header. */
  public int originalSampleRate() {
    return originalSampleRate;
  }

  /** The file's channel count (before down-mixing). */
  public int originalChannels() {
    return originalChannels;
  }

  /** Frames read from the file (at the file's rate) before resampling. */
  public int originalFrames() {
    return originalFrames;
  }

  /** First frame read, at the file's rate. */
  public long startFrame() {
    return startFrame;
  }

  /** Header information of the whole file. */
  public AudioInfo fileInfo() {
    return fileInfo;
  }

  /** {@code numSamples / sampleRate}. */
  public double durationSeconds() {
    return samples.length / (double) sampleRate;
  }

  /** The path (or name) the audio was read from. */
  public String path() {
    return path;
  }

  @Override
  public String toString() {
    return String.format(
        Locale.ROOT,
        "AudioSegment(%s, %d samples @ %d Hz from %s)",
        path,
        samples.length,
        sampleRate,
        fileInfo);
  }
}
