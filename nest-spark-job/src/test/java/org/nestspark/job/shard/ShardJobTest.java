package org.nestspark.job.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.Npy;
import org.nestspark.job.pretrain.MetricsReader;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;

/**
 * {@code nest shard} on the bundled sample corpus: NeMo's file names, shards Python's {@code tarfile} reads, balance
 * by duration, resumption; then the tarred corpus featurized and trained on gives the numbers of the same corpus
 * unpacked (features bit for bit; training and validation losses equal with the same batch order).
 */
class ShardJobTest {
  private static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  private static final Path SAMPLE = REPO.resolve("deploy/sample");
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  static Run nest(List<String> args) {
    return Nest.run(args);
  }

  /**
   * {@code nest featurize --manifest MANIFEST --out OUT SETTINGS... spark.master=local[2]}, which must exit
   * 0.
   */
  static Run featurize(String manifest, String out, String... settings) {
    List<String> a = new ArrayList<>(List.of("featurize", "--manifest", manifest, "--out", out));
    a.addAll(List.of(settings));
    a.add("spark.master=local[2]");
    Run r = nest(a);
    assertEquals(0, r.code(), r.err());
    return r;
  }

  /** Each entry's {@code feature_path} in a local features manifest, by its {@code text}. */
  static Map<String, String> featurePathsByText(Path featuresJson) throws Exception {
    Map<String, String> m = new HashMap<>();
    for (JsonNode e : lines(featuresJson)) {
      m.put(e.get("text").asText(), e.get("feature_path").asText());
    }
    return m;
  }

  static List<JsonNode> lines(Path p) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    for (String l : Files.readAllLines(p)) {
      if (!l.isBlank()) {
        out.add(JSON.readTree(l));
      }
    }
    return out;
  }

  private static String python(String code, String arg) throws Exception {
    Process p = new ProcessBuilder("python3", "-c", code, arg).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out.strip();
  }

  @Test
  void shardsAsNemoAndTheFeaturesAreThoseOfTheUnpackedCorpus() throws Exception {
    Path out = dir.resolve("tarred");
    Run r =
        nest(
            List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("train_manifest.json").toString(),
                "--out",
                out.toString(),
                "--shards",
                "3",
                "spark.master=local[2]"));
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(
        r.out().startsWith("3 shards (3 written, 0 complete from an earlier run): 28 utterances"),
        r.out());
    for (String f :
        List.of(
            "audio_0.tar",
            "audio_1.tar",
            "audio_2.tar",
            "sharded_manifests/manifest_0.json",
            "sharded_manifests/manifest_2.json",
            "tarred_audio_manifest.json",
            "metadata.yaml")) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f);
    }
    List<JsonNode> all = lines(out.resolve("tarred_audio_manifest.json"));
    assertEquals(28, all.size());
    double[] total = new double[3];
    for (int s = 0; s < 3; s++) {
      List<JsonNode> shard = lines(out.resolve("sharded_manifests/manifest_" + s + ".json"));
      List<String> members = new ArrayList<>();
      for (JsonNode e : shard) {
        assertEquals(s, e.get("shard_id").asInt());
        members.add(e.get("audio_filepath").asText());
        total[s] += e.get("duration").asDouble();
      }
      // NeMo's squashed names, and Python's tarfile lists exactly the shard manifest's members, in
      // order
      assertTrue(
          members
              .get(0)
              .startsWith(SAMPLE.toString().replace('/', '_').replace('.', '_') + "_speech_utt_"),
          members.get(0));
      String names =
          python(
              "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))",
              out.resolve("audio_" + s + ".tar").toString());
      assertEquals(String.join("\n", members), names);
    }
    double max = Math.max(total[0], Math.max(total[1], total[2]));
    double min = Math.min(total[0], Math.min(total[1], total[2]));
    assertTrue(
        max - min < 3.5,
        "balanced by duration: " + java.util.Arrays.toString(total)); // at most one utterance apart

    // resumable: a lost shard is written again, bit for bit; complete ones are kept
    byte[] shard1 = Files.readAllBytes(out.resolve("audio_1.tar"));
    Files.delete(out.resolve("sharded_manifests/manifest_1.json"));
    Run again =
        nest(
            List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("train_manifest.json").toString(),
                "--out",
                out.toString(),
                "--shards",
                "3",
                "spark.master=local[2]"));
    assertTrue(
        again
            .out()
            .startsWith("3 shards (1 written, 2 complete from an earlier run): 28 utterances"),
        again.out());
    assertArrayEquals(shard1, Files.readAllBytes(out.resolve("audio_1.tar")));
    assertEquals(all, lines(out.resolve("tarred_audio_manifest.json")));

    // featurize: tarred vs unpacked, the same numbers for every utterance
    featurize(SAMPLE.resolve("train_manifest.json").toString(), dir.resolve("f-plain").toString());
    Run tarred =
        featurize(
            out.resolve("tarred_audio_manifest.json").toString(),
            dir.resolve("f-tar").toString(),
            "featurize.tarred_audio_filepaths=" + out + "/audio__OP_0..2_CL_.tar");
    assertTrue(
        tarred
            .out()
            .startsWith("featurized 28 utterance(s) (28 written, 0 already complete), skipped 0"),
        tarred.out());
    Map<String, String> plainByText = featurePathsByText(dir.resolve("f-plain/features.json"));
    for (JsonNode e : lines(dir.resolve("f-tar/features.json"))) {
      float[] a =
          Npy.read(Files.newInputStream(Path.of(plainByText.get(e.get("text").asText()))))
              .toFloatArray();
      float[] b =
          Npy.read(Files.newInputStream(Path.of(e.get("feature_path").asText()))).toFloatArray();
      assertArrayEquals(a, b, e.toString());
    }
  }

  @Test
  void shardThenTrainGivesTheLossesOfTheUnpackedCorpus() throws Exception {
    Path train = dir.resolve("train");
    Path val = dir.resolve("val");
    assertEquals(
        0,
        nest(List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("train_manifest.json").toString(),
                "--out",
                train.toString(),
                "--shards",
                "2",
                "spark.master=local[1]"))
            .code());
    assertEquals(
        0,
        nest(List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("val_manifest.json").toString(),
                "--out",
                val.toString(),
                "--shards",
                "1",
                "spark.master=local[1]"))
            .code());
    // the same utterances unpacked, in the tarred manifest's order
    Map<String, String> original = new HashMap<>();
    for (String name : List.of("train_manifest.json", "val_manifest.json")) {
      for (JsonNode e : lines(SAMPLE.resolve(name))) {
        original.put(
            e.get("text").asText(), SAMPLE.resolve(e.get("audio_filepath").asText()).toString());
      }
    }
    Path trainPlain =
        unpacked(train.resolve("tarred_audio_manifest.json"), original, "train_plain.json");
    Path valPlain = unpacked(val.resolve("tarred_audio_manifest.json"), original, "val_plain.json");
    List<String> common =
        List.of(
            "--config",
            REPO.resolve("conf/nest-tiny.conf").toString(),
            "model.train_ds.noise_manifest=" + SAMPLE.resolve("noise_manifest.json"),
            "model.validation_ds.noise_manifest=" + SAMPLE.resolve("noise_manifest.json"),
            "model.train_ds.shuffle=false",
            "pretrain.bucket_batches=1",
            "pretrain.num_workers=1",
            "trainer.max_steps=4",
            "trainer.val_check_interval=4",
            "trainer.log_every_n_steps=1",
            "spark.master=local[1]");
    List<String> a = new ArrayList<>(List.of("pretrain"));
    a.addAll(common);
    a.addAll(
        List.of(
            "model.train_ds.manifest_filepath=" + trainPlain,
            "model.validation_ds.manifest_filepath=" + valPlain,
            "exp_manager.exp_dir=" + dir.resolve("exp-plain")));
    Run plain = nest(a);
    assertEquals(0, plain.code(), plain.out() + plain.err());
    List<String> b = new ArrayList<>(List.of("pretrain"));
    b.addAll(common);
    b.addAll(
        List.of(
            "model.train_ds.is_tarred=true",
            "model.train_ds.manifest_filepath="
                + train
                + "/sharded_manifests/manifest__OP_0..1_CL_.json",
            "model.train_ds.tarred_audio_filepaths=" + train + "/audio_{0..1}.tar",
            "model.validation_ds.is_tarred=true",
            "model.validation_ds.manifest_filepath=" + val.resolve("tarred_audio_manifest.json"),
            "model.validation_ds.tarred_audio_filepaths=" + val.resolve("audio_0.tar"),
            "exp_manager.exp_dir=" + dir.resolve("exp-tar")));
    Run tarred = nest(b);
    assertEquals(0, tarred.code(), tarred.out() + tarred.err());
    assertTrue(
        tarred.out().contains("model.train_ds: 28 utterances in 2 tar shards"), tarred.out());
    for (String kind : List.of("train", "val")) {
      List<JsonNode> p =
          MetricsReader.read(
                  new org.apache.hadoop.fs.Path(dir.resolve("exp-plain/nest").toUri()),
                  new Configuration(false))
              .ofKind(kind);
      List<JsonNode> t =
          MetricsReader.read(
                  new org.apache.hadoop.fs.Path(dir.resolve("exp-tar/nest").toUri()),
                  new Configuration(false))
              .ofKind(kind);
      assertEquals(kind.equals("train") ? 4 : 1, p.size(), kind);
      assertEquals(p.size(), t.size(), kind);
      String loss = kind + "_loss";
      for (int i = 0; i < p.size(); i++) {
        assertTrue(Double.isFinite(p.get(i).get(loss).asDouble()));
        assertEquals(
            p.get(i).get(loss).asDouble(),
            t.get(i).get(loss).asDouble(),
            0.0,
            kind + " record " + i);
      }
    }
  }

  @Test
  void twoWorkersScatterTheShards() throws Exception {
    Path train = dir.resolve("train");
    assertEquals(
        0,
        nest(List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("train_manifest.json").toString(),
                "--out",
                train.toString(),
                "--shards",
                "3",
                "spark.master=local[1]"))
            .code());
    Run r =
        nest(
            List.of(
                "pretrain",
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "model.train_ds.is_tarred=true",
                "model.train_ds.manifest_filepath=" + train.resolve("tarred_audio_manifest.json"),
                "model.train_ds.tarred_audio_filepaths=" + train + "/audio_{0..2}.tar",
                "model.train_ds.shuffle_n=8",
                "pretrain.num_workers=2",
                "trainer.max_steps=2",
                "trainer.log_every_n_steps=1",
                "exp_manager.exp_dir=" + dir.resolve("exp"),
                "spark.master=local[2]"));
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(
        r.out().contains("from 3 tar shards (scatter over 2 workers, shuffle_n=8)"), r.out());
    List<JsonNode> steps =
        MetricsReader.read(
                new org.apache.hadoop.fs.Path(dir.resolve("exp/nest").toUri()),
                new Configuration(false))
            .ofKind("train");
    assertEquals(2, steps.size());
    for (JsonNode s : steps) {
      assertTrue(Double.isFinite(s.get("train_loss").asDouble()), s.toString());
    }
    // more workers than shards cannot scatter: stopped before training, naming the key
    Run refused =
        nest(
            List.of(
                "pretrain",
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "model.train_ds.is_tarred=true",
                "model.train_ds.manifest_filepath=" + train.resolve("tarred_audio_manifest.json"),
                "model.train_ds.tarred_audio_filepaths=" + train + "/audio_{0..2}.tar",
                "pretrain.num_workers=4",
                "trainer.max_steps=2",
                "exp_manager.exp_dir=" + dir.resolve("exp4"),
                "spark.master=local[2]"));
    assertEquals(1, refused.code(), refused.out() + refused.err());
    assertTrue(
        (refused.out() + refused.err()).contains("3 shards for 4 workers"),
        refused.out() + refused.err());
  }

  @Test
  void featuresAsTarShardsAreTheSingleFilesFeatures() throws Exception {
    Path out = dir.resolve("tarred");
    assertEquals(
        0,
        nest(List.of(
                "shard",
                "--manifest",
                SAMPLE.resolve("train_manifest.json").toString(),
                "--out",
                out.toString(),
                "--shards",
                "3",
                "spark.master=local[2]"))
            .code());
    // one manifest entry more than the shards hold: skipped with its shard and name, the rest go on
    List<String> manifest =
        new ArrayList<>(Files.readAllLines(out.resolve("tarred_audio_manifest.json")));
    manifest.add("{\"audio_filepath\": \"not_there.wav\", \"duration\": 1.0, \"shard_id\": 1}");
    Path withMissing = dir.resolve("with-missing.json");
    Files.write(withMissing, manifest);
    List<String> tarArgs =
        List.of(
            "featurize",
            "--manifest",
            withMissing.toString(),
            "--out",
            dir.resolve("f-tar").toString(),
            "featurize.tarred_audio_filepaths=" + out + "/audio_{0..2}.tar",
            "featurize.format=tar",
            "spark.master=local[2]");
    Run tarred = nest(tarArgs);
    assertEquals(0, tarred.code(), tarred.err());
    assertTrue(
        tarred
            .out()
            .startsWith("featurized 28 utterance(s) (28 written, 0 already complete), skipped 1"),
        tarred.out());
    assertTrue(tarred.out().contains("no member for file id 'not_there'"), tarred.out());
    featurize(SAMPLE.resolve("train_manifest.json").toString(), dir.resolve("f-plain").toString());
    Map<String, String> plainByText = featurePathsByText(dir.resolve("f-plain/features.json"));
    // one tar per partition (one per input shard), members in the features manifest's order; every
    // member
    // is the single file's .npy, bit for bit, read back by Python's tarfile
    List<JsonNode> features = lines(dir.resolve("f-tar/features.json"));
    assertEquals(28, features.size());
    Map<String, List<String>> membersByTar = new java.util.TreeMap<>();
    for (JsonNode e : features) {
      assertTrue(e.get("feature_path") == null, e.toString());
      String tar = e.get("feature_shard").asText();
      String member = e.get("feature_member").asText();
      membersByTar.computeIfAbsent(tar, k -> new ArrayList<>()).add(member);
      byte[] expected = Files.readAllBytes(Path.of(plainByText.get(e.get("text").asText())));
      String fromPython =
          python(
              "import sys, tarfile\n"
                  + "t = tarfile.open(sys.argv[1].split('::')[0])\n"
                  + "print(t.extractfile(sys.argv[1].split('::')[1]).read().hex())",
              tar + "::" + member);
      assertEquals(java.util.HexFormat.of().formatHex(expected), fromPython, e.toString());
      float[] npy = Npy.read(new java.io.ByteArrayInputStream(expected)).toFloatArray();
      assertEquals(npy.length / 80, e.get("num_frames").asInt());
    }
    assertEquals(
        List.of(
            dir.resolve("f-tar/features_0.tar").toString(),
            dir.resolve("f-tar/features_1.tar").toString(),
            dir.resolve("f-tar/features_2.tar").toString()),
        new ArrayList<>(membersByTar.keySet()));
    for (Map.Entry<String, List<String>> t : membersByTar.entrySet()) {
      assertEquals(
          String.join("\n", t.getValue()),
          python(
              "import sys, tarfile; print('\\n'.join(tarfile.open(sys.argv[1]).getnames()))",
              t.getKey()));
    }

    // a rerun keeps complete tars; a lost one is written again, bit for bit, and only that one
    byte[] tar0 = Files.readAllBytes(dir.resolve("f-tar/features_0.tar"));
    byte[] tar2 = Files.readAllBytes(dir.resolve("f-tar/features_2.tar"));
    Files.delete(dir.resolve("f-tar/features_2.tar"));
    Run again = nest(tarArgs);
    assertEquals(0, again.code(), again.err());
    // (29 entries in 3 partitions of 9, 10, 10: the missing member's entry is the last of
    // features_2)
    int inTar2 = membersByTar.get(dir.resolve("f-tar/features_2.tar").toString()).size();
    assertEquals(9, inTar2);
    assertTrue(
        again
            .out()
            .startsWith("featurized 28 utterance(s) (9 written, 19 already complete), skipped 1"),
        again.out());
    assertArrayEquals(tar0, Files.readAllBytes(dir.resolve("f-tar/features_0.tar")));
    assertArrayEquals(tar2, Files.readAllBytes(dir.resolve("f-tar/features_2.tar")));
    assertEquals(features, lines(dir.resolve("f-tar/features.json")));
  }

  /** The tarred manifest's entries pointing at the original files again. */
  private Path unpacked(Path tarredManifest, Map<String, String> original, String name)
      throws Exception {
    List<String> out = new ArrayList<>();
    for (JsonNode e : lines(tarredManifest)) {
      ObjectNode o = (ObjectNode) e;
      o.put("audio_filepath", original.get(o.get("text").asText()));
      o.remove("shard_id");
      out.add(JSON.writeValueAsString(o));
    }
    Path p = dir.resolve(name);
    Files.write(p, out);
    return p;
  }
}
