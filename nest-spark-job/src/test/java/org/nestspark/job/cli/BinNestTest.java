package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** bin/nest as users run it, in a separate JVM, including under LANG=C with non-ASCII file names. */
class BinNestTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  static String classpath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isEmpty() ? cp : System.getProperty("java.class.path");
  }

  static Process start(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>();
    cmd.add(REPO.resolve("bin/nest").toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("NEST_CLASSPATH", classpath());
    pb.environment().put("NEST_DRIVER_MEMORY", "1g");
    pb.environment().putAll(env);
    return pb.start();
  }

  static String waitFor(Process p) throws Exception {
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(5, TimeUnit.MINUTES));
    return out;
  }

  @Test
  void nonAsciiFileNamesWorkUnderLangC(@TempDir Path dir) throws Exception {
    Path data = Files.createDirectories(dir.resolve("donn\u00e9es #1"));
    try (InputStream in =
        BinNestTest.class.getResourceAsStream("/golden/features/wav/speech_1s.wav")) {
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
