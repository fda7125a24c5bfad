package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The metrics of a run written by nest-spark 0.1.0 ({@code compat/v0.1.0-metrics-attempt-0001.jsonl}, the same
 * run as the checkpoint fixture of nest-model's {@code CheckpointCompatibilityTest}) read in every later
 * version: record kinds, field names and values as a notebook or dashboard sees them. Never regenerate it.
 */
class MetricsCompatibilityTest {

  @Test
  void version010MetricsRead(@TempDir Path dir) throws Exception {
    Path metrics = Files.createDirectories(dir.resolve(MetricsReader.DIR));
    try (InputStream in =
        getClass().getResourceAsStream("/compat/v0.1.0-metrics-attempt-0001.jsonl")) {
      Files.copy(in, metrics.resolve("attempt-0001.jsonl"));
    }
    MetricsReader.Result r =
        MetricsReader.read(new org.apache.hadoop.fs.Path(dir.toUri()), new Configuration(false));
    assertEquals(0, r.unreadableLines());
    assertEquals(1, r.lastAttempt());
    assertEquals(12, r.records().size());
    assertEquals(1, r.ofKind("attempt").size());
    List<JsonNode> train = r.ofKind("train");
    assertEquals(List.of(1L, 2L, 3L, 4L), train.stream().map(n -> n.get("step").asLong()).toList());
    assertEquals(3.9011492362587012, train.get(0).get("train_loss").asDouble(), 0.0);
    assertEquals(3.4772047996520996, train.get(3).get("train_loss").asDouble(), 0.0);
    for (JsonNode n : train) {
      for (String f :
          List.of(
              "epoch",
              "masked_accuracy",
              "lr",
              "audio_seconds",
              "audio_seconds_per_second",
              "steps_per_second",
              "elapsed_s",
              "time")) {
        assertTrue(n.has(f), f + " in " + n);
      }
    }
    List<JsonNode> val = r.ofKind("val");
    assertEquals(List.of(2L, 4L), val.stream().map(n -> n.get("step").asLong()).toList());
    assertEquals(3.360835233204801, val.get(1).get("val_loss").asDouble(), 0.0);
    assertEquals(71, val.get(1).get("val_tokens").asInt());
    List<JsonNode> timing = r.ofKind("timing");
    assertEquals(4, timing.size());
    for (String f :
        List.of(
            "wall_s",
            "data_prep_s",
            "train_s",
            "averaging_s",
            "workers",
            "bytes_down",
            "bytes_up",
            "worker_starts",
            "worker_restarts",
            "task_reruns")) {
      assertTrue(timing.get(0).has(f), f);
    }
    JsonNode epoch = r.ofKind("epoch").get(0);
    assertEquals(7, epoch.get("batches").asInt());
    assertEquals(0, epoch.get("skipped_non_finite_steps").asInt());
  }
}
