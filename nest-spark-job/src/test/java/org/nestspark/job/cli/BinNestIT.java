package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.job.testkit.BinNest;
import org.nestspark.testkit.Golden;

/** bin/nest as users run it, in a separate JVM, including under LANG=C with non-ASCII file names. */
class BinNestIT {
  static final Path REPO = BinNest.repo();

  static Process start(Map<String, String> env, String... args) throws Exception {
    return BinNest.start(env, args);
  }

  static String waitFor(Process p) throws Exception {
    return BinNest.waitFor(p);
  }

  @Test
  void nonAsciiFileNamesWorkUnderLangC(@TempDir Path dir) throws Exception {
    Path data = Files.createDirectories(dir.resolve("donn\u00e9es #1"));
    try (InputStream in = Golden.open("features/wav/speech_1s.wav")) {
      Files.copy(in, data.resolve("caf\u00e9 + %41 \u00fcber \u65e5\u672c.wav"));
    }
    Files.writeString(
        data.resolve("manifest.json"),
        "{\"audio_filepath\": \"caf\u00e9 + %41 \u00fcber \u65e5\u672c.wav\", \"duration\": 1.0}\n");
    Path out = dir.resolve("sortie \u00e9");
    Process p =
        start(
            Map.of("LANG", "C", "LC_ALL", "C"),
            "featurize",
            "--manifest",
            data.resolve("manifest.json").toString(),
            "--out",
            out.toString(),
            "spark.master=local[1]");
    String log = waitFor(p);
    assertEquals(0, p.exitValue(), log);
    assertTrue(
        log.contains("featurized 1 utterance(s) (1 written, 0 already complete), skipped 0"), log);
    try (var files = Files.list(out)) {
      assertEquals(2, files.count(), "the .npy and features.json");
    }
  }

  @Test
  void usageAndConfigErrorsExitTwo() throws Exception {
    Process p = start(Map.of(), "config", "model.encoder.n_heads=7");
    String log = waitFor(p);
    assertEquals(2, p.exitValue(), log);
    assertTrue(log.contains("model.encoder.n_heads: 7 does not divide d_model 512"), log);
    Process ok =
        start(
            Map.of(),
            "config",
            "--config",
            REPO.resolve("conf/nest-small.conf").toString(),
            "--json");
    String json = waitFor(ok);
    assertEquals(0, ok.exitValue(), json);
    assertTrue(json.contains("\"d_model\":176"), json);
  }
}
