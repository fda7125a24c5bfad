package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Archives that must be refused, each with a message naming the archive, the member and the reason
 * (docs/nest-numerics.md §11: "Extraction should reject absolute paths, .. and links"), through both the in-place
 * (Hadoop path) and the streaming reader; plus the tar and checkpoint variants that must be accepted.
 */
class NemoArchiveRefusalTest {
  private static final byte[] CONFIG = NemoGolden.bytes("tiny_model_config.yaml");

  @TempDir Path tmp;

  /** Reads through the stream path and the Hadoop path; both must fail the same way. */
  private NemoFormatException refused(byte[] archive) throws IOException {
    NemoFormatException s =
        assertThrows(
            NemoFormatException.class,
            () -> NemoArchive.read(new ByteArrayInputStream(archive), "bad.nemo"));
    Path f = tmp.resolve("bad.nemo");
    Files.write(f, archive);
    NemoFormatException p =
        assertThrows(
            NemoFormatException.class,
            () ->
                NemoArchive.read(
                    new org.apache.hadoop.fs.Path(f.toUri()), new Configuration(false)));
    assertEquals(s.member(), p.member(), "both readers blame the same member");
    assertEquals(f.toString(), p.archive());
    assertEquals("bad.nemo", s.archive());
    assertTrue(s.getMessage().startsWith("bad.nemo: "), s.getMessage());
    return s;
  }

  private static NemoModel read(byte[] archive) throws IOException {
    return NemoArchive.read(new ByteArrayInputStream(archive), "ok.nemo");
  }

  private static byte[] goldenCkpt() {
    return NemoGolden.member(NemoGolden.plainArchive(), "./model_weights.ckpt");
  }

  @Test
  void refusesDotDotMember() throws IOException {
    byte[] tar =
        new TestTars().file("./model_config.yaml", CONFIG).file("../evil", new byte[] {1}).build();
    NemoFormatException e = refused(tar);
    assertEquals("../evil", e.member());
    assertTrue(e.reason().contains("'..'"), e.getMessage());
    // hidden in the middle of a path, with backslashes, or behind a PAX/GNU long name: same refusal
    assertEquals(
        "a/b/../../../evil",
        refused(new TestTars().file("a/b/../../../evil", new byte[1]).build()).member());
    assertEquals(
        "..\\evil", refused(new TestTars().file("..\\evil", new byte[1]).build()).member());
    assertEquals(
        "../smuggled",
        refused(new TestTars().paxPath("./harmless", "../smuggled", new byte[1]).build()).member());
    assertEquals(
        "../long/" + "x".repeat(120),
        refused(new TestTars().gnuLongName("../long/" + "x".repeat(120), new byte[1]).build())
            .member());
  }

  @Test
  void refusesAbsoluteMember() throws IOException {
    NemoFormatException e =
        refused(new TestTars().file("/etc/cron.d/evil", new byte[] {1}).build());
    assertEquals("/etc/cron.d/evil", e.member());
    assertTrue(e.reason().contains("absolute path"), e.getMessage());
    assertTrue(
        refused(new TestTars().file("C:\\evil.bat", new byte[1]).build())
            .reason()
            .contains("absolute"));
  }

  @Test
  void refusesLinksDevicesAndUnknownTypes() throws IOException {
    NemoFormatException sym =
        refused(
            new TestTars()
                .file("./model_config.yaml", CONFIG)
                .special("./model_weights.ckpt", '2', "/etc/passwd")
                .build());
    assertEquals("./model_weights.ckpt", sym.member());
    assertTrue(
        sym.reason().contains("symbolic link") && sym.reason().contains("/etc/passwd"),
        sym.getMessage());
    assertTrue(
        refused(new TestTars().special("./x", '1', "./model_config.yaml").build())
            .reason()
            .contains("hard link"));
    assertTrue(
        refused(new TestTars().special("./dev", '3', "").build()).reason().contains("device"));
    assertTrue(
        refused(new TestTars().special("./blk", '4', "").build()).reason().contains("device"));
    assertTrue(
        refused(new TestTars().special("./fifo", '6', "").build()).reason().contains("FIFO"));
    assertTrue(
        refused(new TestTars().special("./sparse", 'S', "").build())
            .reason()
            .contains("unsupported tar entry type 'S'"));
  }

  @Test
  void refusesPickleThatCallsOsSystem() throws IOException {
    // cos\nsystem\n (X'touch /tmp/pwned',) R . : what a malicious checkpoint looks like
    byte[] pickle =
        Pickles.proto(2).global("os", "system").str("touch /tmp/pwned").op(0x85).reduce().stop();
    byte[] ckpt = TestTars.checkpoint(pickle, new String[0], new byte[0][]);
    NemoFormatException e = refused(TestTars.nemoWithCheckpoint(ckpt));
    assertEquals("./model_weights.ckpt!archive/data.pkl", e.member());
    assertTrue(e.reason().startsWith("refusing to unpickle os.system"), e.getMessage());
  }

  @Test
  void refusesTruncatedArchives() throws IOException {
    byte[] plain = NemoGolden.plainArchive();
    // inside the weights member
    NemoFormatException mid = refused(Arrays.copyOf(plain, 2_000_000));
    assertEquals("./model_weights.ckpt", mid.member());
    assertTrue(mid.reason().contains("truncated"), mid.getMessage());
    // inside a header
    NemoFormatException hdr = refused(Arrays.copyOf(plain, 1024 + 100));
    assertTrue(hdr.reason().contains("truncated"), hdr.getMessage());
    // a truncated gzip stream
    ByteArrayOutputStream gz = new ByteArrayOutputStream();
    try (GZIPOutputStream g = new GZIPOutputStream(gz)) {
      g.write(plain);
    }
    byte[] cut = Arrays.copyOf(gz.toByteArray(), gz.size() / 2);
    NemoFormatException z = refused(cut);
    assertTrue(z.getMessage().contains("truncated"), z.getMessage());
  }

  @Test
  void refusesCheckpointWithoutDataPkl() throws IOException {
    byte[] ckpt =
        TestTars.zip(
            new String[] {"archive/version", "archive/data/0"},
            new byte[][] {"3\n".getBytes(StandardCharsets.US_ASCII), new byte[4]});
    NemoFormatException e = refused(TestTars.nemoWithCheckpoint(ckpt));
    assertEquals("./model_weights.ckpt", e.member());
    assertTrue(e.reason().contains("no data.pkl record"), e.getMessage());
    assertTrue(e.reason().contains("archive/data/0"), "lists what is there: " + e.getMessage());
  }

  @Test
  void refusesLegacyTorchSerializationAndNonZipCheckpoints() throws IOException {
    byte[] legacy = {
      (byte) 0x80,
      2,
      (byte) 0x8a,
      10,
      0x6c,
      (byte) 0xfc,
      (byte) 0x9c,
      0x46,
      (byte) 0xf9,
      0x20,
      0x6a,
      (byte) 0xa8,
      0x50,
      0x19,
      '.'
    };
    NemoFormatException e = refused(TestTars.nemoWithCheckpoint(legacy));
    assertTrue(e.reason().startsWith("unsupported: legacy torch serialization"), e.getMessage());
    assertTrue(
        refused(
                TestTars.nemoWithCheckpoint(
                    "hello, not a zip at all".getBytes(StandardCharsets.US_ASCII)))
            .reason()
            .contains("not a PyTorch zip checkpoint"));
  }

  @Test
  void refusesMissingMembersNonTarAndEmptyFiles() throws IOException {
    NemoFormatException noWeights =
        refused(new TestTars().special("./", '5', "").file("./model_config.yaml", CONFIG).build());
    assertTrue(
        noWeights.reason().startsWith("no ./model_weights.ckpt member"), noWeights.getMessage());
    assertTrue(
        noWeights.reason().contains("./model_config.yaml"),
        "lists the members: " + noWeights.getMessage());
    NemoFormatException noConfig =
        refused(new TestTars().file("./model_weights.ckpt", goldenCkpt()).build());
    assertTrue(
        noConfig.reason().startsWith("no ./model_config.yaml member"), noConfig.getMessage());
    byte[] junk = new byte[4096];
    Arrays.fill(junk, (byte) 'j');
    assertTrue(refused(junk).reason().contains("not a tar archive"));
    assertTrue(refused(new byte[0]).reason().contains("empty"));
    NemoFormatException dup =
        refused(
            new TestTars()
                .file("./model_config.yaml", CONFIG)
                .file("model_config.yaml", CONFIG)
                .build());
    assertTrue(dup.reason().contains("duplicate"), dup.getMessage());
  }

  @Test
  void refusesCorruptStorageAndBadConfig() throws IOException {
    byte[] ckpt = goldenCkpt();
    // flip one byte inside storage data/1 (the filterbank): its CRC-32 no longer matches
    byte[] bad = ckpt.clone();
    bad[17936 + 1000] ^= 1;
    NemoFormatException crc = refused(TestTars.nemoWithCheckpoint(bad));
    assertEquals("./model_weights.ckpt!model_weights/data/1", crc.member());
    assertTrue(crc.reason().contains("CRC-32 mismatch"), crc.getMessage());
    byte[] noMap =
        new TestTars()
            .file("./model_config.yaml", "- just\n- a list\n".getBytes(StandardCharsets.UTF_8))
            .file("./model_weights.ckpt", ckpt)
            .build();
    assertTrue(refused(noMap).reason().contains("not a YAML mapping"));
  }

  @Test
  void acceptsGnuLongNamesPaxNamesArtifactsAndMembersWithoutDotSlash() throws IOException {
    String longArtifact = "./artifacts/" + "tokenizer_".repeat(12) + ".model";
    byte[] tar =
        new TestTars()
            .file("model_config.yaml", CONFIG)
            .paxPath("./short", "./pax/" + "p".repeat(150) + ".txt", new byte[] {1, 2})
            .gnuLongName(longArtifact, new byte[] {3})
            .file("./model_weights.ckpt", goldenCkpt())
            .build();
    NemoModel m = read(tar);
    assertEquals(99, m.stateDict().size());
    assertEquals(List.of("./pax/" + "p".repeat(150) + ".txt", longArtifact), m.artifacts());
  }

  @Test
  void honoursBigEndianByteorderRecordAndDeflatedRecords() throws IOException {
    // torch 2.x on a big-endian host writes byteorder=big and big-endian storages
    ByteBuffer be = ByteBuffer.allocate(12).order(ByteOrder.BIG_ENDIAN);
    be.putFloat(1.5f).putFloat(-2f).putFloat(Float.MIN_VALUE);
    byte[] pickle =
        Pickles.proto(2)
            .global("collections", "OrderedDict")
            .emptyTuple()
            .reduce()
            .str("w")
            .tensor("FloatStorage", "0", 3, 0, new int[] {3}, new int[] {1})
            .op('s')
            .stop();
    byte[] ckpt =
        TestTars.zip(
            new String[] {"m/data.pkl", "m/byteorder", "m/data/0", "m/version"},
            new byte[][] {
              pickle,
              "big".getBytes(StandardCharsets.US_ASCII),
              be.array(),
              "3\n".getBytes(StandardCharsets.US_ASCII)
            });
    NemoModel m = read(TestTars.nemoWithCheckpoint(ckpt));
    assertEquals(List.of(1.5f, -2f, Float.MIN_VALUE), boxed(m.tensor("w").toFloatArray()));
  }

  private static List<Float> boxed(float[] a) {
    Float[] b = new Float[a.length];
    for (int i = 0; i < a.length; i++) {
      b[i] = a[i];
    }
    return List.of(b);
  }
}
