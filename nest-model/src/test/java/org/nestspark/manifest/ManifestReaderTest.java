package org.nestspark.manifest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestReaderTest {
  @TempDir Path dir;

  private ManifestReadResult read(ManifestReader r, Path... manifests) throws Exception {
    return r.read(
        java.util.Arrays.stream(manifests).map(Path::toString).collect(Collectors.toList()));
  }

  private static ManifestReader reader() {
    return ManifestReader.unfiltered(new Configuration(false));
  }

  @Test
  void nemoFieldsAndRelativePaths() throws Exception {
    Path sub = Files.createDirectories(dir.resolve("corpus dir"));
    Path m = sub.resolve("train.json");
    Files.writeString(
        m,
        String.join(
            "\n",
            "{\"audio_filepath\": \"wav/a.wav\", \"duration\": 2.5, \"text\": \"hello\", \"speaker\": 3}",
            "{\"audio_filepath\": \"/abs/b #1.wav\", \"duration\": 1.0, \"offset\": 0.25}",
            "{\"audio_filename\": \"c.flac\", \"audio_filepath\": \"ignored.wav\"}",
            "{\"audio_filepath\": \"hdfs://nn:8020/x/d.wav\", \"duration\": null}"));
    ManifestReadResult r = read(reader(), m);
    assertEquals(List.of(), r.problems());
    // the provenance hash is of the manifest's bytes, BOM and CRLF included
    String expected =
        java.util.HexFormat.of()
            .formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(m)));
    assertEquals(1, r.sha256().size());
    assertEquals(expected, r.sha256().values().iterator().next());
    List<ManifestEntry> e = r.entries();
    assertEquals(4, e.size());
    assertEquals(sub.resolve("wav/a.wav").toString(), e.get(0).audioPath().toUri().getPath());
    assertEquals("wav/a.wav", e.get(0).audioFilepath());
    assertEquals(2.5, e.get(0).duration());
    assertEquals(0.0, e.get(0).offset());
    assertEquals(1, e.get(0).line());
    assertTrue(e.get(0).json().contains("\"speaker\": 3"), "extra fields are kept");
    assertEquals("/abs/b #1.wav", e.get(1).audioPath().toUri().getPath());
    assertEquals(0.25, e.get(1).offset());
    assertEquals(
        sub.resolve("c.flac").toString(),
        e.get(2).audioPath().toUri().getPath(),
        "audio_filename wins");
    assertNull(e.get(2).duration());
    assertEquals("hdfs://nn:8020/x/d.wav", e.get(3).audioPath().toString());
    assertEquals(3, e.get(3).id());
    assertEquals(m + ":4", e.get(3).where());
  }

  @Test
  void crlfBlankLinesAndByteOrderMark() throws Exception {
    Path m = dir.resolve("m.json");
    Files.write(
        m,
        ("\uFEFF{\"audio_filepath\": \"a.wav\", \"duration\": 1.5}\r\n\r\n   \r\n"
                + "{\"audio_filepath\": \"b.wav\", \"duration\": 2}\r\n")
            .getBytes(StandardCharsets.UTF_8));
    ManifestReadResult r = read(reader(), m);
    assertEquals(List.of(), r.problems());
    assertEquals(2, r.entries().size());
    assertEquals(4, r.entries().get(1).line(), "physical line numbers");
    assertEquals(3.5, r.totalDurationSeconds(), 1e-12);
    assertTrue(r.entries().get(1).audioPath().toUri().getPath().endsWith("/b.wav"));
  }

  @Test
  void malformedLinesAreSkippedAndReportedWithManifestLineAndReason() throws Exception {
    Path m = dir.resolve("bad.json");
    Files.writeString(
        m,
        String.join(
            "\n",
            "{\"audio_filepath\": \"ok.wav\", \"duration\": 1.0}",
            "{\"audio_filepath\": \"x.wav\", \"duration\": 1.0",
            "{\"duration\": 1.0}",
            "{\"audio_filepath\": 17}",
            "{\"audio_filepath\": \"n.wav\", \"duration\": -1}",
            "{\"audio_filepath\": \"n.wav\", \"duration\": NaN}",
            "{\"audio_filepath\": \"n.wav\", \"duration\": \"long\"}",
            "[1, 2]",
            "{\"audio_filepath\": \"n.wav\", \"offset\": -0.5}",
            "{\"audio_filepath\": \"n.wav\", \"duration\": Infinity}",
            "{\"audio_filepath\": \"\"}",
            "{\"audio_filepath\": \"ok2.wav\"} {\"audio_filepath\": \"ok3.wav\"}",
            "{\"audio_filepath\": \"last.wav\"}"));
    ManifestReadResult r = read(reader(), m);
    assertEquals(2, r.entries().size());
    List<String> p = r.problems().stream().map(Object::toString).collect(Collectors.toList());
    assertEquals(11, p.size(), p.toString());
    assertTrue(p.get(0).startsWith(m + ":2: invalid JSON"), p.get(0));
    assertEquals(m + ":3: missing audio_filepath", p.get(1));
    assertEquals(m + ":4: audio_filepath must be a string, got the number 17", p.get(2));
    assertEquals(m + ":5: negative duration -1.0", p.get(3));
    assertEquals(m + ":6: duration is NaN", p.get(4));
    assertEquals(m + ":7: duration must be a number of seconds, got the string \"long\"", p.get(5));
    assertEquals(m + ":8: expected a JSON object", p.get(6));
    assertEquals(m + ":9: negative offset -0.5", p.get(7));
    assertEquals(m + ":10: duration is infinite", p.get(8));
    assertEquals(m + ":11: audio_filepath is empty", p.get(9));
    assertTrue(p.get(10).startsWith(m + ":12: invalid JSON"), p.get(10));
    assertEquals(13, r.entries().get(1).line());
    ManifestException fail = assertThrows(ManifestException.class, r::failOnProblems);
    assertTrue(
        fail.getMessage().startsWith("11 malformed manifest line(s) and data.on_error=fail:"));
  }

  @Test
  void invalidUtf8IsALineProblem() throws Exception {
    Path m = dir.resolve("latin1.json");
    byte[] bad = "{\"audio_filepath\": \"caf\u00e9.wav\"}\n".getBytes(StandardCharsets.ISO_8859_1);
    byte[] good = "{\"audio_filepath\": \"caf\u00e9.wav\"}\n".getBytes(StandardCharsets.UTF_8);
    byte[] all = new byte[bad.length + good.length];
    System.arraycopy(bad, 0, all, 0, bad.length);
    System.arraycopy(good, 0, all, bad.length, good.length);
    Files.write(m, all);
    ManifestReadResult r = read(reader(), m);
    assertEquals(m + ":1: not valid UTF-8", r.problems().get(0).toString());
    assertEquals(1, r.entries().size());
    assertTrue(r.entries().get(0).audioPath().toUri().getPath().endsWith("/caf\u00e9.wav"));
  }

  @Test
  void durationFilterKeepsBoundsAndEntriesWithoutDuration() throws Exception {
    Path m = dir.resolve("m.json");
    Files.writeString(
        m,
        String.join(
            "\n",
            "{\"audio_filepath\": \"a.wav\", \"duration\": 0.99}",
            "{\"audio_filepath\": \"b.wav\", \"duration\": 1.0}",
            "{\"audio_filepath\": \"c.wav\", \"duration\": 60.0}",
            "{\"audio_filepath\": \"d.wav\", \"duration\": 60.01}",
            "{\"audio_filepath\": \"e.wav\"}"));
    ManifestReadResult r = read(new ManifestReader(new Configuration(false), 1.0, 60.0), m);
    assertEquals(
        List.of("b.wav", "c.wav", "e.wav"),
        r.entries().stream().map(ManifestEntry::audioFilepath).collect(Collectors.toList()));
    assertEquals(2, r.filteredByDuration());
  }

  @Test
  void severalManifestsNumberEntriesGlobally() throws Exception {
    Path a = dir.resolve("a.json");
    Path b = Files.createDirectories(dir.resolve("other")).resolve("b.json");
    Files.writeString(a, "{\"audio_filepath\": \"1.wav\"}\n{\"audio_filepath\": \"2.wav\"}\n");
    Files.writeString(b, "{\"audio_filepath\": \"3.wav\"}\n");
    ManifestReadResult r = read(reader(), a, b);
    assertEquals(3, r.entries().size());
    assertEquals(2, r.entries().get(2).id());
    assertEquals(1, r.entries().get(2).line());
    assertEquals(
        dir.resolve("other/3.wav").toString(), r.entries().get(2).audioPath().toUri().getPath());
  }

  @Test
  void unreadableManifestsStopWithTheirName() throws Exception {
    ManifestException missing =
        assertThrows(
            ManifestException.class,
            () -> reader().read(List.of(dir.resolve("nope.json").toString())));
    assertEquals(dir.resolve("nope.json") + ": no such manifest", missing.getMessage());
    ManifestException isDir =
        assertThrows(ManifestException.class, () -> reader().read(List.of(dir.toString())));
    assertTrue(isDir.getMessage().endsWith("is a directory, not a manifest"));
    assertThrows(ManifestException.class, () -> reader().read(List.of()));
  }

  @Test
  void specialCharactersInManifestAndAudioNames() throws Exception {
    Path sub = Files.createDirectories(dir.resolve("dir #2 %41 + \u00e9"));
    Path m = sub.resolve("man ifest%20.json");
    Files.writeString(m, "{\"audio_filepath\": \"clip #1 %20 + \u00e9.wav\"}\n");
    ManifestReadResult r = read(reader(), m);
    assertEquals(
        sub.resolve("clip #1 %20 + \u00e9.wav").toString(),
        r.entries().get(0).audioPath().toUri().getPath());
  }

  @Test
  void aLineLongerThanTheLimitIsSkippedWithItsLengthAndTheNextLineIsRead() throws Exception {
    Path m = dir.resolve("long.json");
    byte[] big = new byte[ManifestReader.MAX_LINE_BYTES + 10];
    java.util.Arrays.fill(big, (byte) 'x');
    big[0] = '{';
    try (var out = Files.newOutputStream(m)) {
      out.write(
          "{\"audio_filepath\": \"a.wav\", \"duration\": 1.0}\n".getBytes(StandardCharsets.UTF_8));
      out.write(big);
      out.write(
          "\n{\"audio_filepath\": \"b.wav\", \"duration\": 2.0}\n"
              .getBytes(StandardCharsets.UTF_8));
    }
    ManifestReadResult r = read(reader(), m);
    assertEquals(List.of(1, 3), r.entries().stream().map(ManifestEntry::line).toList());
    assertEquals(1, r.problems().size());
    assertEquals(
        m
            + ":2: line of "
            + big.length
            + " bytes, longer than the "
            + ManifestReader.MAX_LINE_BYTES
            + " accepted",
        r.problems().get(0).toString());
  }
}
