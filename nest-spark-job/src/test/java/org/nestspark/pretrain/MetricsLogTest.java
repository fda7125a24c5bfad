package org.nestspark.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The metrics file: JSON Lines written whole, reloaded up to a step (what a resumed run does). */
class MetricsLogTest {
  @TempDir Path dir;

  @Test
  void aResumedRunKeepsRecordsUpToItsStep() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    MetricsLog log = new MetricsLog(fs, run);
    for (int s = 5; s <= 30; s += 5) {
      ObjectNode r = MetricsLog.record("train");
      r.put("step", s);
      r.put("train_loss", 10.0 / s);
      log.add(r);
    }
    log.flush();
    List<String> lines = Files.readAllLines(dir.resolve("metrics.jsonl"));
    assertEquals(6, lines.size());
    assertEquals("train", MetricsLog.JSON.readTree(lines.get(0)).get("kind").asText());
    Files.writeString(dir.resolve("metrics.jsonl"), "{\"kind\":\"train\",\"step\":35,\"train_lo", java.nio.file.StandardOpenOption.APPEND);

    MetricsLog again = new MetricsLog(fs, run);
    assertEquals(3, again.load(20)); // 25, 30 and the torn line are dropped
    assertEquals(4, again.records().size());
    assertEquals(20, again.records().get(3).get("step").asLong());
    again.flush();
    assertEquals(4, Files.readAllLines(dir.resolve("metrics.jsonl")).size());
  }
}
