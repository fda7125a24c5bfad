package org.nestspark.job.featurize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.io.Npy;
import org.nestspark.job.spark.ManifestParts;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.testkit.Golden;

/**
 * No driver funnel (issue 12): the featurize tasks write features.json's parts and return only counts; a task
 * attempt that fails after writing its part is retried (Spark local[2,3]: 3 attempts) and every utterance is
 * still in features.json exactly once, in manifest order, and counted once.
 */
class FeaturizeFunnelTest {
  private static JavaSparkContext sc;
  private static final Tasks TASKS = new Tasks();

  @TempDir static Path dir;

  /** Every finished task attempt: stage, partition, attempt, success, result bytes sent to the driver. */
  static final class Tasks extends SparkListener {
    record End(int stage, int partition, int attempt, boolean ok, long resultBytes) {}

    final List<End> ends = java.util.Collections.synchronizedList(new ArrayList<>());

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      ends.add(
          new End(
              e.stageId(),
              e.taskInfo().index(),
              e.taskInfo().attemptNumber(),
              e.taskInfo().successful(),
              e.taskMetrics() == null ? -1 : e.taskMetrics().resultSize()));
    }

    List<End> since(int from) {
      synchronized (ends) {
        return List.copyOf(ends.subList(from, ends.size()));
      }
    }
  }

  @BeforeAll
  static void start() {
    sc = SparkContexts.create(config(4, false), "featurize-funnel-test");
    sc.sc().addSparkListener(TASKS);
  }

  @AfterAll
  static void stop() {
    ManifestParts.afterPartWritten = null;
    if (sc != null) {
      sc.close();
    }
  }

  static NestConfig config(int partitions, boolean overwrite) {
    return NestConfig.load(
        List.of(),
        List.of(
            "spark.master=local[2,3]",
            "featurize.num_partitions=" + partitions,
            "featurize.overwrite=" + overwrite,
            "featurize.progress_interval_seconds=0"),
        new Configuration(false));
  }

  /**
   * A manifest of {@code good} one-second WAVs; after every {@code missingEvery}-th, {@code missing} entries of
   * files that do not exist.
   */
  static Path corpus(String name, int good, int missingEvery, int missing) throws Exception {
    Path data = Files.createDirectories(dir.resolve(name));
    byte[] wav;
    try (var in = Golden.open("features/wav/speech_1s.wav")) {
      wav = in.readAllBytes();
    }
    StringBuilder m = new StringBuilder();
    for (int i = 0; i < good; i++) {
      Files.write(data.resolve("u" + i + ".wav"), wav);
      m.append("{\"audio_filepath\": \"u")
          .append(i)
          .append(".wav\", \"duration\": 1.0, \"n\": ")
          .append(i)
          .append("}\n");
      for (int k = 0; i % missingEvery == missingEvery - 1 && k < missing; k++) {
        m.append("{\"audio_filepath\": \"gone")
            .append(i)
            .append(k > 0 ? "_" + k : "")
            .append(".wav\", \"duration\": 1.0}\n");
      }
    }
    Path manifest = data.resolve("manifest.json");
    Files.writeString(manifest, m);
    return manifest;
  }

  static FeaturizeReport run(Path manifest, Path out, NestConfig c) throws Exception {
    PrintStream log = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
    return FeaturizeJob.run(sc, c, List.of(manifest.toString()), out.toString(), log);
  }

  static List<JsonNode> lines(Path p) throws Exception {
    return FeaturizeCommandTest.readJsonLines(p);
  }

  @Test
  void aTaskThatFailsAfterWritingItsPartIsRetriedAndEveryUtteranceIsInFeaturesJsonOnce()
      throws Exception {
    Path manifest = corpus("retry", 24, 8, 1);
    Path out = dir.resolve("retry-out");
    Map<Integer, Integer> failed = new ConcurrentHashMap<>();
    ManifestParts.afterPartWritten =
        task -> {
          // partition 1's first attempt dies after its part (and its .npy files) are written
          if (task.partitionId() == 1 && task.attemptNumber() == 0) {
            failed.merge(1, 1, Integer::sum);
            throw new IllegalStateException("test: task attempt fails once after writing its part");
          }
        };
    int from = TASKS.ends.size();
    FeaturizeReport r;
    try {
      r = run(manifest, out, config(4, false));
    } finally {
      ManifestParts.afterPartWritten = null;
    }
    assertEquals(Map.of(1, 1), failed, "the hook failed exactly one attempt");
    List<Tasks.End> ends = TASKS.since(from);
    assertTrue(
        ends.stream().anyMatch(e -> e.partition() == 1 && e.attempt() == 0 && !e.ok()),
        ends.toString());
    assertTrue(
        ends.stream().anyMatch(e -> e.partition() == 1 && e.attempt() == 1 && e.ok()),
        "Spark reran partition 1: " + ends);

    // counted once: the retried attempt finds its utterances' .npy complete (already complete),
    // none lost or doubled
    assertEquals(24, r.featurized(), "written " + r.written + ", existing " + r.existing);
    assertTrue(
        r.existing > 0 && r.existing < 24,
        "the rerun partition's outputs were kept: " + r.existing);
    assertEquals(3, r.skippedCount);
    assertEquals(3, r.skipped.size());
    assertTrue(
        r.skipped.get(0).where().contains("manifest.json:9")
            && r.skipped.get(0).reason().toLowerCase().contains("no such file"),
        r.skipped.get(0).toString());

    List<JsonNode> feats = lines(out.resolve("features.json"));
    List<Integer> order = feats.stream().map(f -> f.get("n").asInt()).collect(Collectors.toList());
    assertEquals(
        java.util.stream.IntStream.range(0, 24).boxed().collect(Collectors.toList()),
        order,
        "each utterance once, in manifest order");
    assertEquals(
        24,
        new HashSet<>(
                feats.stream()
                    .map(f -> f.get("feature_path").asText())
                    .collect(Collectors.toList()))
            .size());
    for (JsonNode f : feats) {
      assertEquals(100, Npy.read(Path.of(f.get("feature_path").asText())).dim(1));
    }
    List<String> skipped = Files.readAllLines(out.resolve("skipped.txt"));
    assertEquals(3, skipped.size());
    assertTrue(
        skipped.get(2).contains("manifest.json:27: ") && skipped.get(2).contains("gone23.wav"),
        skipped.get(2));
    try (Stream<Path> files = Files.list(out)) {
      assertEquals(
          List.of(),
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.startsWith(".") || n.equals(ManifestParts.DIR))
              .collect(Collectors.toList()),
          "no parts folder and no temporary file left");
    }
  }

  @Test
  void theDriverReceivesCountsOfABoundedSizeWhateverTheNumberOfUtterances() throws Exception {
    long[] maxResult = new long[2];
    long[] partBytes = new long[2];
    int[] good = {40, 320};
    for (int k = 0; k < 2; k++) {
      // 3 missing files after each good one: more skips per partition than the summary keeps as
      // examples
      Path manifest = corpus("bounded" + good[k], good[k], 1, 3);
      int from = TASKS.ends.size();
      Path out = dir.resolve("bounded-out" + good[k]);
      FeaturizeReport r = run(manifest, out, config(2, true));
      assertEquals(good[k], r.written);
      assertEquals(3L * good[k], r.skippedCount);
      assertEquals(
          org.nestspark.job.spark.PartSummary.MAX_EXAMPLES,
          r.skipped.size(),
          "examples are capped, counts are not");
      assertEquals(
          3L * good[k],
          Files.readAllLines(out.resolve("skipped.txt")).size(),
          "every skip is listed beside features.json");
      List<Tasks.End> ends = TASKS.since(from);
      assertEquals(2, ends.size(), "one task per partition: " + ends);
      maxResult[k] = ends.stream().mapToLong(Tasks.End::resultBytes).max().orElseThrow();
      partBytes[k] =
          (Files.size(out.resolve("features.json")) + Files.size(out.resolve("skipped.txt"))) / 2;
    }
    System.out.printf(
        "FeaturizeFunnelTest: largest task result %d bytes (%d utterances + %d skips, 2 tasks), %d bytes (%d + %d); "
            + "features.json + skipped.txt per task %d and %d bytes%n",
        maxResult[0],
        good[0],
        3 * good[0],
        maxResult[1],
        good[1],
        3 * good[1],
        partBytes[0],
        partBytes[1]);
    // 8x the utterances and skips: the bytes a task sends to the driver stay the same, up to the
    // digits of the
    // line numbers and names in its capped examples
    assertTrue(
        Math.abs(maxResult[1] - maxResult[0]) < 400,
        "result bytes per task: "
            + maxResult[0]
            + " for "
            + good[0]
            + " utterances, "
            + maxResult[1]
            + " for "
            + good[1]);
    assertTrue(
        maxResult[1] * 4 < partBytes[1],
        "a task's result is far smaller than its part of the outputs: "
            + maxResult[1]
            + " vs "
            + partBytes[1]);
    assertFalse(Files.exists(dir.resolve("bounded-out320").resolve(ManifestParts.DIR)));
  }
}
