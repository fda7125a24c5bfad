package org.nestspark.tarred;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestReader;

/**
 * NeMo tarred datasets read through {@link TarredDataset} and {@link UtteranceLoader}: shards written by Python's
 * {@code tarfile} the way NeMo's {@code convert_to_tarred_audio_dataset.py} writes them (at test time, python3),
 * one manifest for all shards or one per shard, {@code -sub} entries with offsets, a member missing from its
 * shard, a damaged member and a truncated shard; every utterance compared with reading the file itself.
 */
class TarredAudioTest {
  private static final Configuration CONF = new Configuration(false);
  private static final UtteranceLoader LOADER = new UtteranceLoader(16000, true, true);

  @TempDir Path dir;

  @BeforeEach
  @AfterEach
  void fresh() {
    ShardCursors.clear();
  }

  /** A 16-bit mono 16 kHz WAV: a tone of {@code freq} Hz. */
  static byte[] wav(int samples, double freq) {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * samples).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII))
        .putInt(36 + 2 * samples)
        .put("WAVE".getBytes(StandardCharsets.US_ASCII))
        .put("fmt ".getBytes(StandardCharsets.US_ASCII))
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1)
        .putInt(16000)
        .putInt(32000)
        .putShort((short) 2)
        .putShort((short) 16)
        .put("data".getBytes(StandardCharsets.US_ASCII))
        .putInt(2 * samples);
    for (int i = 0; i < samples; i++) {
      b.putShort((short) Math.round(8000 * Math.sin(2 * Math.PI * freq * i / 16000)));
    }
    return b.array();
  }

  /** Six WAVs utt_0 ... utt_5 in dir/audio; returns their paths. */
  private List<Path> corpus() throws IOException {
    Files.createDirectories(dir.resolve("audio"));
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      Path p = dir.resolve("audio/utt_" + i + ".wav");
      Files.write(p, wav(8000 + 1000 * i, 200 + 50 * i));
      files.add(p);
    }
    Files.write(
        dir.resolve("audio/bad.wav"), "this is not audio".getBytes(StandardCharsets.US_ASCII));
    return files;
  }

  /** Runs python3: each shard is tarfile.open(mode='w', dereference=True) + tar.add(file, arcname=member), as NeMo's script. */
  private void pythonTars(String... shardSpecs) throws Exception {
    Path script = dir.resolve("make_tars.py");
    Files.writeString(
        script,
        String.join(
            "\n",
            "import sys, tarfile",
            "# argv: out.tar member=file member=file ... ; repeated per shard, separated by '--'",
            "args = sys.argv[1:]",
            "while args:",
            "    end = args.index('--') if '--' in args else len(args)",
            "    spec, args = args[:end], args[end + 1:]",
            "    with tarfile.open(spec[0], mode='w', dereference=True) as tar:",
            "        for pair in spec[1:]:",
            "            member, path = pair.split('=', 1)",
            "            tar.add(path, arcname=member)",
            ""));
    List<String> cmd = new ArrayList<>(List.of("python3", script.toString()));
    cmd.addAll(Arrays.asList(shardSpecs));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
  }

  private void write(String name, String... lines) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, String.join("\n", lines) + "\n");
  }

  private float[] direct(Path file, double offset, double duration) throws AudioException {
    return AudioSegment.load(
            new org.apache.hadoop.fs.Path(file.toUri()), CONF, offset, duration, 16000)
        .samples();
  }

  private TarredDataset read(String manifest, String shards) throws ManifestException {
    return TarredDataset.read(
        ManifestReader.unfiltered(CONF),
        List.of(dir.resolve(manifest).toString()),
        List.of(dir + "/" + shards));
  }

  @Test
  void readsPythonTarfileShardsWithOneManifestForAll() throws Exception {
    List<Path> f = corpus();
    pythonTars(
        dir + "/audio_0.tar",
        "utt_0.wav=" + f.get(0),
        "utt_1.wav=" + f.get(1),
        "utt_2.wav=" + f.get(2),
        "--",
        dir + "/audio_1.tar",
        "utt_3.wav=" + f.get(3),
        "bad.wav=" + dir.resolve("audio/bad.wav"),
        "utt_5.wav=" + f.get(5));
    write(
        "tarred_audio_manifest.json",
        "{\"audio_filepath\": \"utt_0.wav\", \"duration\": 0.5, \"shard_id\": 0}",
        "{\"audio_filepath\": \"utt_3.wav\", \"duration\": 0.6875, \"shard_id\": 1}",
        "{\"audio_filepath\": \"utt_1.wav\", \"duration\": 0.5625, \"shard_id\": 0}",
        "{\"audio_filepath\": \"utt_1-sub1.wav\", \"offset\": 0.25, \"duration\": 0.25, \"shard_id\": 0}",
        "{\"audio_filepath\": \"utt_2.wav\", \"duration\": 0.625, \"shard_id\": 0}",
        "{\"audio_filepath\": \"bad.wav\", \"duration\": 1.0, \"shard_id\": 1}",
        "{\"audio_filepath\": \"ghost.wav\", \"duration\": 1.0, \"shard_id\": 1}",
        "{\"audio_filepath\": \"utt_5.wav\", \"duration\": 0.8125, \"shard_id\": 1}",
        "{\"audio_filepath\": \"utt_4.wav\", \"duration\": 0.75, \"shard_id\": 7}",
        "{\"audio_filepath\": \"utt_4.wav\", \"duration\": 0.75}");
    TarredDataset t = read("tarred_audio_manifest.json", "audio__OP_0..1_CL_.tar");
    assertEquals(2, t.shards().size());
    // shard order, manifest order within a shard; the entry naming a shard that does not exist, and
    // the one
    // without shard_id among two shards, are reported with manifest line
    List<String> names = new ArrayList<>();
    for (ManifestEntry e : t.entries()) {
      names.add(e.audioFilepath());
    }
    assertEquals(
        List.of(
            "utt_0.wav",
            "utt_1.wav",
            "utt_1-sub1.wav",
            "utt_2.wav",
            "utt_3.wav",
            "bad.wav",
            "ghost.wav",
            "utt_5.wav"),
        names);
    assertArrayEquals(new int[] {0, 0, 0, 0, 1, 1, 1, 1}, t.shardOf());
    assertEquals(2, t.result().problems().size());
    assertTrue(
        t.result().problems().get(0).toString().contains(":9: shard_id 7 names none of the shards"),
        t.result().problems().toString());
    assertTrue(
        t.result()
            .problems()
            .get(1)
            .toString()
            .contains(":10: no shard_id, and there are 2 shards"),
        t.result().problems().toString());

    long opens = ShardCursors.opens();
    int[] fileOf = {0, 1, 1, 2, 3, -1, -1, 5};
    for (int i = 0; i < t.entries().size(); i++) {
      ManifestEntry e = t.entries().get(i);
      if (fileOf[i] < 0) {
        AudioException ex = assertThrows(AudioException.class, () -> LOADER.load(e, CONF));
        String expected =
            e.audioFilepath().equals("bad.wav")
                ? "audio_1.tar: bad.wav: unsupported format"
                : "audio_1.tar: no member for file id 'ghost'";
        assertTrue(ex.getMessage().contains(expected), ex.getMessage());
        continue;
      }
      double offset = e.offset();
      double duration = e.duration();
      assertArrayEquals(
          direct(f.get(fileOf[i]), offset, duration), LOADER.load(e, CONF).samples(), e.toString());
    }
    // each shard streamed once, front to back (the missing member was known after the complete
    // pass)
    assertEquals(2, ShardCursors.opens() - opens);
  }

  @Test
  void perShardManifestsAndATruncatedShard() throws Exception {
    List<Path> f = corpus();
    pythonTars(
        dir + "/audio_0.tar",
        "utt_0.wav=" + f.get(0),
        "utt_1.wav=" + f.get(1),
        "--",
        dir + "/audio_1.tar",
        "utt_2.wav=" + f.get(2),
        "utt_3.wav=" + f.get(3),
        "utt_4.wav=" + f.get(4));
    write(
        "sharded_manifests/manifest_0.json",
        "{\"audio_filepath\": \"utt_0.wav\", \"duration\": 0.5, \"shard_id\": 0}",
        "{\"audio_filepath\": \"utt_1.wav\", \"duration\": 0.5625, \"shard_id\": 0}");
    write(
        "sharded_manifests/manifest_1.json",
        "{\"audio_filepath\": \"utt_2.wav\", \"duration\": 0.625, \"shard_id\": 1}",
        "{\"audio_filepath\": \"utt_3.wav\", \"duration\": 0.6875, \"shard_id\": 1}",
        "{\"audio_filepath\": \"utt_4.wav\", \"duration\": 0.75, \"shard_id\": 1}");
    // cut shard 1 inside its second member's audio
    Path shard1 = dir.resolve("audio_1.tar");
    byte[] whole = Files.readAllBytes(shard1);
    int second = indexOf(whole, "utt_3.wav".getBytes(StandardCharsets.US_ASCII), 1024);
    Files.write(shard1, Arrays.copyOf(whole, second + 2048));
    TarredDataset t = read("sharded_manifests/manifest__OP_0..1_CL_.json", "audio_{0..1}.tar");
    assertEquals(5, t.entries().size());
    assertArrayEquals(new int[] {0, 0, 1, 1, 1}, t.shardOf());
    assertArrayEquals(direct(f.get(0), 0, 0.5), LOADER.load(t.entries().get(0), CONF).samples());
    assertArrayEquals(direct(f.get(1), 0, 0.5625), LOADER.load(t.entries().get(1), CONF).samples());
    assertArrayEquals(direct(f.get(2), 0, 0.625), LOADER.load(t.entries().get(2), CONF).samples());
    AudioException damaged =
        assertThrows(AudioException.class, () -> LOADER.load(t.entries().get(3), CONF));
    assertTrue(
        damaged.getMessage().contains("audio_1.tar: utt_3.wav: damaged member: truncated archive"),
        damaged.getMessage());
    AudioException after =
        assertThrows(AudioException.class, () -> LOADER.load(t.entries().get(4), CONF));
    assertTrue(
        after
            .getMessage()
            .contains(
                "audio_1.tar: no member for file id 'utt_4' in this shard (the shard is damaged:"),
        after.getMessage());
    // earlier members are still served after the damage
    assertArrayEquals(direct(f.get(2), 0, 0.625), LOADER.load(t.entries().get(2), CONF).samples());

    ManifestException pairing =
        assertThrows(
            ManifestException.class,
            () ->
                TarredDataset.read(
                    ManifestReader.unfiltered(CONF),
                    List.of(
                        dir + "/sharded_manifests/manifest_0.json",
                        dir + "/sharded_manifests/manifest_1.json",
                        dir + "/tarred_audio_manifest.json"),
                    List.of(dir + "/audio_{0..1}.tar")));
    assertTrue(pairing.getMessage().contains("3 manifests for 2 shards"), pairing.getMessage());
  }

  @Test
  void aRequestBehindTheBufferReadsTheShardAgain() throws Exception {
    List<Path> f = corpus();
    pythonTars(
        dir + "/audio_0.tar",
        "utt_0.wav=" + f.get(0),
        "utt_1.wav=" + f.get(1),
        "utt_2.wav=" + f.get(2));
    write(
        "m.json",
        "{\"audio_filepath\": \"utt_0.wav\"}",
        "{\"audio_filepath\": \"utt_1.wav\"}",
        "{\"audio_filepath\": \"utt_2.wav\"}");
    TarredDataset t = read("m.json", "audio_0.tar");
    UtteranceLoader oneMember =
        new UtteranceLoader(16000, true, true, 1); // keeps only the member just read
    long opens = ShardCursors.opens();
    assertArrayEquals(direct(f.get(2), 0, 0), oneMember.load(t.entries().get(2), CONF).samples());
    assertArrayEquals(direct(f.get(2), 0, 0), oneMember.load(t.entries().get(2), CONF).samples());
    assertEquals(1, ShardCursors.opens() - opens);
    // utt_0 was passed and dropped: the shard is read again from its start
    assertArrayEquals(direct(f.get(0), 0, 0), oneMember.load(t.entries().get(0), CONF).samples());
    assertEquals(2, ShardCursors.opens() - opens);
    assertArrayEquals(direct(f.get(1), 0, 0), oneMember.load(t.entries().get(1), CONF).samples());
    assertEquals(2, ShardCursors.opens() - opens);
  }

  @Test
  void aMissingShardIsReportedPerEntry() throws Exception {
    corpus();
    write("m.json", "{\"audio_filepath\": \"utt_0.wav\", \"duration\": 0.5}");
    TarredDataset t = read("m.json", "nowhere_0.tar");
    AudioException e =
        assertThrows(AudioException.class, () -> LOADER.load(t.entries().get(0), CONF));
    assertTrue(e.getMessage().contains("nowhere_0.tar: no such shard"), e.getMessage());
  }

  private static int indexOf(byte[] hay, byte[] needle, int from) {
    outer:
    for (int i = from; i <= hay.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("not found");
  }
}
