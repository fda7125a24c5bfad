package org.nestspark.job.featurize;

import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.config.NestConfig;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;

/**
 * Turns one manifest entry into its log-mel features on an executor: loads {@code [offset,
 * offset+duration)} of the audio (down-mixed and resampled to {@code model.sample_rate} unless
 * {@code data.downmix} / {@code data.resample} say not to, in which case such files are skipped with
 * the reason), computes {@link FilterbankFeatures} in eval mode as a batch of one, and cuts the result
 * to the valid frames. Not thread-safe: one per task.
 */
final class UtteranceFeaturizer {
  private final FilterbankFeatures features;
  private final UtteranceLoader loader;

  UtteranceFeaturizer(NestConfig config) {
    this.features = new FilterbankFeatures(config.settings().preprocessor());
    this.loader = UtteranceLoader.of(config.settings());
  }

  int numFeatures() {
    return features.params().features();
  }

  /** Features {@code [F, T_valid]} of one entry. */
  Result featurize(ManifestEntry e, Configuration hadoopConf) throws AudioException {
    String name = NestPaths.display(e.audioPath());
    AudioSegment seg = loader.load(e, hadoopConf);
    if (seg.numSamples() == 0) {
      throw new AudioException(name, "no audio samples in the selected segment");
    }
    FeatureBatch b = features.computeSingle(seg.samples());
    int f = b.numFeatures();
    int valid = b.length(0);
    int t = b.numFrames();
    float[] all = b.data();
    float[] out = new float[f * valid];
    for (int i = 0; i < f; i++) {
      System.arraycopy(all, i * t, out, i * valid, valid);
    }
    for (float v : out) {
      if (!Float.isFinite(v)) {
        throw new AudioException(name, "features are not finite (NaN or infinity)");
      }
    }
    return new Result(out, f, valid, seg.numSamples() / (double) loader.sampleRate());
  }

  /** Features of one utterance, row-major {@code [numFeatures, numFrames]}. */
  static final class Result {
    final float[] features;
    final int numFeatures;
    final int numFrames;
    final double audioSeconds;

    Result(float[] features, int numFeatures, int numFrames, double audioSeconds) {
      this.features = features;
      this.numFeatures = numFeatures;
      this.numFrames = numFrames;
      this.audioSeconds = audioSeconds;
    }
  }
}
