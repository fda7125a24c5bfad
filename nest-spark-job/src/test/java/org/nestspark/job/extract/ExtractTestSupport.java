package org.nestspark.job.extract;

import java.io.IOException;
import java.nio.file.Path;
import org.nestspark.io.NpyArray;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;
import org.nestspark.testkit.Golden;

/** Shared helpers of the extraction tests: the golden tiny model and WAVs (from nest-model's test jar), running {@code nest}. */
final class ExtractTestSupport {
  /** The golden WAVs with speech or tone (silence is compared elsewhere: NeMo normalises digital silence differently). */
  static final String[] SPEECH = {
    "speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "tone440_1p5s"
  };

  private ExtractTestSupport() {}

  static Run nest(String... args) {
    return Nest.local2(args);
  }

  /** The bytes of {@code golden/<rel>} ({@link Golden#bytes}). */
  static byte[] resource(String rel) {
    return Golden.bytes(rel);
  }

  /** {@code golden/<rel>} copied to {@code to} ({@link Golden#copy}). */
  static void copy(String rel, Path to) {
    Golden.copy(rel, to);
  }

  /** NeMo's tiny NEST model as written by NeMo (gzip tar). */
  static Path tinyNemo(Path dir) throws IOException {
    Path p = dir.resolve("tiny.nemo");
    copy("nemo/tiny_gz.nemo", p);
    return p;
  }

  /** NeMo's extract_features.py output for a golden WAV: [2, 64, T_valid]. */
  static NpyArray golden(String name) {
    return Golden.npy("extract/" + name + ".npy.gz");
  }

  static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      return Double.POSITIVE_INFINITY;
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }

  /** NeMo's output name for a local path. */
  static String npyName(Path audio) {
    return audio.toString().replace('/', '_').replace('.', '_') + ".npy";
  }
}
