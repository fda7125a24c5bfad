package org.nestspark.job.featurize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.Npy;
import org.nestspark.job.testkit.Nest;
import org.nestspark.testkit.Golden;
import org.nestspark.testkit.MiniHdfs;

/** Manifest, audio and outputs on a real HDFS (Hadoop's own mini cluster), hdfs:// paths end to end. */
class FeaturizeHdfsIT {
  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();

  @Test
  void featurizesFromAndToHdfs(@TempDir Path local) throws Exception {
    HDFS.putGolden("features/wav/speech_1s.wav", "/corpus/wav/speech 1s #1.wav");
    HDFS.putGolden("features/wav/tone440_1p5s.wav", "/corpus/wav/tone.wav");
    try (OutputStream out =
        HDFS.fs().create(new org.apache.hadoop.fs.Path("/corpus/manifest.json"))) {
      out.write(
          String.join(
                  "\n",
                  "{\"audio_filepath\": \"wav/speech 1s #1.wav\", \"duration\": 1.0}",
                  "{\"audio_filepath\": \"/corpus/wav/tone.wav\"}",
                  "{\"audio_filepath\": \"wav/missing.wav\"}",
                  "")
              .getBytes(StandardCharsets.UTF_8));
    }
    Nest.Run r =
        FeaturizeCommandTest.nest(
            "featurize",
            "--manifest",
            HDFS.uri() + "/corpus/manifest.json",
            "--out",
            HDFS.uri() + "/features");
    assertEquals(0, r.code, r.err);
    assertTrue(
        r.out.startsWith("featurized 2 utterance(s) (2 written, 0 already complete), skipped 1"),
        r.out);
    assertTrue(r.out.contains("missing.wav"), r.out);
    List<String> lines;
    try (InputStream in =
        HDFS.fs().open(new org.apache.hadoop.fs.Path("/features/features.json"))) {
      lines = List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n"));
    }
    assertEquals(2, lines.size());
    assertTrue(
        lines
            .get(0)
            .contains(
                "\"feature_path\":\""
                    + HDFS.uri()
                    + "/features/_corpus_wav_speech 1s #1_wav.npy\""),
        lines.get(0));
    assertTrue(
        HDFS.fs().exists(new org.apache.hadoop.fs.Path("/features/_corpus_wav_tone_wav.npy")));

    // the same audio featurized from the local file system gives the same numbers
    Path wav = local.resolve("speech_1s.wav");
    try (InputStream in = Golden.open("features/wav/speech_1s.wav")) {
      Files.copy(in, wav);
    }
    Files.writeString(
        local.resolve("m.json"), "{\"audio_filepath\": \"speech_1s.wav\", \"duration\": 1.0}\n");
    Nest.Run l =
        FeaturizeCommandTest.nest(
            "featurize",
            "--manifest",
            local.resolve("m.json").toString(),
            "--out",
            local.resolve("out").toString());
    assertEquals(0, l.code, l.err);
    float[] fromLocal =
        Npy.read(
                local
                    .resolve("out")
                    .resolve(wav.toString().replace('/', '_').replace('.', '_') + ".npy"))
            .floatData();
    float[] fromHdfs;
    try (InputStream in =
        HDFS.fs()
            .open(new org.apache.hadoop.fs.Path("/features/_corpus_wav_speech 1s #1_wav.npy"))) {
      fromHdfs = Npy.read(in).floatData();
    }
    assertArrayEquals(fromLocal, fromHdfs);
  }
}
