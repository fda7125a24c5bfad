package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;

/** The driver's batch plan from configuration: fixed-count by default, duration-based with batch_duration. */
class TrainingDataTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final Path SAMPLE = REPO.resolve("deploy/sample");

  private static TrainingData data(PrintStream out, String... overrides) throws Exception {
    List<String> o =
        new ArrayList<>(
            List.of(
                "model.train_ds.manifest_filepath=" + SAMPLE.resolve("train_manifest.json"),
                "model.validation_ds.manifest_filepath=" + SAMPLE.resolve("val_manifest.json")));
    o.addAll(List.of(overrides));
    NestConfig cfg =
        NestConfig.load(
            List.of(REPO.resolve("conf/nest-tiny.conf").toString()), o, new Configuration(false));
    return new TrainingData(cfg, new Configuration(false), out);
  }

  private static double seconds(BatchSpec s) {
    return s.entries().stream().mapToDouble(ManifestEntry::duration).max().orElse(0)
        * s.entries().size();
  }

  @Test
  void batchDurationPlansBatchesWithinItsSecondsAndResumesExactly() throws Exception {
    String[] keys = {
      "model.train_ds.batch_duration=12",
      "model.train_ds.num_buckets=3",
      "model.train_ds.drop_last=false"
    };
    TrainingData a = data(System.out, keys);
    assertTrue(a.describeBatches().startsWith("batches of at most 12 s"), a.describeBatches());
    int total = 0;
    for (int epoch = 0; epoch < 2; epoch++) {
      List<int[]> plan = a.plan(epoch);
      int cuts = 0;
      for (int b = 0; b < plan.size(); b++) {
        BatchSpec s = a.trainingSpec(plan, epoch, b);
        assertTrue(seconds(s) <= 12, s.where() + " pads to " + seconds(s) + " s");
        assertTrue(
            s.entries().size() <= 4, "batch_size (4 in the tiny preset) caps the utterances");
        cuts += s.entries().size();
      }
      assertEquals(a.train.size(), cuts, "every utterance once in epoch " + epoch);
      total += plan.size();
    }
    assertTrue(
        total > 2 * (a.train.size() / 4), "more, smaller batches than 4 utterances each: " + total);

    // a restart (new driver, same configuration) resumes at epoch 1 batch 2 with the same batches
    // and seeds
    TrainingData b = data(System.out, keys);
    List<int[]> pa = a.plan(1);
    List<int[]> pb = b.plan(1);
    assertEquals(pa.size(), pb.size());
    for (int i = 2; i < pa.size(); i++) {
      assertEquals(a.trainingSpec(pa, 1, i), b.trainingSpec(pb, 1, i));
    }
  }

  @Test
  void withoutBatchDurationTheFixedCountPlanIsUnchanged() throws Exception {
    TrainingData d = data(System.out);
    NestConfig cfg =
        NestConfig.load(
            List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
            List.of(),
            new Configuration(false));
    int batchSize = cfg.getInt("model.train_ds.batch_size");
    assertEquals(batchSize + " utterances per batch", d.describeBatches());
    org.nestspark.batch.BatchPlanner old =
        new org.nestspark.batch.BatchPlanner(
            batchSize,
            cfg.getBoolean("model.train_ds.shuffle"),
            cfg.getBoolean("model.train_ds.drop_last"),
            cfg.getInt("pretrain.bucket_batches"),
            cfg.getLong("data.seed"));
    List<int[]> want = old.plan(TrainingData.durations(d.train), 3);
    List<int[]> got = d.plan(3);
    assertEquals(want.size(), got.size());
    for (int i = 0; i < want.size(); i++) {
      assertEquals(java.util.Arrays.toString(want.get(i)), java.util.Arrays.toString(got.get(i)));
    }
    // validation stays fixed-count
    for (BatchSpec s : d.validationSpecs()) {
      assertTrue(s.entries().size() <= batchSize);
    }
  }

  @Test
  void validationUsesItsOwnBatchDurationAndOversizeUtterancesAreReported() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    TrainingData d =
        data(
            new PrintStream(buf, true, StandardCharsets.UTF_8),
            "model.validation_ds.batch_duration=2.0",
            "model.train_ds.batch_duration=30",
            "model.train_ds.num_buckets=2");
    String log = buf.toString(StandardCharsets.UTF_8);
    assertTrue(log.contains("model.validation_ds: "), log);
    assertTrue(
        log.contains("cost more than batch_duration=2.0 s on their own; each is a batch of one"),
        log);
    int cuts = 0;
    for (BatchSpec s : d.validationSpecs()) {
      assertTrue(s.entries().size() == 1 || seconds(s) <= 2.0, s.where() + ": " + seconds(s));
      cuts += s.entries().size();
    }
    assertEquals(d.validation.size(), cuts);
  }

  @Test
  void tooManyBucketsForATinyCorpusStopBeforeTraining() {
    // 28 utterances in 30 buckets: about one per bucket, never a batch close to 30 s, and drop_last
    // drops them all
    ManifestException e =
        assertThrows(
            ManifestException.class, () -> data(System.out, "model.train_ds.batch_duration=30"));
    assertTrue(
        e.getMessage()
            .startsWith(
                "model.train_ds: 28 usable utterances make no complete batch (batches of at most 30 s"),
        e.getMessage());
  }

  @Test
  void batchDurationNeedsEveryDuration(@TempDir Path dir) throws Exception {
    Path manifest = dir.resolve("m.json");
    Files.writeString(
        manifest,
        "{\"audio_filepath\": \""
            + SAMPLE.resolve("speech/utt_00.wav")
            + "\", \"duration\": 3.1}\n"
            + "{\"audio_filepath\": \""
            + SAMPLE.resolve("speech/utt_01.flac")
            + "\"}\n");
    ManifestException e =
        assertThrows(
            ManifestException.class,
            () ->
                data(
                    System.out,
                    "model.train_ds.manifest_filepath=" + manifest,
                    "model.train_ds.batch_duration=20",
                    "model.train_ds.min_duration=0"));
    assertTrue(
        e.getMessage()
            .contains(
                "model.train_ds.batch_duration needs every entry's duration: 1 entries have none (first: "
                    + manifest),
        e.getMessage());
  }
}
