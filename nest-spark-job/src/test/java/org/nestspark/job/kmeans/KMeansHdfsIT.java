package org.nestspark.job.kmeans;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.job.testkit.Nest;
import org.nestspark.labels.LabelFiles;
import org.nestspark.labels.LabelFrames;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.testkit.MiniHdfs;

/**
 * {@code nest kmeans} with the manifest, audio and outputs on a real HDFS (Hadoop's mini cluster): the labels
 * manifest names hdfs:// audio and label files, and training's label reader reads them.
 */
class KMeansHdfsIT {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();

  @Test
  void labelsAnHdfsCorpusIntoHdfs() throws Exception {
    Path sample = REPO.resolve("deploy/sample");
    List<String> lines = Files.readAllLines(sample.resolve("train_manifest.json")).subList(0, 3);
    for (String line : lines) {
      String audio = new ObjectMapper().readTree(line).get("audio_filepath").asText();
      HDFS.fs()
          .copyFromLocalFile(
              new org.apache.hadoop.fs.Path(sample.resolve(audio).toUri()),
              new org.apache.hadoop.fs.Path("/corpus/" + audio));
    }
    try (OutputStream os = HDFS.fs().create(new org.apache.hadoop.fs.Path("/corpus/train.json"))) {
      os.write((String.join("\n", lines) + "\n").getBytes(StandardCharsets.UTF_8));
    }
    Nest.Run r =
        KMeansJobTest.nest(
            "kmeans",
            "--manifest",
            HDFS.uri() + "/corpus/train.json",
            "--out",
            HDFS.uri() + "/labels",
            "--k",
            "5",
            "--sample-fraction",
            "0.5");
    assertEquals(0, r.code(), r.out() + r.err());
    assertTrue(
        r.out().contains("labelled 3 utterance(s) (3 written, 0 already complete), skipped 0"),
        r.out());
    assertTrue(HDFS.fs().exists(new org.apache.hadoop.fs.Path("/labels/centroids.npy")));
    Configuration conf = HDFS.fs().getConf();
    NestConfig cfg = NestConfig.load(List.of(), List.of(), conf);
    LabelFrames frames = LabelFrames.of(cfg.settings());
    List<ManifestEntry> es =
        ManifestReader.unfiltered(conf)
            .read(List.of(HDFS.uri() + "/labels/labels_manifest.json"))
            .entries();
    assertEquals(3, es.size());
    List<Integer> counts = new ArrayList<>();
    for (ManifestEntry e : es) {
      JsonNode n = new ObjectMapper().readTree(e.json());
      assertTrue(
          n.get("audio_filepath").asText().startsWith(HDFS.uri() + "/corpus/speech/"), e.json());
      assertTrue(
          n.get("label_filepath").asText().startsWith(HDFS.uri() + "/labels/labels/"), e.json());
      int samples =
          MinLengthPadding.of(cfg.settings().dataset("model.train_ds"))
              .apply(UtteranceLoader.of(cfg.settings()).load(e, conf).samples())
              .length;
      int[] labels = LabelFiles.read(e, conf, frames.encoderFrames(samples), 5);
      counts.add(labels.length);
    }
    assertTrue(counts.stream().allMatch(c -> c > 10), counts.toString());
  }
}
