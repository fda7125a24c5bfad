package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The notebooks of {@code notebooks/} executed headless (Jupyter's nbconvert) on what the real jobs write:
 * {@code notebooks/make-sample-run.sh} pretrains the tiny preset on the bundled sample corpus and extracts
 * features with its last checkpoint through {@code bin/nest}, then {@code notebooks/run-notebooks.sh} runs
 * every notebook against that run. Needs Debian's jupyter-nbconvert, python3-ipykernel, python3-matplotlib
 * and python3-numpy ({@code bin/test} installs them).
 */
class NotebooksIT {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  private static String run(Path log, long timeoutSeconds, String... cmd) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(cmd)
            .directory(REPO.toFile())
            .redirectErrorStream(true)
            .redirectOutput(log.toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    assertTrue(p.waitFor(timeoutSeconds, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
    String out = Files.readString(log);
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + "\n" + out);
    return out;
  }

  @Test
  void everyNotebookRunsOnARealSampleRun() throws Exception {
    Path out = REPO.resolve("nest-spark-job/target/it-notebooks");
    if (Files.exists(out)) {
      try (java.util.stream.Stream<Path> files = Files.walk(out)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    Files.createDirectories(out);
    run(
        out.resolve("make-sample-run.log"),
        900,
        "bash",
        "notebooks/make-sample-run.sh",
        out.resolve("sample").toString());
    assertTrue(Files.exists(out.resolve("sample/exp/nest/preview/preview.json")));
    // four short runs of the strategy comparison on the sample (notebook 04's last section)
    String strategies =
        run(
            out.resolve("make-strategy-runs.log"),
            900,
            "bash",
            "notebooks/make-strategy-runs.sh",
            "deploy/sample",
            out.resolve("strategies").toString(),
            "12",
            "6");
    assertTrue(strategies.contains("diloco-h10: final val_loss"), strategies);
    String ran =
        run(
            out.resolve("run-notebooks.log"),
            900,
            "env",
            "NEST_STRATEGY_RUNS=" + out.resolve("strategies"),
            "bash",
            "notebooks/run-notebooks.sh",
            out.resolve("sample/exp/nest").toString(),
            out.resolve("sample/features").toString(),
            out.resolve("executed").toString());
    String executed04 = Files.readString(out.resolve("executed/04-throughput.ipynb"));
    assertTrue(
        executed04.contains("diloco-h50") && executed04.contains("MB moved"),
        "notebook 04 compared the strategies");
    List<String> notebooks;
    try (java.util.stream.Stream<Path> files = Files.list(REPO.resolve("notebooks"))) {
      notebooks =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.matches("\\d\\d-.*\\.ipynb"))
              .sorted()
              .toList();
    }
    assertEquals(4, notebooks.size(), notebooks.toString());
    for (String nb : notebooks) {
      assertTrue(ran.contains("ok     " + nb), ran);
      String executed = Files.readString(out.resolve("executed").resolve(nb));
      assertTrue(executed.contains("\"image/png\""), nb + " drew no figure");
      assertTrue(!executed.contains("\"output_type\": \"error\""), nb + " has an error output");
    }
  }
}
