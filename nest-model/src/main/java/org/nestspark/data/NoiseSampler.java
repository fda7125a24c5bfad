package org.nestspark.data;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.AudioSegment;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.manifest.ManifestEntry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One noise clip per utterance from the noise manifest, as NeMo's {@code sample_noise} and
 * {@code load_noise_audio} do it (docs/nest-numerics.md §2, "Noise manifest and sampling"; {@code model.*_ds.noise_manifest}).
 *
 * <p>For an utterance of {@code audio_len} samples ({@code max_dur = audio_len / sample_rate} seconds):
 * <ol>
 *   <li>No entries: zeros, {@code noise_len = audio_len}.</li>
 *   <li>Pick an entry uniformly. If it has a {@code duration} and {@code duration > max_dur}: draw
 *       {@code offset ~ U(0, duration − max_dur)} and read {@code max_dur} seconds there; accept when the
 *       float32 running sum of the samples is {@code > 0}, else draw again, at most 100 times (the last read
 *       is kept). <b>[quirks, replicated]</b> the entry's own {@code offset} field is ignored in this branch,
 *       and the test is the <em>signed</em> sum, not the energy (docs/nest-numerics.md §14.9). Otherwise read the entry from
 *       its {@code offset} for its {@code duration} (the whole file without one).</li>
 *   <li>If the samples sum to exactly 0 (Python's {@code sum}, a float32 running sum): add white noise
 *       {@code N(0,1)·10^(dB/20)} at an integer level dB uniform in [−90, −46) (NeMo's
 *       {@code WhiteNoisePerturbation}; computed in float64, stored as float32).</li>
 *   <li>{@code noise_len} = samples read. Shorter than audio_len: zero-padded to audio_len ({@code noise_len}
 *       stays short); otherwise truncated to audio_len and {@code noise_len = audio_len}. No looping here (the
 *       batch augmentor loops).</li>
 *   <li>A load that throws is retried with a freshly picked entry, 20 attempts in all; then zeros with
 *       {@code noise_len = audio_len}. Failures are logged and counted ({@link Noise#failedLoads()}).</li>
 * </ol>
 *
 * <p>Randomness comes from the {@link SplittableRandom} passed in (NeMo uses numpy's global stream), so the
 * noise is a function of the seed. Loading goes through an injectable {@link Loader}; {@link #audioLoader}
 * reads with {@link AudioSegment#load(org.apache.hadoop.fs.Path, Configuration, double, double, int)} (NeMo's
 * offset/duration frame rule, resampled to the target rate). Serializable when its loader is.
 */
public final class NoiseSampler implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(NoiseSampler.class);

  /** Entries tried per utterance before giving up (NeMo's {@code sample_noise max_trial}). */
  public static final int MAX_TRIALS = 20;

  /** Offsets tried for a long noise file (NeMo's {@code load_noise_audio max_trial}). */
  public static final int MAX_SEGMENT_TRIALS = 100;

  /** Lowest white-noise level in dB (inclusive). */
  public static final int MIN_WHITE_NOISE_DB = -90;

  /** Highest white-noise level in dB (exclusive). */
  public static final int MAX_WHITE_NOISE_DB = -46;

  /** Reads part of a noise entry's audio. */
  @FunctionalInterface
  public interface Loader extends Serializable {
    /**
     * The samples of {@code [offsetSec, offsetSec + durationSec)} of the entry's audio at the sampler's rate.
     *
     * @param offsetSec start in seconds; {@code <= 0} is the beginning
     * @param durationSec length in seconds; {@code <= 0} is to the end of the file
     * @throws Exception any failure; the sampler logs it and tries another entry
     */
    float[] load(ManifestEntry entry, double offsetSec, double durationSec) throws Exception;
  }

  /** One sampled noise: {@code audio_len} samples and NeMo's {@code noise_len}. */
  public static final class Noise {
    private final float[] samples;
    private final int length;
    private final ManifestEntry entry;
    private final int failedLoads;
    private final OptionalInt whiteNoiseDb;

    Noise(
        float[] samples,
        int length,
        ManifestEntry entry,
        int failedLoads,
        OptionalInt whiteNoiseDb) {
      this.samples = samples;
      this.length = length;
      this.entry = entry;
      this.failedLoads = failedLoads;
      this.whiteNoiseDb = whiteNoiseDb;
    }

    /** Exactly audio_len samples (zero-padded or truncated); not copied. */
    public float[] samples() {
      return samples;
    }

    /** NeMo's {@code noise_len}: samples read, at most audio_len (audio_len for the all-zeros fallbacks). */
    public int length() {
      return length;
    }

    /** The entry used, or null (no entries, or every attempt failed). */
    public ManifestEntry entry() {
      return entry;
    }

    /** Loads that threw before this result. */
    public int failedLoads() {
      return failedLoads;
    }

    /** The white-noise level in dB when the read samples summed to 0 and white noise was added. */
    public OptionalInt whiteNoiseDb() {
      return whiteNoiseDb;
    }
  }

  private final List<ManifestEntry> entries;
  private final int sampleRate;
  private final Loader loader;

  /**
   * @param entries the noise manifest's entries (e.g. {@code ManifestReader.unfiltered(conf).read(...)});
   *     empty means no noise
   * @param sampleRate the rate the loader delivers (16000)
   */
  public NoiseSampler(List<ManifestEntry> entries, int sampleRate, Loader loader) {
    this.entries = List.copyOf(Objects.requireNonNull(entries, "entries"));
    if (sampleRate <= 0) {
      throw new IllegalArgumentException("sample rate must be positive: " + sampleRate);
    }
    this.sampleRate = sampleRate;
    this.loader = Objects.requireNonNull(loader, "loader");
  }

  /** A sampler that reads the entries' audio through Hadoop FS ({@link #audioLoader}). */
  public static NoiseSampler withAudio(
      List<ManifestEntry> entries, int sampleRate, Configuration hadoopConf) {
    return new NoiseSampler(entries, sampleRate, audioLoader(hadoopConf, sampleRate));
  }

  /** Reads with {@link AudioSegment#load}, resampling to {@code sampleRate}; serializable. */
  public static Loader audioLoader(Configuration hadoopConf, int sampleRate) {
    SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);
    return (entry, offsetSec, durationSec) ->
        AudioSegment.load(entry.audioPath(), conf.get(), offsetSec, durationSec, sampleRate)
            .samples();
  }

  public int size() {
    return entries.size();
  }

  public boolean isEmpty() {
    return entries.isEmpty();
  }

  public int sampleRate() {
    return sampleRate;
  }

  /** {@link #sample(int, SplittableRandom)} with {@code new SplittableRandom(seed)}. */
  public Noise sample(int audioLen, long seed) {
    return sample(audioLen, new SplittableRandom(seed));
  }

  /** The noise for an utterance of {@code audioLen} samples (see the class comment). */
  public Noise sample(int audioLen, SplittableRandom rng) {
    if (audioLen < 0) {
      throw new IllegalArgumentException("audio length must be >= 0: " + audioLen);
    }
    Objects.requireNonNull(rng, "rng");
    if (entries.isEmpty()) {
      return new Noise(new float[audioLen], audioLen, null, 0, OptionalInt.empty());
    }
    int failed = 0;
    while (failed < MAX_TRIALS) {
      ManifestEntry entry = entries.get(rng.nextInt(entries.size()));
      try {
        return load(entry, audioLen, rng, failed);
      } catch (Exception e) {
        failed++;
        LOG.warn(
            "Error loading noise audio {} ({}), attempt {} of {}",
            entry,
            e.toString(),
            failed,
            MAX_TRIALS);
      }
    }
    LOG.warn("Failed to load noise audio after {} attempts, using zero noise", MAX_TRIALS);
    return new Noise(new float[audioLen], audioLen, null, failed, OptionalInt.empty());
  }

  private Noise load(ManifestEntry entry, int audioLen, SplittableRandom rng, int failed)
      throws Exception {
    double maxDur = (double) audioLen / sampleRate;
    Double duration = entry.duration();
    float[] samples;
    if (duration != null && duration > maxDur) {
      samples = null;
      for (int trial = 0; trial < MAX_SEGMENT_TRIALS; trial++) {
        double offset =
            (duration - maxDur) * rng.nextDouble(); // np.random.uniform(0, duration − max_dur)
        samples = loaded(loader.load(entry, offset, maxDur), entry);
        if (signedSum(samples) > 0f) {
          break;
        }
      }
    } else {
      samples =
          loaded(loader.load(entry, entry.offset(), duration == null ? 0.0 : duration), entry);
    }
    OptionalInt db = OptionalInt.empty();
    if (signedSum(samples) == 0f) {
      int level = MIN_WHITE_NOISE_DB + rng.nextInt(MAX_WHITE_NOISE_DB - MIN_WHITE_NOISE_DB);
      double amp = StrictMath.pow(10.0, level / 20.0);
      samples = samples.clone();
      for (int i = 0; i < samples.length; i++) {
        samples[i] = (float) (samples[i] + rng.nextGaussian() * amp);
      }
      db = OptionalInt.of(level);
      LOG.warn("Loaded noise audio is empty: {}; adding white noise at {} dB", entry, level);
    }
    int n = samples.length;
    float[] out = new float[audioLen];
    System.arraycopy(samples, 0, out, 0, Math.min(n, audioLen));
    return new Noise(out, Math.min(n, audioLen), entry, failed, db);
  }

  private static float[] loaded(float[] samples, ManifestEntry entry) {
    if (samples == null) {
      throw new IllegalStateException("loader returned null for " + entry);
    }
    return samples;
  }

  /** Python's {@code sum()} over a float32 array: a float32 running sum from 0. */
  static float signedSum(float[] samples) {
    float s = 0f;
    for (float v : samples) {
      s += v;
    }
    return s;
  }

  @Override
  public String toString() {
    return "NoiseSampler(" + entries.size() + " entries, " + sampleRate + " Hz)";
  }
}
