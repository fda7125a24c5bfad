package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.testkit.StandaloneCluster;
import org.nestspark.testkit.Golden;

/**
 * featurize and extract on a real Spark standalone cluster (master and two workers as separate JVMs, started by
 * {@code deploy/standalone/cluster.sh} from Maven's Spark jars, the job submitted with
 * {@code deploy/standalone/submit.sh} and the shaded jar) while one executor JVM is killed with SIGKILL mid-job
 * (issue 16 item 3). "Mid-job" is a real event: a quarter of the outputs exist in the output folder. Spark's
 * own event log shows the tasks lost with the executor and their reruns; the output folder holds every
 * output complete and once: features.json has one line per readable input line, in input order, every .npy
 * parses with its shape, no temporary file or part is left.
 */
class ExecutorLossIT {
  static final Path WORK = StandaloneCluster.REPO.resolve("nest-spark-job/target/it-outputs");
  private static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final StandaloneCluster CLUSTER = new StandaloneCluster("it-cluster-outputs", 2, 1, "2g");

  @BeforeAll
  static void emptyWork() throws IOException {
    StandaloneCluster.emptyDir(WORK);
  }

  private static Process submit(Path log, Path eventLog, String... nest) throws IOException {
    return CLUSTER
        .submit(eventLog, List.of(), List.of(nest))
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  private static List<ProcessHandle> executors() throws IOException {
    return CLUSTER.executors();
  }

  private static long npyFiles(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> files = Files.list(dir)) {
      return files
          .filter(
              f ->
                  f.getFileName().toString().endsWith(".npy")
                      && !f.getFileName().toString().startsWith("."))
          .count();
    }
  }

  /** Waits until a quarter of {@code total} outputs exist (and both executors run), then SIGKILLs one executor. */
  private static void killAnExecutorMidJob(Process p, Path out, int total) throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
    while (npyFiles(out) < total / 4 || executors().size() < 2) {
      assertTrue(p.isAlive(), "the job ended before a quarter of its outputs were written");
      assertTrue(System.nanoTime() < end, "timed out waiting for a quarter of the outputs");
      Thread.sleep(100);
    }
    long written = npyFiles(out);
    assertTrue(written < total, "the job was not mid-way: " + written + " of " + total);
    assertTrue(executors().get(0).destroyForcibly(), "SIGKILL an executor");
  }

  /** Tasks of the event log that failed because their executor was lost, and whether each ran again and succeeded. */
  private static void assertLostTasksWereRerun(Path eventLogDir) throws IOException {
    List<Path> logs;
    try (Stream<Path> files = Files.list(eventLogDir)) {
      logs =
          files
              .filter(f -> !f.getFileName().toString().endsWith(".inprogress"))
              .collect(Collectors.toList());
    }
    assertEquals(1, logs.size(), "one finished event log: " + logs);
    Set<String> lost = new HashSet<>();
    Set<String> succeeded = new HashSet<>();
    int removed = 0;
    for (String line : Files.readAllLines(logs.get(0))) {
      JsonNode e = JSON.readTree(line);
      String kind = e.path("Event").asText();
      if (kind.equals("SparkListenerExecutorRemoved")) {
        removed++;
      } else if (kind.equals("SparkListenerTaskEnd")) {
        String task =
            e.path("Stage ID").asText() + "/" + e.path("Task Info").path("Index").asText();
        String reason = e.path("Task End Reason").path("Reason").asText();
        if (reason.equals("ExecutorLostFailure")) {
          lost.add(task);
        } else if (reason.equals("Success")) {
          succeeded.add(task);
        }
      }
    }
    assertTrue(removed >= 1, "Spark removed the killed executor");
    assertFalse(lost.isEmpty(), "a task was running on the killed executor");
    assertTrue(
        succeeded.containsAll(lost), "every lost task ran again and succeeded: lost " + lost);
  }

  /** Checks the output folder: returns nothing, fails on a missing, doubled, half-written or left-over file. */
  private static void assertOutputsCompleteAndOnce(Path out, int good, int[] shapeHead)
      throws IOException {
    List<JsonNode> lines = new ArrayList<>();
    for (String l : Files.readAllLines(out.resolve("features.json"))) {
      lines.add(JSON.readTree(l));
    }
    assertEquals(
        IntStream.range(0, good).boxed().collect(Collectors.toList()),
        lines.stream().map(l -> l.get("n").asInt()).collect(Collectors.toList()),
        "each utterance once, in input order");
    Set<String> listed =
        lines.stream()
            .map(l -> Path.of(l.get("feature_path").asText()).getFileName().toString())
            .collect(Collectors.toSet());
    assertEquals(good, listed.size());
    List<Path> files;
    try (Stream<Path> s = Files.list(out)) {
      files = s.collect(Collectors.toList());
    }
    int npy = 0;
    for (Path f : files) {
      String name = f.getFileName().toString();
      assertFalse(name.startsWith(".") || name.equals(ManifestParts.DIR), "left behind: " + f);
      if (name.endsWith(".npy")) {
        npy++;
        assertTrue(listed.contains(name), "features.json does not list " + name);
        NpyArray a = Npy.read(f);
        for (int d = 0; d < shapeHead.length; d++) {
          assertEquals(shapeHead[d], a.dim(d), name);
        }
      } else {
        assertTrue(
            name.equals("features.json") || name.equals("skipped.txt"), "unexpected output " + f);
      }
    }
    assertEquals(good, npy);
  }

  /** {@code good} one-second utterances (8 WAV files, each listed many times) and 3 missing files; numbered by "n". */
  private static Path corpus(String name, int good) throws IOException {
    Path dir = Files.createDirectories(WORK.resolve(name));
    byte[] wav;
    try (var in = Golden.open("features/wav/speech_1s.wav")) {
      wav = in.readAllBytes();
    }
    for (int k = 0; k < 8; k++) {
      Files.write(dir.resolve("u" + k + ".wav"), wav);
    }
    StringBuilder m = new StringBuilder();
    for (int i = 0; i < good; i++) {
      m.append("{\"audio_filepath\": \"u")
          .append(i % 8)
          .append(".wav\", \"duration\": 1.0, \"n\": ")
          .append(i)
          .append("}\n");
      if (i % (good / 3) == good / 6) {
        m.append("{\"audio_filepath\": \"missing").append(i).append(".wav\", \"duration\": 1.0}\n");
      }
    }
    Path manifest = dir.resolve("manifest.json");
    Files.writeString(manifest, m);
    return manifest;
  }

  private static void runWithAnExecutorKilled(
      String job, Path manifest, Path out, int good, int[] shapeHead, String... nest)
      throws Exception {
    Path log = WORK.resolve(job + ".log");
    Path events = WORK.resolve(job + "-events");
    Process p = submit(log, events, nest);
    try {
      killAnExecutorMidJob(p, out, good);
      assertTrue(p.waitFor(420, TimeUnit.SECONDS), "the job finishes");
      String text = Files.readString(log);
      assertEquals(0, p.exitValue(), text);
      Matcher m =
          Pattern.compile(
                  "(\\d+) utterance\\(s\\) \\((\\d+) written, (\\d+) already complete\\), skipped (\\d+)")
              .matcher(text);
      assertTrue(m.find(), text);
      assertEquals(good, Integer.parseInt(m.group(1)), m.group());
      assertEquals(3, Integer.parseInt(m.group(4)), "the 3 missing files: " + m.group());
      assertEquals(3, Files.readAllLines(out.resolve("skipped.txt")).size());
      assertOutputsCompleteAndOnce(out, good, shapeHead);
      assertLostTasksWereRerun(events);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void featurizeSurvivesTheLossOfAnExecutor() throws Exception {
    Path manifest = corpus("featurize-corpus", 320);
    Path out = WORK.resolve("featurize-out");
    runWithAnExecutorKilled(
        "featurize",
        manifest,
        out,
        320,
        new int[] {80, 100},
        "featurize",
        "--manifest",
        manifest.toString(),
        "--out",
        out.toString(),
        "featurize.num_partitions=16",
        "featurize.progress_interval_seconds=5");
  }

  @Test
  void extractSurvivesTheLossOfAnExecutor() throws Exception {
    Path manifest = corpus("extract-corpus", 96);
    Path model = WORK.resolve("tiny.nemo");
    try (var in = Golden.open("nemo/tiny_gz.nemo")) {
      Files.copy(in, model, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    Path out = WORK.resolve("extract-out");
    runWithAnExecutorKilled(
        "extract",
        manifest,
        out,
        96,
        new int[] {2, 64},
        "extract",
        "--model",
        model.toString(),
        "--input",
        manifest.toString(),
        "--output",
        out.toString(),
        "extract.batch_size=4",
        "extract.num_partitions=12",
        "extract.progress_interval_seconds=5");
  }
}
