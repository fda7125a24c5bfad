package org.nestspark.manifest;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/**
 * Fuzz target of the manifest line parser (Jazzer; see {@code org.nestspark.audio.AudioFuzzTest} for the
 * two modes): the input is the bytes of a manifest, read line by line with duration bounds as training
 * sets them. A bad line must become a {@link ManifestProblem}; anything thrown is a finding.
 */
class ManifestFuzzTest {
  private static final ManifestReader READER =
      new ManifestReader(new Configuration(false), 0.5, 30.0);
  private static final Path MANIFEST = new Path("file:///fuzz/corpus/train_manifest.json");

  @FuzzTest(maxDuration = "30s")
  void manifest(byte[] data) throws IOException {
    List<ManifestEntry> entries = new ArrayList<>();
    List<ManifestProblem> problems = new ArrayList<>();
    READER.readLines(
        "train_manifest.json",
        MANIFEST,
        new ByteArrayInputStream(data),
        entries,
        problems,
        new int[1]);
    for (ManifestProblem p : problems) {
      if (p.line() < 1 || p.reason() == null || p.reason().isBlank()) {
        throw new AssertionError("a problem without a line or a reason: " + p);
      }
    }
  }
}
