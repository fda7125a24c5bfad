package org.nestspark.job.kmeans;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.mllib.linalg.Vector;
import org.apache.spark.mllib.linalg.Vectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.features.KaldiMfcc;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.pretrain.MetricsReader;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;
import org.nestspark.labels.Centroids;
import org.nestspark.labels.LabelFrames;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.testkit.Golden;
import scala.Tuple2;

/**
 * {@code nest kmeans} on Spark local[2]: MLlib's k-means|| on synthetic clusters (centres found, labels the same
 * across reruns and partition counts), MFCC labels of the bundled sample end to end (label files at the encoder
 * frame rate, equal to labels computed here from the formula, reruns that keep the fit, given centroids, bad
 * input reported), an encoder layer of NeMo's tiny model, and a tiny training run on the labels whose loss falls.
 */
class KMeansJobTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  static Run nest(String... args) {
    return Nest.local2(args);
  }

  @Test
  void mllibFindsKnownClustersWithTheSameLabelsAcrossRerunsAndPartitions() {
    double[][] centres = {{0, 0, 0}, {6, 0, 1}, {0, 7, -2}, {-5, -5, 5}, {8, 8, 8}};
    SplittableRandom rng = new SplittableRandom(11);
    List<Tuple2<Long, Vector>> points = new ArrayList<>();
    for (int i = 0; i < 1000; i++) {
      double[] c = centres[i % centres.length];
      points.add(
          new Tuple2<>(
              (long) i,
              Vectors.dense(
                  c[0] + 0.4 * rng.nextGaussian(),
                  c[1] + 0.4 * rng.nextGaussian(),
                  c[2] + 0.4 * rng.nextGaussian())));
    }
    NestConfig cfg =
        NestConfig.load(
            List.of(), List.of("kmeans.num_clusters=5", "kmeans.seed=3"), new Configuration(false));
    SparkConf conf =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("KMeansJobTest")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.driver.host", "127.0.0.1");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      int[] first = null;
      for (int partitions : new int[] {2, 2, 1, 3, 7}) {
        // as the job fits: the sample laid out by frame key, whatever partitioning it arrives in
        KMeansJob.Fit fit =
            KMeansJob.fit(
                KMeansJob.canonicalPartitions(sc.parallelizePairs(points, partitions), 16), cfg);
        Centroids c = fit.centroids();
        assertEquals(5, c.k());
        for (double[] centre : centres) {
          int n = c.nearest(centre);
          double d = 0;
          for (int j = 0; j < 3; j++) {
            d += Math.pow(c.centroid(n)[j] - centre[j], 2);
          }
          assertTrue(
              Math.sqrt(d) < 0.15,
              "centre " + java.util.Arrays.toString(centre) + " found at distance " + Math.sqrt(d));
        }
        // the within-cluster cost of 1000 points with variance 3 · 0.16
        assertEquals(1000 * 3 * 0.16, fit.cost(), 60);
        int[] labels = new int[points.size()];
        for (int i = 0; i < labels.length; i++) {
          labels[i] = c.nearest(points.get(i)._2().toArray());
        }
        if (first == null) {
          first = labels;
          // each true cluster is one label
          for (int i = 0; i < labels.length; i++) {
            assertEquals(labels[i % centres.length], labels[i]);
          }
        } else {
          assertArrayEquals(first, labels, "partitions " + partitions);
        }
      }
    }
  }

  /**
   * The first {@code n} training utterances of the sample copied here, with a missing file and a malformed
   * line; audio paths relative to the manifest, as the bundled manifests have them.
   */
  private Path manifest(int n) throws Exception {
    Path sample = REPO.resolve("deploy/sample");
    Files.createDirectories(dir.resolve("speech"));
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(sample.resolve("train_manifest.json")).subList(0, n)) {
      ObjectNode node = (ObjectNode) JSON.readTree(line);
      String audio = node.get("audio_filepath").asText();
      Files.copy(sample.resolve(audio), dir.resolve(audio));
      node.put("speaker", "v" + lines.size() % 8);
      lines.add(JSON.writeValueAsString(node));
    }
    lines.add(2, "{\"audio_filepath\": \"" + dir.resolve("gone.wav") + "\", \"duration\": 2.0}");
    lines.add(4, "{\"audio_filepath\": ");
    Path m = dir.resolve("in put.json");
    Files.write(m, lines);
    return m;
  }

  private static NpyArray npy(Path p) throws Exception {
    try (InputStream in = Files.newInputStream(p)) {
      return Npy.read(in);
    }
  }

  @Test
  void mfccLabelsEndToEndThenATinyTrainingRunOnThemLowersTheLoss() throws Exception {
    Path m = manifest(8);
    Path out = dir.resolve("km0");
    String tiny = REPO.resolve("conf/nest-tiny.conf").toString();
    Run a =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            out.toString(),
            "--k",
            "6",
            "--sample-fraction",
            "0.5",
            "--config",
            tiny);
    assertEquals(0, a.code(), a.out() + a.err());
    assertTrue(a.out().contains("fitted k=6 centroids of dimension 39 on "), a.out());
    assertTrue(
        a.out().contains("labelled 8 utterance(s) (8 written, 0 already complete), skipped 2"),
        a.out());
    assertTrue(a.out().contains(".json:3: " + dir.resolve("gone.wav")), a.out());
    assertTrue(a.out().contains(m.getFileName() + ":5"), a.out());
    // the tasks wrote their parts of the labels manifest and the skip list; the driver merged them
    List<String> skippedLines = Files.readAllLines(out.resolve(KMeansJob.SKIPPED_TXT));
    assertEquals(
        1,
        skippedLines.stream().filter(l -> l.contains(dir.resolve("gone.wav").toString())).count(),
        skippedLines.toString());
    assertFalse(
        Files.exists(out.resolve("_labels_manifest.json.parts")),
        "the parts are merged and removed");
    NpyArray cNpy = npy(out.resolve("centroids.npy"));
    assertArrayEquals(new int[] {6, 39}, cNpy.shape());
    Centroids centroids;
    try (InputStream in = Files.newInputStream(out.resolve("centroids.npy"))) {
      centroids = Centroids.read(in, "centroids.npy");
    }
    assertEquals(6, JSON.readTree(out.resolve("kmeans.json").toFile()).get("num_clusters").asInt());

    // every label file: one label per encoder frame of the padded audio, equal to the formula
    // computed here
    Configuration conf = new Configuration(false);
    NestConfig cfg = NestConfig.load(List.of(tiny), List.of(), conf);
    LabelFrames frames = LabelFrames.of(cfg.settings());
    KaldiMfcc mfcc = new KaldiMfcc(16000);
    List<ManifestEntry> labelled =
        ManifestReader.unfiltered(conf)
            .read(List.of(out.resolve("labels_manifest.json").toString()))
            .entries();
    assertEquals(8, labelled.size());
    int[] used = new int[6];
    List<long[]> firstLabels = new ArrayList<>();
    for (ManifestEntry e : labelled) {
      JsonNode node = JSON.readTree(e.json());
      assertTrue(node.get("speaker").asText().startsWith("v"), "the input entry is kept");
      assertEquals(
          dir.resolve("speech").toString(),
          Path.of(node.get("audio_filepath").asText()).getParent().toString(),
          "the audio path is resolved: the labels manifest lives elsewhere");
      float[] audio =
          MinLengthPadding.of(cfg.settings().dataset("model.train_ds"))
              .apply(UtteranceLoader.of(cfg.settings()).load(e, conf).samples());
      NpyArray labels = npy(Path.of(node.get("label_filepath").asText()));
      assertEquals(1, labels.rank());
      assertEquals(frames.encoderFrames(audio.length), labels.dim(0), e.where());
      float[] f = mfcc.hubertFeatures(audio);
      long[] l = labels.longData();
      for (int j = 0; j < l.length; j++) {
        int src = frames.sourceIndex(LabelFrames.Source.MFCC, j, f.length / 39);
        assertEquals(centroids.nearest(f, src * 39), l[j], e.where() + " frame " + j);
        used[(int) l[j]]++;
      }
      firstLabels.add(l);
    }
    for (int k = 0; k < 6; k++) {
      assertTrue(used[k] > 0, "cluster " + k + " labels some frame");
    }

    // a rerun keeps the fit and the label files
    Run b =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            out.toString(),
            "--k",
            "6",
            "--sample-fraction",
            "0.5",
            "--config",
            tiny);
    assertEquals(0, b.code(), b.out() + b.err());
    assertTrue(b.out().contains("kept the k=6 fit of an earlier run"), b.out());
    assertTrue(b.out().contains("(0 written, 8 already complete)"), b.out());
    // given centroids: no fit, the same labels
    Path given = dir.resolve("given");
    Run c =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            given.toString(),
            "--centroids",
            out.resolve("centroids.npy").toString(),
            "--config",
            tiny);
    assertEquals(0, c.code(), c.out() + c.err());
    assertTrue(c.out().contains("labelled with the given k=6 centroids"), c.out());
    List<ManifestEntry> again =
        ManifestReader.unfiltered(conf)
            .read(List.of(given.resolve("labels_manifest.json").toString()))
            .entries();
    for (int i = 0; i < again.size(); i++) {
      assertArrayEquals(
          firstLabels.get(i),
          npy(Path.of(JSON.readTree(again.get(i).json()).get("label_filepath").asText()))
              .longData());
    }
    // other given centroids into the same folder: the earlier label files are not kept (clusters 0
    // and 1 swapped)
    double[][] swapped = new double[6][];
    for (int k = 0; k < 6; k++) {
      swapped[k] = centroids.centroid(k == 0 ? 1 : k == 1 ? 0 : k);
    }
    try (java.io.OutputStream os = Files.newOutputStream(dir.resolve("swapped.npy"))) {
      new Centroids(swapped).write(os);
    }
    Run d =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            given.toString(),
            "--centroids",
            dir.resolve("swapped.npy").toString(),
            "--config",
            tiny);
    assertEquals(0, d.code(), d.out() + d.err());
    assertTrue(d.out().contains("(8 written, 0 already complete)"), d.out());
    long[] swappedLabels =
        npy(Path.of(JSON.readTree(again.get(0).json()).get("label_filepath").asText())).longData();
    for (int j = 0; j < swappedLabels.length; j++) {
      long l = firstLabels.get(0)[j];
      assertEquals(l == 0 ? 1 : l == 1 ? 0 : l, swappedLabels[j]);
    }

    // training on the labels: k = 6 classes, the loss falls
    Run wrongK =
        nest(
            "pretrain",
            "--config",
            tiny,
            "model.targets=labels",
            "model.train_ds.manifest_filepath=" + out.resolve("labels_manifest.json"),
            "exp_manager.exp_dir=" + dir.resolve("exp"));
    assertEquals(2, wrongK.code(), wrongK.out() + wrongK.err());
    assertTrue(wrongK.err().contains("model.num_classes = 256 but the labels of"), wrongK.err());
    Run t =
        nest(
            "pretrain",
            "--config",
            tiny,
            "model.targets=labels",
            "model.num_classes=6",
            "model.train_ds.manifest_filepath=" + out.resolve("labels_manifest.json"),
            "model.train_ds.batch_size=2",
            "exp_manager.exp_dir=" + dir.resolve("exp"),
            "trainer.max_steps=32",
            "trainer.log_every_n_steps=4",
            "trainer.val_check_interval=1000",
            "model.optim.sched.warmup_steps=8");
    assertEquals(0, t.code(), t.out() + t.err());
    List<JsonNode> train =
        MetricsReader.read(
                new org.apache.hadoop.fs.Path(dir.resolve("exp/nest").toUri()),
                new Configuration(false))
            .ofKind("train");
    assertEquals(8, train.size());
    double early =
        (train.get(0).get("train_loss").asDouble() + train.get(1).get("train_loss").asDouble()) / 2;
    double late =
        (train.get(6).get("train_loss").asDouble() + train.get(7).get("train_loss").asDouble()) / 2;
    assertTrue(early < Math.log(6) + 1.5, "starts near ln 6: " + early);
    assertTrue(late < early - 0.2, "the loss falls: " + early + " -> " + late + "\n" + train);
  }

  @Test
  void labelsOfAnEncoderLayerOfNemosTinyModel() throws Exception {
    Path m = manifest(3);
    Path nemo = dir.resolve("tiny.nemo");
    try (InputStream in = Golden.open("nemo/tiny_gz.nemo")) {
      Files.copy(in, nemo);
    }
    Path out = dir.resolve("km1");
    Run a =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            out.toString(),
            "--model",
            nemo.toString(),
            "--layer",
            "0",
            "--k",
            "4",
            "--sample-fraction",
            "0.8");
    assertEquals(0, a.code(), a.out() + a.err());
    assertTrue(a.out().contains("fitted k=4 centroids of dimension 64 on "), a.out());
    assertTrue(a.out().contains("labelled 3 utterance(s)"), a.out());
    JsonNode summary = JSON.readTree(out.resolve("kmeans.json").toFile());
    assertEquals("layer", summary.get("features").asText());
    assertEquals(0, summary.get("layer").asInt());
    Configuration conf = new Configuration(false);
    NestConfig cfg = NestConfig.load(List.of(), List.of("model.encoder.d_model=64"), conf);
    LabelFrames frames = LabelFrames.of(cfg.settings());
    for (ManifestEntry e :
        ManifestReader.unfiltered(conf)
            .read(List.of(out.resolve("labels_manifest.json").toString()))
            .entries()) {
      float[] audio =
          MinLengthPadding.of(cfg.settings().dataset("model.train_ds"))
              .apply(UtteranceLoader.of(cfg.settings()).load(e, conf).samples());
      NpyArray labels = npy(Path.of(JSON.readTree(e.json()).get("label_filepath").asText()));
      assertEquals(frames.encoderFrames(audio.length), labels.dim(0), e.where());
    }
    try (java.io.OutputStream os = Files.newOutputStream(dir.resolve("c39.npy"))) {
      new Centroids(new double[][] {new double[39], new double[39]}).write(os);
    }
    // usage errors name the option
    Run bad = nest("kmeans", "--manifest", m.toString(), "--out", out.toString(), "--layer", "1");
    assertEquals(2, bad.code());
    assertTrue(bad.err().contains("--layer needs --model"), bad.err());
    Run wrongDim =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            dir.resolve("km2").toString(),
            "--model",
            nemo.toString(),
            "--layer",
            "0",
            "--centroids",
            dir.resolve("c39.npy").toString());
    assertEquals(2, wrongDim.code(), wrongDim.out() + wrongDim.err());
    assertTrue(
        wrongDim.err().contains("c39.npy holds 39-dim centroids; layer features have 64 dims"),
        wrongDim.err());
    Run badLayer =
        nest(
            "kmeans",
            "--manifest",
            m.toString(),
            "--out",
            out.toString(),
            "--model",
            nemo.toString(),
            "--layer",
            "5");
    assertEquals(2, badLayer.code());
    assertTrue(badLayer.err().contains("--layer 5: the model has 2 layers (0..1)"), badLayer.err());
  }
}
