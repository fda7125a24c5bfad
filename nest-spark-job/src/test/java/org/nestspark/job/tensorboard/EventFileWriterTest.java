package org.nestspark.job.tensorboard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Event files: the protobuf bytes of a scalar Event, the TFRecord framing and CRCs, names, rolling and resume purging. */
class EventFileWriterTest {
  @TempDir Path dir;

  @Test
  void aScalarEventHasTheProtobufWireBytes() {
    // Event{wall_time=0 (field 1, fixed64), step=3 (2, varint), summary (5) {value (1) {tag="a"
    // (1), simple_value=1.0f (2, fixed32)}}}
    byte[] e = EventProtos.scalars(0.0, 3, Map.of("a", 1.0));
    assertEquals(
        "09" + "0000000000000000" + "1003" + "2a0a" + "0a08" + "0a0161" + "150000803f",
        HexFormat.of().formatHex(e));
  }

  @Test
  void recordsAreFramedWithMaskedCrc32c() throws IOException {
    // CRC32C's check value (RFC 3720): crc32c("123456789") = 0xe3069283
    byte[] nine = "123456789".getBytes(StandardCharsets.US_ASCII);
    assertEquals(
        Integer.rotateRight(0xe3069283, 15) + 0xa282ead8, TfRecords.maskedCrc32c(nine, 0, 9));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    TfRecords.write(out, nine);
    byte[] b = out.toByteArray();
    assertEquals(8 + 4 + 9 + 4, b.length);
    assertEquals("0900000000000000", HexFormat.of().formatHex(b, 0, 8));
    Path f = Files.write(dir.resolve("r.tfrecord"), b);
    assertArrayEquals(nine, EventFileReader.records(f).get(0));
    b[14] ^= 1; // one bit of the data
    Files.write(f, b);
    IOException bad = assertThrows(IOException.class, () -> EventFileReader.records(f));
    assertTrue(bad.getMessage().contains("data CRC mismatch"), bad.getMessage());
  }

  @Test
  void writesANamedFileThatReadsBackAndAResumeDropsLaterSteps() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    try (EventFileWriter w = new EventFileWriter(fs, run, "host-1", 4242, 1)) {
      assertTrue(
          w.file().getName().matches("events\\.out\\.tfevents\\.\\d{10}\\.host-1\\.4242\\.1"),
          w.file().getName());
      assertTrue(w.visibleOnFlush(), "local files hflush");
      w.sessionStart(0, "attempt 1");
      for (long s = 1; s <= 4; s++) {
        w.scalars(s, scalar("train_loss", 10.0 - s));
      }
      w.flush();
      // readable before close
      assertEquals(6, EventFileReader.events(Path.of(w.file().toUri())).size());
    }
    // the second attempt resumed from step 2: its START at 3 drops steps 3 and 4 of the first
    try (EventFileWriter w = new EventFileWriter(fs, run, "host-1", 4243, 2)) {
      w.sessionStart(3, "attempt 2 resumed from step 2");
      w.scalars(3, scalar("train_loss", 0.5));
    }
    List<Path> files;
    try (var s = Files.list(dir)) {
      files = s.sorted().toList();
    }
    assertEquals(2, files.size());
    EventFileReader.Event first = EventFileReader.events(files.get(0)).get(0);
    assertEquals("brain.Event:2", first.fileVersion());
    assertTrue(
        Math.abs(first.wallTime() - System.currentTimeMillis() / 1000.0) < 600,
        "wall time in seconds");
    TreeMap<Long, Float> loss = EventFileReader.scalarsWithPurge(files).get("train_loss");
    assertEquals(Map.of(1L, 9f, 2L, 8f, 3L, 0.5f), loss);
  }

  @Test
  void withoutHflushRollingClosesTheFileAndContinuesInOneThatSortsAfterIt() throws Exception {
    FileSystem local = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    try (EventFileWriter w = new EventFileWriter(local, run, "h", 1, 1)) {
      String before = w.file().getName();
      w.roll(); // local files hflush: the same file goes on
      assertEquals(before, w.file().getName());
    }
    Path objects = Files.createDirectories(dir.resolve("objects"));
    FileSystem store = new ObjectStoreLikeFileSystem(local);
    try (EventFileWriter w =
        new EventFileWriter(store, new org.apache.hadoop.fs.Path(objects.toUri()), "h", 1, 1)) {
      assertTrue(!w.visibleOnFlush());
      w.scalars(1, scalar("train_loss", 3.0));
      String first = w.file().getName();
      w.roll();
      String second = w.file().getName();
      assertTrue(second.compareTo(first) > 0, first + " then " + second);
      w.scalars(2, scalar("train_loss", 2.0));
      // the closed part holds its events completely
      assertEquals(2, EventFileReader.events(objects.resolve(first)).size());
    }
    List<Path> parts;
    try (var s = Files.list(objects)) {
      parts = s.sorted().toList();
    }
    assertEquals(Map.of(1L, 3f, 2L, 2f), EventFileReader.scalarsWithPurge(parts).get("train_loss"));
  }

  private static Map<String, Double> scalar(String tag, double v) {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put(tag, v);
    return m;
  }
}
