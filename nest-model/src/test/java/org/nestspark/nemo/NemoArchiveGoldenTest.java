package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Parity with NeMo's own archives (docs/nest-numerics.md §11): every
 * path of the reader on the golden tiny NEST model, and the writer against torch 1.13's bytes.
 */
class NemoArchiveGoldenTest {
  private static List<NemoGolden.Expected> expected;
  private static NemoModel golden;

  @TempDir Path tmp;

  @BeforeAll
  static void load() throws IOException {
    expected = NemoGolden.expected();
    golden = NemoArchive.read(new ByteArrayInputStream(NemoGolden.gzipArchive()), "tiny_gz.nemo");
  }

  /** Asserts the 99 golden tensors, in order, bit for bit (SHA-256 of the element bytes). */
  static void assertGoldenTensors(NemoModel m) {
    assertEquals(99, expected.size());
    List<String> keys = new ArrayList<>(m.stateDict().keySet());
    assertEquals(99, keys.size());
    for (int i = 0; i < expected.size(); i++) {
      NemoGolden.Expected e = expected.get(i);
      assertEquals(e.key, keys.get(i), "key order");
      NemoTensor t = m.tensor(e.key);
      assertEquals(e.key, t.name());
      assertEquals(e.dtype, t.dtype(), e.key);
      assertArrayEquals(e.shape, t.shape(), e.key);
      assertEquals(e.sha256, NemoGolden.sha256(t.toLittleEndianBytes()), e.key + " bytes");
    }
  }

  @Test
  void gzipArchiveHoldsTheGoldenTensorsConfigAndMetadata() {
    assertGoldenTensors(golden);
    assertEquals(
        "nemo.collections.asr.models.ssl_models.EncDecDenoiseMaskedTokenPredModel",
        golden.target().get());
    assertEquals("2.6.0rc0", golden.nemoVersion().get());
    assertEquals(NemoGolden.configText(), golden.configYaml());
    Map<?, ?> encoder = (Map<?, ?>) golden.config().get("encoder");
    assertEquals(64, encoder.get("d_model"));
    assertEquals(List.of(-1, -1), encoder.get("att_context_size"));
    assertEquals(1.0e-05, ((Map<?, ?>) golden.config().get("preprocessor")).get("dither"));
    assertTrue(golden.artifacts().isEmpty());
    // _metadata: 88 module paths, BatchNorm at version 2, everything else at 1
    assertEquals(88, golden.metadata().size());
    assertEquals(Map.of("version", 1L), golden.metadata().get(""));
    assertEquals(Map.of("version", 2L), golden.metadata().get("encoder.layers.1.conv.batch_norm"));
    // a few values, to see the decoding is not only self-consistent
    NemoTensor nbt = golden.tensor("encoder.layers.0.conv.batch_norm.num_batches_tracked");
    assertEquals(0, nbt.rank());
    assertEquals(NemoDtype.INT64, nbt.dtype());
    NemoTensor window = golden.tensor("preprocessor.featurizer.window");
    assertEquals(0.0f, window.toFloatArray()[0]);
    assertEquals(
        1.0f, window.toFloatArray()[199] + 0f, 1e-4f); // hann(400, periodic=False) peaks mid-window
  }

  @Test
  void plainTarThroughHadoopPathReadsInPlace() throws IOException {
    Path f = tmp.resolve("tiny.nemo");
    Files.write(f, NemoGolden.plainArchive());
    NemoModel m =
        NemoArchive.read(new org.apache.hadoop.fs.Path(f.toUri()), new Configuration(false));
    assertGoldenTensors(m);
    assertEquals(golden.config(), m.config());
    assertEquals(golden.metadata(), m.metadata());
  }

  @Test
  void gzipTarThroughHadoopPath() throws IOException {
    Path f = tmp.resolve("named-without-gz.nemo");
    Files.write(f, NemoGolden.gzipArchive());
    assertGoldenTensors(
        NemoArchive.read(new org.apache.hadoop.fs.Path(f.toUri()), new Configuration(false)));
  }

  @Test
  void streamedCheckpointSpillsToATemporaryFileThatIsDeleted() throws IOException {
    Path tmpDir = Path.of(System.getProperty("java.io.tmpdir"));
    long before = countSpills(tmpDir);
    NemoModel m =
        NemoArchive.read(new ByteArrayInputStream(NemoGolden.plainArchive()), "tiny.nemo", 0);
    assertGoldenTensors(m);
    assertEquals(before, countSpills(tmpDir));
  }

  @Test
  void extractedFolderReads() throws IOException {
    byte[] tar = NemoGolden.plainArchive();
    Path dir = Files.createDirectory(tmp.resolve("extracted"));
    Files.write(dir.resolve("model_config.yaml"), NemoGolden.member(tar, "./model_config.yaml"));
    Files.write(dir.resolve("model_weights.ckpt"), NemoGolden.member(tar, "./model_weights.ckpt"));
    assertGoldenTensors(
        NemoArchive.read(new org.apache.hadoop.fs.Path(dir.toUri()), new Configuration(false)));
  }

  @Test
  void configDumpsBackByteIdenticalToOmegaConf() {
    assertEquals(NemoGolden.configText(), NemoYaml.dump(golden.config()));
  }

  @Test
  void writtenCheckpointIsByteIdenticalToTorch113WithoutTheByteorderRecord() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NemoArchive.write(golden, out, 0, false);
    byte[] ours = NemoGolden.member(out.toByteArray(), "./model_weights.ckpt");
    byte[] torch = NemoGolden.member(NemoGolden.plainArchive(), "./model_weights.ckpt");
    assertEquals(torch.length, ours.length);
    assertArrayEquals(torch, ours);
  }

  @Test
  void writeThenReadGivesTheSameModel() throws IOException {
    Path f = tmp.resolve("out.nemo");
    org.apache.hadoop.fs.Path hp = new org.apache.hadoop.fs.Path(f.toUri());
    NemoArchive.write(golden, hp, new Configuration(false));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(
          List.of("out.nemo"),
          s.map(p -> p.getFileName().toString()).toList(),
          "no temporary or .crc files");
    }
    NemoModel back = NemoArchive.read(hp, new Configuration(false));
    assertGoldenTensors(back);
    assertEquals(golden.config(), back.config());
    assertEquals(golden.metadata(), back.metadata());
    assertEquals(NemoGolden.configText(), back.configYaml());
    // written as NeMo >= 1.7 does: uncompressed tar, './', config, weights, padded to 10240 bytes
    byte[] bytes = Files.readAllBytes(f);
    assertEquals(0, bytes.length % 10240);
    assertEquals("ustar", new String(bytes, 257, 5, java.nio.charset.StandardCharsets.US_ASCII));
    assertEquals("./", new String(bytes, 0, 2, java.nio.charset.StandardCharsets.US_ASCII));
    assertArrayEquals(
        NemoGolden.bytes("tiny_model_config.yaml"),
        NemoGolden.member(bytes, "./model_config.yaml"));
  }

  private static long countSpills(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith("nemo-ckpt-")).count();
    }
  }
}
