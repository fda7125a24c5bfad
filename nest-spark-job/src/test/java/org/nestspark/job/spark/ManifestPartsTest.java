package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The parts of features.json: written per task, merged by id in bounded memory, checked for gaps and duplicates. */
class ManifestPartsTest {
  @TempDir java.nio.file.Path tmp;

  private final Configuration conf = new Configuration();

  private Path out() {
    return new Path(tmp.toUri());
  }

  private FileSystem fs() throws IOException {
    return out().getFileSystem(conf);
  }

  @Test
  void mergesInterleavedPartsInIdOrderThroughIntermediateGroups() throws Exception {
    int parts = ManifestParts.FAN_IN * 2 + 22; // three groups of parts, then a final merge of three
    String dir = ManifestParts.dir(out()).toUri().toString();
    for (int p = 0; p < parts; p++) {
      ManifestParts.Part part = new ManifestParts.Part(dir, p);
      // each part holds every parts-th id, written out of order (the part sorts them)
      for (int k = 2; k >= 0; k--) {
        long id = p + (long) k * parts;
        if (id % 7 == 3) {
          part.skipped(id, "m.json:" + (id + 1) + ": a.wav: no such\tfile\n(second line)");
        } else {
          part.features(id, "{\"id\":" + id + "}");
        }
      }
      part.write(conf);
    }
    Path features = new Path(out(), "features.json");
    Path skipped = new Path(out(), "skipped.txt");
    ManifestParts.Merged m =
        ManifestParts.merge(fs(), ManifestParts.dir(out()), parts, features, skipped, true);

    List<Long> expectedIds = new ArrayList<>();
    List<String> expectedSkips = new ArrayList<>();
    for (long id = 0; id < 3L * parts; id++) {
      if (id % 7 == 3) {
        expectedSkips.add("m.json:" + (id + 1) + ": a.wav: no such file (second line)");
      } else {
        expectedIds.add(id);
      }
    }
    List<Long> ids = new ArrayList<>();
    for (String line : Files.readAllLines(tmp.resolve("features.json"))) {
      ids.add(Long.parseLong(line.replaceAll("\\D", "")));
    }
    assertEquals(expectedIds, ids);
    assertEquals(expectedSkips, Files.readAllLines(tmp.resolve("skipped.txt")));
    assertEquals(new ManifestParts.Merged(expectedIds.size(), expectedSkips.size()), m);
    try (Stream<java.nio.file.Path> files = Files.list(tmp)) {
      assertEquals(
          List.of("features.json", "skipped.txt"),
          files.map(f -> f.getFileName().toString()).sorted().collect(Collectors.toList()),
          "parts, intermediate merges and temporary files are gone");
    }
  }

  @Test
  void aMissingPartOrAnUtteranceInTwoPartsStopsTheMergeAndKeepsTheOldFeaturesJson()
      throws Exception {
    Files.writeString(tmp.resolve("features.json"), "old\n");
    String dir = ManifestParts.dir(out()).toUri().toString();
    for (int p : new int[] {0, 2}) {
      ManifestParts.Part part = new ManifestParts.Part(dir, p);
      part.features(p, "{}");
      part.write(conf);
    }
    Path features = new Path(out(), "features.json");
    IOException missing =
        assertThrows(
            IOException.class,
            () ->
                ManifestParts.merge(
                    fs(),
                    ManifestParts.dir(out()),
                    3,
                    features,
                    new Path(out(), "skipped.txt"),
                    false));
    assertTrue(
        missing.getMessage().contains("_features.json.parts/part-00001: missing"),
        missing.getMessage());

    ManifestParts.Part twice = new ManifestParts.Part(dir, 1);
    twice.features(2, "{}");
    twice.write(conf);
    IOException dup =
        assertThrows(
            IOException.class,
            () ->
                ManifestParts.merge(
                    fs(),
                    ManifestParts.dir(out()),
                    3,
                    features,
                    new Path(out(), "skipped.txt"),
                    false));
    assertTrue(dup.getMessage().contains("utterance 2 appears in two parts"), dup.getMessage());
    assertEquals("old\n", Files.readString(tmp.resolve("features.json")));
    try (Stream<java.nio.file.Path> files = Files.list(tmp)) {
      assertFalse(
          files.anyMatch(f -> f.getFileName().toString().contains(".tmp-")),
          "no temporary file left");
    }
  }

  @Test
  void aRunWithoutSkipsRemovesTheSkippedListOfAnEarlierRunAndClearRemovesStaleParts()
      throws Exception {
    Files.writeString(tmp.resolve("skipped.txt"), "m.json:1: gone\n");
    String dir = ManifestParts.dir(out()).toUri().toString();
    ManifestParts.Part stale = new ManifestParts.Part(dir, 5);
    stale.features(99, "{\"stale\":true}");
    stale.write(conf);
    ManifestParts.clear(fs(), ManifestParts.dir(out()));
    assertFalse(Files.exists(tmp.resolve(ManifestParts.DIR)));
    ManifestParts.Part part = new ManifestParts.Part(dir, 0);
    part.features(0, "{\"a\":1}");
    part.write(conf);
    ManifestParts.merge(
        fs(),
        ManifestParts.dir(out()),
        1,
        new Path(out(), "features.json"),
        new Path(out(), "skipped.txt"),
        false);
    assertEquals(List.of("{\"a\":1}"), Files.readAllLines(tmp.resolve("features.json")));
    assertFalse(Files.exists(tmp.resolve("skipped.txt")));
    // no parts at all (an empty input): an empty features.json
    ManifestParts.merge(
        fs(),
        ManifestParts.dir(out()),
        0,
        new Path(out(), "features.json"),
        new Path(out(), "skipped.txt"),
        false);
    assertEquals(0, Files.size(tmp.resolve("features.json")));
  }
}
