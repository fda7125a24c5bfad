package org.nestspark.labels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.batch.NestBatch;
import org.nestspark.batch.NestBatchBuilder;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.io.Npy;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.ssl.FrozenModules;

/**
 * {@code model.targets = labels}: a batch of the bundled sample takes its targets from the label files (same
 * masks and selection), bad label files are left out with their manifest line and reason, and the driver-side
 * checks refuse manifests without label files and a num_classes that is not the fit's k.
 */
class LabelTargetsTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  private NestConfig config(String... extra) {
    List<String> o = new ArrayList<>(List.of("model.targets=labels", "model.num_classes=7"));
    o.addAll(List.of(extra));
    return NestConfig.load(
        List.of(REPO.resolve("conf/nest-tiny.conf").toString()), o, new Configuration(false));
  }

  private static void npy(Path p, long[] v) throws Exception {
    try (OutputStream os = Files.newOutputStream(p)) {
      Npy.write(os, new int[] {v.length}, v);
    }
  }

  /** The sample's first four training utterances with label files: good, too short, out of range, none. */
  private Path labelsManifest(NestConfig c, Configuration conf) throws Exception {
    Path sample = REPO.resolve("deploy/sample");
    List<ManifestEntry> es =
        ManifestReader.unfiltered(conf)
            .read(List.of(sample.resolve("train_manifest.json").toString()))
            .entries();
    LabelFrames frames = LabelFrames.of(c.settings());
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      ManifestEntry e = es.get(i);
      int n =
          MinLengthPadding.of(c.settings().dataset("model.train_ds"))
              .apply(UtteranceLoader.of(c.settings()).load(e, conf).samples())
              .length;
      int enc = frames.encoderFrames(n);
      long[] v = new long[i == 1 ? enc - 1 : enc];
      for (int j = 0; j < v.length; j++) {
        v[j] = (j * 3 + i) % 7;
      }
      if (i == 2) {
        v[5] = 7;
      }
      ObjectNode node = (ObjectNode) JSON.readTree(e.json());
      node.put("audio_filepath", sample.resolve(node.get("audio_filepath").asText()).toString());
      if (i != 3) {
        npy(dir.resolve("l" + i + ".npy"), v);
        node.put("label_filepath", "l" + i + ".npy"); // relative to the manifest
      }
      lines.add(JSON.writeValueAsString(node));
    }
    Path m = dir.resolve("labels_manifest.json");
    Files.write(m, lines);
    return m;
  }

  @Test
  void batchesPredictTheLabelsAndSkipBadLabelFiles() throws Exception {
    Configuration conf = new Configuration(false);
    NestConfig c = config();
    Path m = labelsManifest(c, conf);
    List<ManifestEntry> entries =
        ManifestReader.unfiltered(conf).read(List.of(m.toString())).entries();
    NestBatchBuilder b =
        NestBatchBuilder.of(
            c.settings(), "model.train_ds", List.of(), conf, FrozenModules.drawn(c.settings()));
    NestBatchBuilder.Result r = b.build(entries, conf, true, 5L);
    assertEquals(3, r.skipped().size(), r.skipped().toString());
    assertTrue(
        r.skipped().get(0).startsWith(m + ":2: ")
            && r.skipped().get(0).contains("l1.npy: ")
            && r.skipped().get(0).contains(" labels, the utterance has "),
        r.skipped().get(0));
    assertTrue(
        r.skipped().get(1).startsWith(m + ":3: ")
            && r.skipped()
                .get(1)
                .contains("label 7 at frame 5 is outside [0, model.num_classes = 7)"),
        r.skipped().get(1));
    assertTrue(
        r.skipped().get(2).startsWith(m + ":4: ")
            && r.skipped().get(2).contains("no label_filepath"),
        r.skipped().get(2));
    NestBatch batch = r.batch();
    assertNotNull(batch);
    assertEquals(1, batch.batchSize());
    int tp = batch.numTokens();
    int enc = (batch.featureLengths()[0] + 7) / 8;
    float[] sel = batch.labelsMask();
    int selected = 0;
    for (int j = 0; j < tp; j++) {
      assertEquals(j < enc ? (j * 3) % 7 : 0, batch.tokens()[j], "position " + j);
      if (sel[j] > 0) {
        selected++;
        assertTrue(j < enc, "a selected position has a label");
      }
    }
    assertTrue(selected > 0);
    // the same seed with the quantizer gives the same masks and selection: only the targets change
    NestConfig q =
        NestConfig.load(
            List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
            List.of("model.num_classes=7"),
            conf);
    NestBatch withQuantizer =
        NestBatchBuilder.of(
                q.settings(), "model.train_ds", List.of(), conf, FrozenModules.drawn(q.settings()))
            .build(r.entries(), conf, true, 5L)
            .batch();
    assertTrue(java.util.Arrays.equals(sel, withQuantizer.labelsMask()));
    assertTrue(!java.util.Arrays.equals(batch.tokens(), withQuantizer.tokens()));
  }

  @Test
  void refusesManifestsWithoutLabelsAndAnotherK() throws Exception {
    Configuration conf = new Configuration(false);
    NestConfig c0 = config();
    Path m = labelsManifest(c0, conf);
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LabelTargets.check(config("model.train_ds.manifest_filepath=" + m), conf));
    assertEquals(
        "model.train_ds.manifest_filepath: model.targets = labels needs a label_filepath in every entry (labels manifests of nest kmeans); "
            + "1 of 4 entries have none, first "
            + m
            + ":4",
        e.getMessage());
    List<String> lines = new ArrayList<>(Files.readAllLines(m));
    lines.remove(3);
    Files.write(m, lines);
    LabelTargets.check(config("model.train_ds.manifest_filepath=" + m), conf);
    Files.writeString(dir.resolve(LabelTargets.SUMMARY), "{\"num_clusters\": 9, \"dim\": 39}");
    e =
        assertThrows(
            IllegalArgumentException.class,
            () -> LabelTargets.check(config("model.validation_ds.manifest_filepath=" + m), conf));
    assertTrue(
        e.getMessage()
            .startsWith(
                "model.num_classes = 7 but the labels of "
                    + m
                    + " come from a k-means fit with 9 clusters"),
        e.getMessage());
    LabelTargets.check(
        config("model.train_ds.manifest_filepath=" + m, "model.num_classes=9"), conf);
    // the quantizer's targets need nothing of the kind
    LabelTargets.check(
        NestConfig.load(List.of(), List.of("model.train_ds.manifest_filepath=" + m), conf), conf);
    // and labels need one book
    assertThrows(org.nestspark.config.NestConfigException.class, () -> config("model.num_books=2"));
  }
}
