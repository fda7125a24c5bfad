package org.nestspark.job.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nestspark.job.extract.ExtractTestSupport.SPEECH;
import static org.nestspark.job.extract.ExtractTestSupport.golden;
import static org.nestspark.job.extract.ExtractTestSupport.maxAbsDiff;
import static org.nestspark.job.extract.ExtractTestSupport.nest;
import static org.nestspark.job.extract.ExtractTestSupport.npyName;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.testkit.Nest;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;

/**
 * {@code nest extract} on the local file system (docs/nest-numerics.md §10): NeMo's tiny model from its own {@code .nemo},
 * the golden WAVs through a manifest in bucketed batches, outputs equal to NeMo's
 * {@code extract_features.py} within 1e-4; bad lines and files reported and skipped; reruns keep complete
 * outputs and recompute damaged or missing ones; Parquet output holds the same numbers; a checkpoint made
 * by {@code import-nemo} extracts the same, and {@code export-nemo} gives NeMo's tensors back.
 */
class ExtractCommandTest {
  static final ObjectMapper JSON = new ObjectMapper();

  static List<JsonNode> jsonLines(Path p) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(p)) {
      if (!l.isBlank()) {
        out.add(JSON.readTree(l));
      }
    }
    return out;
  }

  /** A manifest of the five golden WAVs with a malformed line and a missing file. */
  static Path manifest(Path dir) throws Exception {
    StringBuilder m = new StringBuilder();
    for (String n : SPEECH) {
      ExtractTestSupport.copy("features/wav/" + n + ".wav", dir.resolve("wav/" + n + ".wav"));
      m.append("{\"audio_filepath\": \"wav/")
          .append(n)
          .append(".wav\", \"speaker\": \"")
          .append(n)
          .append("\"}\n");
      if (n.equals("speech_1s")) {
        m.append("{\"audio_filepath\": 12}\n");
        m.append("{\"audio_filepath\": \"wav/missing.wav\"}\n");
      }
    }
    Path p = dir.resolve("golden.json");
    Files.writeString(p, m);
    return p;
  }

  @Test
  void matchesNemoAndResumes(@TempDir Path dir) throws Exception {
    Path model = ExtractTestSupport.tinyNemo(dir);
    Path manifest = manifest(dir);
    Path out = dir.resolve("out");
    Nest.Run r =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            manifest.toString(),
            "--output",
            out.toString(),
            "extract.batch_size=2",
            "extract.progress_interval_seconds=1");
    assertEquals(0, r.code(), r.err());
    // progress on stderr, counted per finished batch: the 6 readable manifest entries (the missing
    // file is done too: skipped)
    assertTrue(r.err().contains("[extract] 6/6 utterances (100.0 %) | "), r.err());
    assertTrue(
        r.out()
            .startsWith(
                "extracted 5 utterance(s) (5 written, 0 already complete), skipped 2; layers [0, 1]"),
        r.out());
    assertTrue(r.out().contains("golden.json:3: "), r.out());
    assertTrue(r.out().contains("golden.json:4") && r.out().contains("missing.wav"), r.out());
    assertTrue(r.out().contains("time in tasks: decode"), r.out());
    for (String n : SPEECH) {
      NpyArray a = Npy.read(out.resolve(npyName(dir.resolve("wav/" + n + ".wav"))));
      NpyArray g = golden(n);
      assertArrayEquals(g.shape(), a.shape(), n);
      double d = maxAbsDiff(a.floatData(), g.floatData());
      assertTrue(d <= 1e-4, n + ": max abs diff " + d);
    }
    List<JsonNode> fj = jsonLines(out.resolve("features.json"));
    assertEquals(5, fj.size());
    assertEquals("wav/speech_0p37s.wav", fj.get(0).get("audio_filepath").asText());
    assertEquals("speech_0p37s", fj.get(0).get("speaker").asText());
    assertEquals(
        out.resolve(npyName(dir.resolve("wav/speech_0p37s.wav"))).toString(),
        fj.get(0).get("feature_path").asText());
    assertEquals(5, fj.get(0).get("num_frames").asInt());

    // rerun: everything complete, nothing computed
    Path first = out.resolve(npyName(dir.resolve("wav/speech_4p2s.wav")));
    byte[] firstBytes = Files.readAllBytes(first);
    Nest.Run again =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            manifest.toString(),
            "--output",
            out.toString());
    assertEquals(0, again.code(), again.err());
    assertTrue(
        again
            .out()
            .startsWith("extracted 5 utterance(s) (0 written, 5 already complete), skipped 2"),
        again.out());
    // a truncated output and a missing one are computed again, the others kept
    Files.write(first, java.util.Arrays.copyOf(firstBytes, firstBytes.length / 2));
    Files.delete(out.resolve(npyName(dir.resolve("wav/speech_11s.wav"))));
    Nest.Run fix =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            manifest.toString(),
            "--output",
            out.toString());
    assertEquals(0, fix.code(), fix.err());
    assertTrue(
        fix.out().startsWith("extracted 5 utterance(s) (2 written, 3 already complete), skipped 2"),
        fix.out());
    assertArrayEquals(firstBytes, Files.readAllBytes(first));
    assertTrue(
        maxAbsDiff(
                Npy.read(out.resolve(npyName(dir.resolve("wav/speech_11s.wav")))).floatData(),
                golden("speech_11s").floatData())
            <= 1e-4);
    try (var files = Files.list(out)) {
      assertTrue(files.noneMatch(p -> p.getFileName().toString().contains(".tmp-")));
    }
  }

  @Test
  void parquetFromAFolderHoldsTheSameNumbers(@TempDir Path dir) throws Exception {
    Path model = ExtractTestSupport.tinyNemo(dir);
    for (String n : SPEECH) {
      ExtractTestSupport.copy(
          "features/wav/" + n + ".wav",
          dir.resolve("audio/" + (n.startsWith("speech_1") ? "sub/" : "") + n + ".WAV"));
    }
    Files.writeString(dir.resolve("audio/notes.txt"), "not audio");
    Path out = dir.resolve("pq");
    Nest.Run r =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            dir.resolve("audio").toString(),
            "--output",
            out.toString(),
            "--format",
            "parquet",
            "--layers",
            "1,0",
            "extract.batch_size=3");
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out()
            .startsWith(
                "extracted 5 utterance(s) (5 written, 0 already complete), skipped 0; layers [1, 0]"),
        r.out());
    assertTrue(
        Files.exists(out.resolve("part-00000.parquet"))
            && Files.exists(out.resolve("part-00001.parquet")));
    SparkSession spark =
        SparkSession.builder()
            .master("local[1]")
            .appName("read-parquet")
            .config("spark.ui.enabled", "false")
            .getOrCreate();
    try {
      // features.json sits beside the parts: read the parts by glob
      Dataset<Row> df = spark.read().parquet(out.toString() + "/*.parquet");
      assertEquals(10, df.count());
      Map<String, float[][]> got = new HashMap<>();
      for (Row row : df.collectAsList()) {
        String path = row.getString(row.fieldIndex("audio_filepath"));
        int layer = row.getInt(row.fieldIndex("layer"));
        int frames = row.getInt(row.fieldIndex("frames"));
        assertEquals(64, row.getInt(row.fieldIndex("dim")));
        byte[] v = (byte[]) row.get(row.fieldIndex("values"));
        float[] f = new float[64 * frames];
        ByteBuffer.wrap(v).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(f);
        got.computeIfAbsent(path, k -> new float[2][])[layer] = f;
      }
      for (String n : SPEECH) {
        Path p = dir.resolve("audio/" + (n.startsWith("speech_1") ? "sub/" : "") + n + ".WAV");
        float[][] layers = got.get(p.toString());
        NpyArray g = golden(n);
        int len = g.dim(1) * g.dim(2);
        for (int l = 0; l < 2; l++) {
          float[] want = java.util.Arrays.copyOfRange(g.floatData(), l * len, (l + 1) * len);
          assertTrue(maxAbsDiff(layers[l], want) <= 1e-4, n + " layer " + l);
        }
      }
    } finally {
      spark.stop();
    }
    Nest.Run again =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            dir.resolve("audio").toString(),
            "--output",
            out.toString(),
            "--format",
            "parquet",
            "--layers",
            "1,0",
            "extract.batch_size=3");
    assertTrue(
        again.out().startsWith("extracted 5 utterance(s) (0 written, 5 already complete)"),
        again.out());
    // another batch size: another plan, so every part is written again and the extra parts go
    Nest.Run other =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            dir.resolve("audio").toString(),
            "--output",
            out.toString(),
            "--format",
            "parquet",
            "--layers",
            "1,0",
            "extract.batch_size=8");
    assertTrue(
        other.out().startsWith("extracted 5 utterance(s) (5 written, 0 already complete)"),
        other.out());
    assertTrue(Files.exists(out.resolve("part-00000.parquet")));
    assertTrue(!Files.exists(out.resolve("part-00001.parquet")), "stale part kept");
  }

  @Test
  void importedCheckpointExtractsTheSameAndExportsNemosTensors(@TempDir Path dir) throws Exception {
    Path model = ExtractTestSupport.tinyNemo(dir);
    Nest.Run imp =
        nest("import-nemo", "--model", model.toString(), "--out", dir.resolve("ckpt").toString());
    assertEquals(0, imp.code(), imp.err());
    Path ckpt = dir.resolve("ckpt/step-000000.ckpt");
    assertTrue(Files.exists(ckpt), imp.out());
    ExtractTestSupport.copy("features/wav/speech_4p2s.wav", dir.resolve("one.wav"));
    Nest.Run r =
        nest(
            "extract",
            "--model",
            ckpt.toString(),
            "--input",
            dir.resolve("one.wav").toString(),
            "--output",
            dir.resolve("o").toString(),
            "--layers",
            "last");
    assertEquals(0, r.code(), r.err());
    NpyArray a = Npy.read(dir.resolve("o").resolve(npyName(dir.resolve("one.wav"))));
    assertArrayEquals(new int[] {1, 64, 53}, a.shape());
    NpyArray g = golden("speech_4p2s");
    float[] last = java.util.Arrays.copyOfRange(g.floatData(), 64 * 53, 2 * 64 * 53);
    assertTrue(maxAbsDiff(a.floatData(), last) <= 1e-4);

    // the checkpoint keeps NeMo's quantizer and mask embedding: export needs nothing else to give
    // NeMo's 99 tensors back
    assertTrue(
        imp.out().contains("quantizer and mask embedding: " + model + " (kept in the checkpoint)"),
        imp.out());
    Nest.Run exp =
        nest(
            "export-nemo",
            "--checkpoint",
            dir.resolve("ckpt").toString(),
            "--out",
            dir.resolve("back.nemo").toString());
    assertEquals(0, exp.code(), exp.err());
    assertTrue(exp.out().contains("quantizer and mask embedding: " + model + ")"), exp.out());
    NemoModel original =
        NemoArchive.read(new ByteArrayInputStream(Files.readAllBytes(model)), "tiny.nemo");
    assertSameTensors(original, dir.resolve("back.nemo"));

    // a checkpoint of schema 1 (no frozen modules): a warning names what was drawn; --frozen-from
    // puts NeMo's back
    Path old = dir.resolve("old/step-000000.ckpt");
    Files.createDirectories(old.getParent());
    Files.write(old, asSchemaOne(Files.readAllBytes(ckpt)));
    Nest.Run drawn =
        nest(
            "export-nemo",
            "--checkpoint",
            old.toString(),
            "--out",
            dir.resolve("drawn.nemo").toString());
    assertEquals(0, drawn.code(), drawn.err());
    assertTrue(
        drawn
            .err()
            .contains(
                "warning: "
                    + old
                    + ": this checkpoint (schema 1) holds no quantizer or mask embedding: "
                    + "quantizer.codebooks, quantizer.proj.weight, mask_processor.mask_embedding were drawn from data.seed="),
        drawn.err());
    NemoModel drawnNemo =
        NemoArchive.read(
            new ByteArrayInputStream(Files.readAllBytes(dir.resolve("drawn.nemo"))), "drawn.nemo");
    assertTrue(
        !original
            .tensor("quantizer.codebooks")
            .sameValues(drawnNemo.tensor("quantizer.codebooks")));
    Nest.Run restored =
        nest(
            "export-nemo",
            "--checkpoint",
            old.toString(),
            "--out",
            dir.resolve("restored.nemo").toString(),
            "--frozen-from",
            model.toString());
    assertEquals(0, restored.code(), restored.err());
    assertSameTensors(original, dir.resolve("restored.nemo"));
    // bad usage and bad models are named
    Nest.Run bad =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            dir.resolve("one.wav").toString(),
            "--output",
            dir.resolve("o2").toString(),
            "--layers",
            "2");
    assertEquals(2, bad.code());
    assertTrue(
        bad.err().contains("layer 2 does not exist (the model has 2 layers, 0..1)"), bad.err());
    Nest.Run noInput =
        nest(
            "extract",
            "--model",
            model.toString(),
            "--input",
            dir.resolve("nowhere").toString(),
            "--output",
            dir.resolve("o4").toString());
    assertEquals(1, noInput.code());
    assertTrue(
        noInput.err().contains("--input " + dir.resolve("nowhere") + ": no such file or folder"),
        noInput.err());
    Files.writeString(dir.resolve("junk.nemo"), "not a tar");
    Nest.Run junk =
        nest(
            "extract",
            "--model",
            dir.resolve("junk.nemo").toString(),
            "--input",
            dir.resolve("one.wav").toString(),
            "--output",
            dir.resolve("o3").toString());
    assertEquals(1, junk.code());
    assertTrue(junk.err().contains("junk.nemo"), junk.err());
  }

  private static void assertSameTensors(NemoModel original, Path exported) throws Exception {
    NemoModel back =
        NemoArchive.read(
            new ByteArrayInputStream(Files.readAllBytes(exported)),
            exported.getFileName().toString());
    assertEquals(
        java.util.List.copyOf(original.stateDict().keySet()),
        java.util.List.copyOf(back.stateDict().keySet()));
    for (String k : original.stateDict().keySet()) {
      assertTrue(original.tensor(k).sameValues(back.tensor(k)), k);
    }
  }

  /** A checkpoint as schema 1 wrote it: without the frozen entries and frozen_modules, schema_version 1, checksums redone. */
  static byte[] asSchemaOne(byte[] checkpoint) throws Exception {
    java.util.LinkedHashMap<String, byte[]> entries = new java.util.LinkedHashMap<>();
    try (java.util.zip.ZipInputStream in =
        new java.util.zip.ZipInputStream(new ByteArrayInputStream(checkpoint))) {
      for (java.util.zip.ZipEntry e; (e = in.getNextEntry()) != null; ) {
        if (!e.getName().startsWith("frozen/") && !e.getName().equals("SHA256SUMS")) {
          entries.put(e.getName(), in.readAllBytes());
        }
      }
    }
    com.fasterxml.jackson.databind.ObjectMapper om =
        new com.fasterxml.jackson.databind.ObjectMapper();
    com.fasterxml.jackson.databind.node.ObjectNode meta =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            om.readTree(entries.get("checkpoint.json"));
    meta.remove("frozen_modules");
    meta.put("schema_version", 1);
    entries.put("checkpoint.json", om.writeValueAsBytes(meta));
    StringBuilder sums = new StringBuilder();
    for (java.util.Map.Entry<String, byte[]> e : entries.entrySet()) {
      sums.append(
              java.util.HexFormat.of()
                  .formatHex(
                      java.security.MessageDigest.getInstance("SHA-256").digest(e.getValue())))
          .append("  ")
          .append(e.getKey())
          .append('\n');
    }
    entries.put("SHA256SUMS", sums.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
    try (java.util.zip.ZipOutputStream z = new java.util.zip.ZipOutputStream(bos)) {
      for (java.util.Map.Entry<String, byte[]> e : entries.entrySet()) {
        z.putNextEntry(new java.util.zip.ZipEntry(e.getKey()));
        z.write(e.getValue());
        z.closeEntry();
      }
    }
    return bos.toByteArray();
  }
}
