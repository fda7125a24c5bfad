package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.job.tensorboard.ObjectStoreLikeFileSystem;

/**
 * The metrics: one appended file per attempt ({@link MetricsLog}) and the reader's resume rule
 * ({@link MetricsReader}): after resumes every step is there exactly once, with the values of the attempt
 * that did it last; single-file runs of earlier versions still read.
 */
class MetricsLogTest {
  @TempDir Path dir;

  private static void train(MetricsLog log, long from, long to, double tag) {
    for (long s = from; s <= to; s += 5) {
      ObjectNode r = MetricsLog.record("train");
      r.put("step", s);
      r.put("train_loss", tag);
      log.add(r);
    }
  }

  private static List<Long> steps(List<JsonNode> records) {
    List<Long> out = new ArrayList<>();
    for (JsonNode r : records) {
      out.add(r.get("step").asLong());
    }
    return out;
  }

  @Test
  void afterTwoResumesEveryStepIsReadExactlyOnce() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    // attempt 1 logs steps 5..30, its last checkpoint is at 20; it dies
    MetricsLog a = new MetricsLog(fs, run);
    a.begin(1, -1);
    train(a, 5, 15, 1);
    a.flush();
    long sizeAfterFirstFlush = Files.size(dir.resolve("metrics/attempt-0001.jsonl"));
    train(a, 20, 30, 1);
    a.flush();
    assertTrue(
        Files.size(dir.resolve("metrics/attempt-0001.jsonl")) > sizeAfterFirstFlush,
        "appended and readable before close");
    a.close();
    // a torn last line (the process killed mid-write)
    Files.writeString(
        dir.resolve("metrics/attempt-0001.jsonl"),
        "{\"kind\":\"train\",\"step\":35,\"train_lo",
        StandardOpenOption.APPEND);
    assertEquals(1, MetricsReader.read(fs, run).lastAttempt());

    // attempt 2 resumes from 20, logs 25..40, checkpoint at 35; attempt 3 resumes from 35, logs
    // 40..50
    try (MetricsLog b = new MetricsLog(fs, run)) {
      b.begin(2, 20);
      train(b, 25, 40, 2);
    }
    try (MetricsLog c = new MetricsLog(fs, run)) {
      c.begin(3, 35);
      train(c, 40, 50, 3);
    }
    MetricsReader.Result r = MetricsReader.read(fs, run);
    assertEquals(3, r.lastAttempt());
    assertEquals(1, r.unreadableLines());
    List<JsonNode> t = r.ofKind("train");
    assertEquals(List.of(5L, 10L, 15L, 20L, 25L, 30L, 35L, 40L, 45L, 50L), steps(t));
    double[] expected = {1, 1, 1, 1, 2, 2, 2, 3, 3, 3};
    for (int i = 0; i < t.size(); i++) {
      assertEquals(
          expected[i], t.get(i).get("train_loss").asDouble(), "step " + t.get(i).get("step"));
    }
    List<JsonNode> attempts = r.ofKind(MetricsLog.ATTEMPT);
    assertEquals(3, attempts.size());
    assertEquals(35, attempts.get(2).get("resumed_from").asLong());
    // earlier attempts' files are never rewritten: attempt 1 still holds its steps 25 and 30
    assertTrue(Files.readString(dir.resolve("metrics/attempt-0001.jsonl")).contains("\"step\":30"));
  }

  @Test
  void theNotebooksPythonReaderKeepsTheSameRecords() throws Exception {
    Path python = Path.of("/usr/bin/python3");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(python), "no /usr/bin/python3");
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    Files.writeString(
        dir.resolve("metrics.jsonl"),
        "{\"kind\":\"train\",\"step\":5}\n{\"kind\":\"train\",\"step\":10}\n");
    try (MetricsLog a = new MetricsLog(fs, run)) {
      a.begin(1, 5);
      train(a, 10, 30, 1);
    }
    try (MetricsLog b = new MetricsLog(fs, run)) {
      b.begin(2, 20);
      train(b, 25, 35, 2);
    }
    Files.writeString(
        dir.resolve("metrics/attempt-0002.jsonl"), "{\"kind\":\"tra", StandardOpenOption.APPEND);
    Process p =
        new ProcessBuilder(
                python.toString(),
                PretrainJobTest.REPO.resolve("notebooks/nest_metrics.py").toString(),
                dir.toString())
            .redirectErrorStream(true)
            .start();
    String out =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    assertEquals(0, p.waitFor(), out);
    JsonNode py = MetricsLog.JSON.readTree(out);
    MetricsReader.Result java = MetricsReader.read(fs, run);
    List<Long> pySteps = new ArrayList<>();
    py.get("train_steps").forEach(n -> pySteps.add(n.asLong()));
    assertEquals(List.of(5L, 10L, 15L, 20L, 25L, 30L, 35L), pySteps);
    assertEquals(steps(java.ofKind("train")), pySteps);
    assertEquals(java.records().size(), py.get("records").asInt());
    assertEquals(java.unreadableLines(), py.get("unreadable").asInt());
  }

  @Test
  void aSingleFileRunOfEarlierVersionsReadsAndContinues() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    Files.writeString(
        dir.resolve("metrics.jsonl"),
        "{\"kind\":\"train\",\"step\":5,\"train_loss\":9}\n"
            + "{\"kind\":\"val\",\"step\":10,\"val_loss\":8}\n{\"kind\":\"train\",\"step\":10,\"train_loss\":7}\n{\"kind\":\"train\",\"step\":15,\"train_loss\":6}\n");
    MetricsReader.Result old = MetricsReader.read(fs, run);
    assertEquals(0, old.lastAttempt());
    assertEquals(List.of(5L, 10L, 15L), steps(old.ofKind("train")));
    try (MetricsLog b = new MetricsLog(fs, run)) {
      b.begin(old.lastAttempt() + 1, 10);
      train(b, 15, 20, 4);
    }
    MetricsReader.Result r = MetricsReader.read(fs, run);
    assertEquals(List.of(5L, 10L, 15L, 20L), steps(r.ofKind("train")));
    assertEquals(4, r.ofKind("train").get(2).get("train_loss").asDouble());
    assertEquals(1, r.ofKind("val").size());
  }

  @Test
  void withoutHflushEachCheckpointClosesAPart() throws Exception {
    FileSystem fs =
        new ObjectStoreLikeFileSystem(
            FileSystem.getLocal(new Configuration(false)).getRawFileSystem());
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    try (MetricsLog log = new MetricsLog(fs, run)) {
      log.begin(1, -1);
      train(log, 5, 10, 1);
      log.beforeCheckpoint();
      assertEquals("attempt-0001-part-0001.jsonl", log.file().getName());
      // what the checkpoint covers is in the closed part
      assertEquals(3, Files.readAllLines(dir.resolve("metrics/attempt-0001.jsonl")).size());
      train(log, 15, 20, 1);
      log.beforeCheckpoint();
      train(log, 25, 25, 1);
    }
    assertTrue(Files.exists(dir.resolve("metrics/attempt-0001-part-0002.jsonl")));
    assertEquals(
        List.of(5L, 10L, 15L, 20L, 25L), steps(MetricsReader.read(fs, run).ofKind("train")));
  }
}
