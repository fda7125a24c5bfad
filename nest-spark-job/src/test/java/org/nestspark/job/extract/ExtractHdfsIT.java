package org.nestspark.job.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.nestspark.job.extract.ExtractTestSupport.golden;
import static org.nestspark.job.extract.ExtractTestSupport.maxAbsDiff;
import static org.nestspark.job.extract.ExtractTestSupport.nest;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.testkit.Nest;
import org.nestspark.testkit.MiniHdfs;

/** {@code nest extract} with the model, manifest, audio and outputs on a real HDFS (Hadoop's mini cluster), hdfs:// end to end. */
class ExtractHdfsIT {
  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();

  private static NpyArray read(String hdfsPath) throws Exception {
    try (InputStream in = HDFS.fs().open(new org.apache.hadoop.fs.Path(hdfsPath))) {
      return Npy.read(in);
    }
  }

  @Test
  void extractsFromAndToHdfs() throws Exception {
    HDFS.putGolden("nemo/tiny_gz.nemo", "/models/tiny.nemo");
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
        nest(
            "extract",
            "--model",
            HDFS.uri() + "/models/tiny.nemo",
            "--input",
            HDFS.uri() + "/corpus/manifest.json",
            "--output",
            HDFS.uri() + "/features");
    assertEquals(0, r.code(), r.err());
    assertTrue(
        r.out().startsWith("extracted 2 utterance(s) (2 written, 0 already complete), skipped 1"),
        r.out());
    assertTrue(r.out().contains("manifest.json:3") && r.out().contains("missing.wav"), r.out());
    NpyArray speech = read("/features/_corpus_wav_speech 1s #1_wav.npy");
    assertArrayEquals(golden("speech_1s").shape(), speech.shape());
    assertTrue(maxAbsDiff(speech.floatData(), golden("speech_1s").floatData()) <= 1e-4);
    assertTrue(
        maxAbsDiff(
                read("/features/_corpus_wav_tone_wav.npy").floatData(),
                golden("tone440_1p5s").floatData())
            <= 1e-4);
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

    // a folder on HDFS, rerun over existing outputs: nothing recomputed
    Nest.Run again =
        nest(
            "extract",
            "--model",
            HDFS.uri() + "/models/tiny.nemo",
            "--input",
            HDFS.uri() + "/corpus/wav",
            "--output",
            HDFS.uri() + "/features");
    assertEquals(0, again.code(), again.err());
    assertTrue(
        again
            .out()
            .startsWith("extracted 2 utterance(s) (0 written, 2 already complete), skipped 0"),
        again.out());
  }
}
