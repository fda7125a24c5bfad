package org.nestspark.job.shard;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.io.Npy;
import org.nestspark.job.testkit.Nest;
import org.nestspark.testkit.MiniHdfs;

/**
 * Tarred corpora on a real HDFS (Hadoop's mini cluster), hdfs:// end to end: {@code shard} writes the shards there,
 * featurize and extract read them and give the numbers of the same audio as single files; an entry whose member
 * is not in its shard is skipped and reported with shard and file id.
 */
class TarredHdfsIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();

  private static List<JsonNode> lines(String hdfsPath) throws Exception {
    List<JsonNode> out = new ArrayList<>();
    try (InputStream in = HDFS.fs().open(new org.apache.hadoop.fs.Path(hdfsPath))) {
      for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!l.isBlank()) {
          out.add(JSON.readTree(l));
        }
      }
    }
    return out;
  }

  private static float[] npy(String uri) throws Exception {
    try (InputStream in = HDFS.fs().open(new org.apache.hadoop.fs.Path(java.net.URI.create(uri)))) {
      return Npy.read(in).toFloatArray();
    }
  }

  /** Every output of the tarred run equals the unpacked run's output of the same utterance (by its "utt" field). */
  private static void sameOutputs(String plainJson, String tarJson, int expected) throws Exception {
    Map<String, String> plain = new HashMap<>();
    for (JsonNode e : lines(plainJson)) {
      plain.put(e.get("utt").asText(), e.get("feature_path").asText());
    }
    List<JsonNode> tar = lines(tarJson);
    assertEquals(expected, tar.size());
    for (JsonNode e : tar) {
      assertArrayEquals(
          npy(plain.get(e.get("utt").asText())), npy(e.get("feature_path").asText()), e.toString());
    }
  }

  @Test
  void shardFeaturizeAndExtractOnHdfs() throws Exception {
    String[] wavs = {"speech_0p37s", "speech_1s", "speech_4p2s", "tone440_1p5s"};
    double[] durations = {0.37, 1.0, 4.2, 1.5};
    StringBuilder manifest = new StringBuilder();
    for (int i = 0; i < wavs.length; i++) {
      HDFS.putGolden("features/wav/" + wavs[i] + ".wav", "/corpus/wav/" + wavs[i] + ".wav");
      manifest
          .append("{\"audio_filepath\": \"wav/")
          .append(wavs[i])
          .append(".wav\", \"duration\": ")
          .append(durations[i])
          .append(", \"utt\": \"")
          .append(wavs[i])
          .append("\"}\n");
    }
    HDFS.write("/corpus/manifest.json", manifest.toString());
    HDFS.putGolden("nemo/tiny_gz.nemo", "/models/tiny.nemo");

    Nest.Run shard =
        ShardJobTest.nest(
            List.of(
                "shard",
                "--manifest",
                HDFS.uri() + "/corpus/manifest.json",
                "--out",
                HDFS.uri() + "/tarred",
                "--shards",
                "2",
                "spark.master=local[2]"));
    assertEquals(0, shard.code(), shard.out() + shard.err());
    assertTrue(
        HDFS.fs().exists(new org.apache.hadoop.fs.Path("/tarred/audio_1.tar"))
            && HDFS.fs()
                .exists(
                    new org.apache.hadoop.fs.Path("/tarred/sharded_manifests/manifest_1.json")));
    // one entry more, whose member no shard has
    HDFS.write(
        "/tarred/with_ghost.json",
        new String(
                HDFS.fs()
                    .open(new org.apache.hadoop.fs.Path("/tarred/tarred_audio_manifest.json"))
                    .readAllBytes(),
                StandardCharsets.UTF_8)
            + "{\"audio_filepath\": \"ghost.wav\", \"duration\": 1.0, \"shard_id\": 1, \"utt\": \"ghost\"}\n");

    String shards =
        "featurize.tarred_audio_filepaths=" + HDFS.uri() + "/tarred/audio__OP_0..1_CL_.tar";
    ShardJobTest.featurize(HDFS.uri() + "/corpus/manifest.json", HDFS.uri() + "/f-plain");
    Nest.Run tarred =
        ShardJobTest.featurize(
            HDFS.uri() + "/tarred/with_ghost.json", HDFS.uri() + "/f-tar", shards);
    assertTrue(
        tarred
            .out()
            .startsWith("featurized 4 utterance(s) (4 written, 0 already complete), skipped 1"),
        tarred.out());
    assertTrue(
        tarred.out().contains("audio_1.tar: no member for file id 'ghost' in this shard"),
        tarred.out());
    sameOutputs("/f-plain/features.json", "/f-tar/features.json", 4);

    // featurize.format=tar: the same features as members of one tar shard per task, on HDFS
    Nest.Run tarOut =
        ShardJobTest.featurize(
            HDFS.uri() + "/tarred/with_ghost.json",
            HDFS.uri() + "/f-tarout",
            shards,
            "featurize.format=tar");
    assertTrue(
        tarOut
            .out()
            .startsWith("featurized 4 utterance(s) (4 written, 0 already complete), skipped 1"),
        tarOut.out());
    Map<String, String> plainPaths = new HashMap<>();
    for (JsonNode e : lines("/f-plain/features.json")) {
      plainPaths.put(e.get("utt").asText(), e.get("feature_path").asText());
    }
    List<JsonNode> inTars = lines("/f-tarout/features.json");
    assertEquals(4, inTars.size());
    for (JsonNode e : inTars) {
      String tar = e.get("feature_shard").asText();
      assertTrue(tar.startsWith(HDFS.uri() + "/f-tarout/features_"), tar);
      float[] member = null;
      try (InputStream in =
          HDFS.fs().open(new org.apache.hadoop.fs.Path(java.net.URI.create(tar)))) {
        org.nestspark.nemo.TarReader r = org.nestspark.nemo.TarReader.of(tar, in);
        for (org.nestspark.nemo.TarReader.Entry m = r.next(); m != null; m = r.next()) {
          if (m.name().equals(e.get("feature_member").asText())) {
            member =
                Npy.read(new java.io.ByteArrayInputStream(r.readContent(m, 1 << 24)))
                    .toFloatArray();
          }
        }
      }
      assertArrayEquals(npy(plainPaths.get(e.get("utt").asText())), member, e.toString());
    }

    Nest.Run xPlain =
        ShardJobTest.nest(
            List.of(
                "extract",
                "--model",
                HDFS.uri() + "/models/tiny.nemo",
                "--input",
                HDFS.uri() + "/corpus/manifest.json",
                "--output",
                HDFS.uri() + "/x-plain",
                "spark.master=local[2]"));
    assertEquals(0, xPlain.code(), xPlain.err());
    Nest.Run xTar =
        ShardJobTest.nest(
            List.of(
                "extract",
                "--model",
                HDFS.uri() + "/models/tiny.nemo",
                "--input",
                HDFS.uri() + "/tarred/tarred_audio_manifest.json",
                "--output",
                HDFS.uri() + "/x-tar",
                "extract.tarred_audio_filepaths=" + HDFS.uri() + "/tarred/audio_{0..1}.tar",
                "spark.master=local[2]"));
    assertEquals(0, xTar.code(), xTar.err());
    assertTrue(
        xTar.out()
            .startsWith("extracted 4 utterance(s) (4 written, 0 already complete), skipped 0"),
        xTar.out());
    sameOutputs("/x-plain/features.json", "/x-tar/features.json", 4);
  }
}
