package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointIO;
import org.nestspark.train.NoamAnnealing;

/**
 * {@code nest pretrain} end to end on Spark local[2] with the tiny preset and the bundled sample corpus:
 * metrics, validation, checkpoints, a bad manifest line and a missing audio file, then a restart that
 * resumes at the saved step and continues the metrics.
 */
class PretrainJobTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;

  static Run nest(List<String> args) {
    return Nest.run(args);
  }

  /** The effective records of {@code kind} of a run folder ({@link MetricsReader}). */
  static List<JsonNode> records(Path runDir, String kind) throws Exception {
    return MetricsReader.read(
            new org.apache.hadoop.fs.Path(runDir.toUri()), new Configuration(false))
        .ofKind(kind);
  }

  /** The sample's training manifest with absolute paths, one malformed line and one missing file. */
  private Path damagedTrainManifest() throws Exception {
    List<String> lines = new ArrayList<>();
    Path speechDir = REPO.resolve("deploy/sample");
    for (String line : Files.readAllLines(speechDir.resolve("train_manifest.json"))) {
      JsonNode n = JSON.readTree(line);
      ((com.fasterxml.jackson.databind.node.ObjectNode) n)
          .put("audio_filepath", speechDir.resolve(n.get("audio_filepath").asText()).toString());
      lines.add(JSON.writeValueAsString(n));
    }
    lines.add(3, "{\"audio_filepath\": \"broken.wav\", \"duration\": ");
    lines.add("{\"audio_filepath\": \"" + dir.resolve("gone.wav") + "\", \"duration\": 2.5}");
    Path m = dir.resolve("train with damage.json");
    Files.write(m, lines);
    return m;
  }

  private List<String> args(Path manifest, int maxSteps) {
    return new ArrayList<>(
        List.of(
            "pretrain",
            "--config",
            REPO.resolve("conf/nest-tiny.conf").toString(),
            "model.train_ds.manifest_filepath=" + manifest,
            "model.train_ds.noise_manifest=" + REPO.resolve("deploy/sample/noise_manifest.json"),
            "model.validation_ds.manifest_filepath="
                + REPO.resolve("deploy/sample/val_manifest.json"),
            "exp_manager.exp_dir=" + dir.resolve("exp"),
            "trainer.max_steps=" + maxSteps,
            "trainer.val_check_interval=6",
            "trainer.log_every_n_steps=3",
            "spark.master=local[2]"));
  }

  @Test
  void pretrainsValidatesCheckpointsAndResumes() throws Exception {
    Path manifest = damagedTrainManifest();
    Run a = nest(args(manifest, 12));
    assertEquals(0, a.code(), a.out() + a.err());
    Path run = dir.resolve("exp/nest");
    Path metrics = run;

    // the bad line is reported with file and line, the missing file with its path; both are counted
    assertTrue(a.out().contains("train with damage.json:4"), a.out());
    assertTrue(a.out().contains("gone.wav"), a.out());
    long skippedUtterances = 0;
    for (JsonNode e : records(metrics, "epoch")) {
      skippedUtterances += e.get("skipped_utterances").asLong();
    }
    assertTrue(skippedUtterances >= 1, "the missing file is counted in the epoch records");

    // train records every 3 steps with NeMo's schedule
    NestConfig cfg =
        NestConfig.load(
            List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
            List.of(),
            new Configuration(false));
    NoamAnnealing noam = NoamAnnealing.of(cfg.settings().optim());
    List<Long> steps = new ArrayList<>();
    for (JsonNode r : records(metrics, "train")) {
      long s = r.get("step").asLong();
      steps.add(s);
      assertTrue(Double.isFinite(r.get("train_loss").asDouble()), r.toString());
      double acc = r.get("masked_accuracy").asDouble();
      assertTrue(acc >= 0 && acc <= 1, r.toString());
      assertEquals(noam.valueAt((int) (s - 1), 0), r.get("lr").asDouble(), 1e-12, r.toString());
      assertTrue(r.get("audio_seconds_per_second").asDouble() > 0, r.toString());
      assertTrue(r.has("epoch") && r.has("steps_per_second"), r.toString());
    }
    assertEquals(List.of(3L, 6L, 9L, 12L), steps);
    List<JsonNode> vals = records(metrics, "val");
    assertEquals(2, vals.size());
    assertEquals(6, vals.get(0).get("step").asLong());
    assertEquals(12, vals.get(1).get("step").asLong());
    for (JsonNode v : vals) {
      assertTrue(
          Double.isFinite(v.get("val_loss").asDouble()) && v.get("val_batches").asInt() == 1,
          v.toString());
    }
    assertTrue(a.out().contains("[pretrain] step 12/12"), a.out());

    // checkpoints: the last two are kept (and the best, one of them or another)
    Path ckpts = run.resolve("checkpoints");
    assertTrue(Files.exists(ckpts.resolve("step-000012.ckpt")));
    assertTrue(Files.exists(ckpts.resolve("step-000006.ckpt")));
    Checkpoint c =
        CheckpointIO.load(
            new org.apache.hadoop.fs.Path(ckpts.resolve("step-000012.ckpt").toUri()),
            new Configuration(false));
    assertEquals(12, c.step());
    assertEquals(12, c.model().getIterationCount());
    String manifestSha =
        java.util.HexFormat.of()
            .formatHex(
                java.security.MessageDigest.getInstance("SHA-256")
                    .digest(Files.readAllBytes(manifest)));
    assertEquals(
        manifestSha,
        c.provenance().manifestSha256().get(manifest.toString()),
        c.provenance().toString());
    assertEquals(
        3, c.provenance().manifestSha256().size(), "train, noise and validation manifests");
    JsonNode best = JSON.readTree(ckpts.resolve("best.json").toFile());
    double bestLoss =
        Math.min(vals.get(0).get("val_loss").asDouble(), vals.get(1).get("val_loss").asDouble());
    assertEquals(bestLoss, best.get("metric").asDouble(), 0.0);
    // always_save_nemo: the best weights as a .nemo that imports back to the best checkpoint's
    // encoder
    org.nestspark.nemo.NemoModel nemo =
        org.nestspark.nemo.NemoArchive.read(
            new org.apache.hadoop.fs.Path(ckpts.resolve("nest.nemo").toUri()),
            new Configuration(false));
    Checkpoint bestCkpt =
        CheckpointIO.load(
            new org.apache.hadoop.fs.Path(ckpts.resolve(best.get("checkpoint").asText()).toUri()),
            new Configuration(false));
    String key = "encoder.layers.0.feed_forward1.linear1.weight";
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        org.nestspark.model.NemoStateDict.fromGraph(bestCkpt.model()).get(key).toFloatArray(),
        nemo.tensor(key).toFloatArray());
    // the run's frozen modules (drawn from data.seed: a run from scratch) are in every checkpoint
    // and in the .nemo
    assertTrue(
        a.out()
            .contains(
                "[pretrain] quantizer and mask embedding: drawn from data.seed="
                    + cfg.getLong("data.seed")),
        a.out());
    org.nestspark.ssl.FrozenModules drawn = org.nestspark.ssl.FrozenModules.drawn(cfg.settings());
    assertTrue(
        drawn.sameValues(c.frozen()), "checkpoint holds the run's quantizer and mask embedding");
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        drawn.quantizer(cfg.settings()).codebooks(),
        nemo.tensor("quantizer.codebooks").toDoubleArray());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        drawn.masking(cfg.settings()).maskEmbedding(),
        nemo.tensor("mask_processor.mask_embedding").toFloatArray());

    // the preview of the first batch: clean and masked noisy log-mels of one utterance and its
    // frame mask
    org.nestspark.io.NpyArray clean =
        org.nestspark.io.Npy.read(run.resolve("preview/clean_features.npy"));
    org.nestspark.io.NpyArray noisy =
        org.nestspark.io.Npy.read(run.resolve("preview/noisy_features.npy"));
    org.nestspark.io.NpyArray mask =
        org.nestspark.io.Npy.read(run.resolve("preview/frame_mask.npy"));
    JsonNode preview = JSON.readTree(run.resolve("preview/preview.json").toFile());
    int frames = preview.get("frames").asInt();
    assertTrue(frames > 50, preview.toString());
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {80, frames}, clean.shape());
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {80, frames}, noisy.shape());
    org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {frames}, mask.shape());
    long maskedFrames = 0;
    for (int j = 0; j < frames; j++) {
      maskedFrames += mask.getDouble(j) > 0 ? 1 : 0;
    }
    assertEquals(preview.get("masked_frames").asLong(), maskedFrames);
    assertTrue(maskedFrames > 0 && maskedFrames < frames, preview.toString());

    // a second attempt while this run's lock is alive is refused before any work
    try (org.nestspark.io.RunLock held =
        org.nestspark.io.RunLock.acquire(
            new org.apache.hadoop.fs.Path(run.toUri()),
            new Configuration(false),
            java.time.Duration.ofMinutes(5),
            java.time.Duration.ofSeconds(30))) {
      Run refused = nest(args(manifest, 18));
      assertEquals(75, refused.code(), refused.out() + refused.err());
      assertTrue(refused.err().contains(".lock"), refused.err());
      assertEquals(4, records(metrics, "train").size(), "nothing was trained");
    }

    // a restart on the same exp_dir resumes at step 12 and the metrics continue from there
    Run b = nest(args(manifest, 18));
    assertEquals(0, b.code(), b.out() + b.err());
    assertTrue(b.out().contains("resuming") && b.out().contains("at step 12"), b.out());
    List<Long> after = new ArrayList<>();
    for (JsonNode r : records(metrics, "train")) {
      after.add(r.get("step").asLong());
    }
    assertEquals(List.of(3L, 6L, 9L, 12L, 15L, 18L), after);
    assertEquals(3, records(metrics, "val").size());
    assertTrue(Files.exists(ckpts.resolve("step-000018.ckpt")));
    assertTrue(
        drawn.sameValues(
            CheckpointIO.load(
                    new org.apache.hadoop.fs.Path(ckpts.resolve("step-000018.ckpt").toUri()),
                    new Configuration(false))
                .frozen()),
        "the resumed run kept them");
    assertTrue(
        !Files.exists(ckpts.resolve("step-000006.ckpt")) || best.get("step").asLong() == 6,
        "older checkpoints are pruned");

    // one metrics file per attempt, appended; the second starts with where it resumed from
    assertTrue(
        Files.exists(run.resolve("metrics/attempt-0001.jsonl"))
            && Files.exists(run.resolve("metrics/attempt-0002.jsonl")));
    JsonNode second =
        JSON.readTree(Files.readAllLines(run.resolve("metrics/attempt-0002.jsonl")).get(0));
    assertEquals("attempt", second.get("kind").asText());
    assertEquals(12, second.get("resumed_from").asLong());
    // NeMo's run-folder files: hparams.yaml (cfg: model/trainer/exp_manager), cmd-args.log (a line
    // per attempt)
    String hparams = Files.readString(run.resolve("hparams.yaml"));
    assertTrue(
        hparams.startsWith("cfg:\n  model:\n")
            && hparams.contains("\n  trainer:\n")
            && hparams.contains("    max_steps: 18\n")
            && hparams.contains("\n  exp_manager:\n"),
        hparams);
    List<String> cmdArgs = Files.readAllLines(run.resolve("cmd-args.log"));
    assertEquals(2, cmdArgs.size(), cmdArgs.toString());
    assertTrue(
        cmdArgs.get(0).startsWith("nest pretrain --config ")
            && cmdArgs
                .get(0)
                .endsWith(
                    "trainer.max_steps=12 trainer.val_check_interval=6"
                        + " trainer.log_every_n_steps=3 'spark.master=local[2]'"),
        cmdArgs.get(0));
    // TensorBoard: an event file per attempt whose scalars, read back, are the metrics' (NeMo's
    // tags where NeMo has one)
    List<Path> events;
    try (java.util.stream.Stream<Path> files = Files.list(run)) {
      events =
          files
              .filter(f -> f.getFileName().toString().startsWith("events.out.tfevents."))
              .sorted()
              .toList();
    }
    assertEquals(2, events.size(), events.toString());
    java.util.Map<String, java.util.TreeMap<Long, Float>> scalars =
        org.nestspark.job.tensorboard.EventFileReader.scalarsWithPurge(events);
    java.util.TreeMap<Long, Float> trainLoss = scalars.get("train_loss");
    assertEquals(List.of(3L, 6L, 9L, 12L, 15L, 18L), new ArrayList<>(trainLoss.keySet()));
    for (JsonNode r : records(metrics, "train")) {
      long s = r.get("step").asLong();
      assertEquals((float) r.get("train_loss").asDouble(), trainLoss.get(s), 0f, "step " + s);
      assertEquals((float) r.get("lr").asDouble(), scalars.get("learning_rate").get(s), 0f);
      assertEquals(
          (float) r.get("masked_accuracy").asDouble(), scalars.get("masked_accuracy").get(s), 0f);
      assertEquals((float) s, scalars.get("global_step").get(s), 0f);
    }
    assertEquals(List.of(6L, 12L, 18L), new ArrayList<>(scalars.get("val_loss").keySet()));
    assertEquals(
        (float) records(metrics, "val").get(2).get("val_loss").asDouble(),
        scalars.get("val_loss").get(18L),
        0f);
    assertTrue(
        scalars.containsKey("val_masked_accuracy")
            && scalars.containsKey("audio_seconds_per_second"),
        scalars.keySet().toString());
  }

  private List<String> diloco(String exp, int maxSteps) {
    return new ArrayList<>(
        List.of(
            "pretrain",
            "--config",
            REPO.resolve("conf/nest-tiny.conf").toString(),
            "model.train_ds.manifest_filepath=" + REPO.resolve("deploy/sample/train_manifest.json"),
            "model.train_ds.noise_manifest=" + REPO.resolve("deploy/sample/noise_manifest.json"),
            "model.validation_ds.manifest_filepath="
                + REPO.resolve("deploy/sample/val_manifest.json"),
            "exp_manager.exp_dir=" + dir.resolve(exp),
            "trainer.max_steps=" + maxSteps,
            "trainer.val_check_interval=6",
            "trainer.log_every_n_steps=3",
            "spark.master=local[2]",
            "pretrain.num_workers=2",
            "pretrain.strategy=diloco",
            "pretrain.diloco.inner_steps=3",
            "pretrain.diloco.delta_dtype=bfloat16"));
  }

  private static float[] params(Path ckpt) throws Exception {
    Checkpoint c =
        CheckpointIO.load(new org.apache.hadoop.fs.Path(ckpt.toUri()), new Configuration(false));
    return c.model().params().toFloatVector();
  }

  @Test
  void dilocoLearnsAndResumesAtARoundBoundaryBitForBit() throws Exception {
    Run straight = nest(diloco("straight", 12));
    assertEquals(0, straight.code(), straight.out() + straight.err());
    assertTrue(
        straight.out().contains("DiLoCo with 2 workers, 3 inner steps per round"), straight.out());
    Path run = dir.resolve("straight/nest");
    List<JsonNode> vals = records(run, "val");
    assertEquals(2, vals.size());
    double firstTrain = records(run, "train").get(0).get("train_loss").asDouble();
    // the 28-utterance sample is learnt (and soon overfitted) by the tiny preset: both validations
    // are below
    // the untrained model's loss (the first training step's, about ln 256 = 5.55)
    for (JsonNode v : vals) {
      assertTrue(
          v.get("val_loss").asDouble() < firstTrain && v.get("val_loss").asDouble() < Math.log(256),
          "validation loss below the untrained model's: "
              + vals
              + ", first train loss "
              + firstTrain);
    }
    List<JsonNode> timing = records(run, "timing");
    // 7 batches an epoch, rounds of up to 3 steps x 2 workers, cut at each epoch's end
    assertTrue(timing.size() >= 4, timing.toString());
    assertEquals(2, timing.get(0).get("worker_starts").asInt());
    for (JsonNode t : timing.subList(1, timing.size())) {
      assertEquals(0, t.get("worker_starts").asInt(), "the workers are kept between rounds: " + t);
      assertEquals(0, t.get("worker_restarts").asInt(), t.toString());
    }
    long n = params(run.resolve("checkpoints/step-000012.ckpt")).length;
    JsonNode t0 = timing.get(0);
    assertEquals(2, t0.get("workers").asInt());
    assertEquals(2 * 2 * n, t0.get("bytes_up").asLong(), "two bfloat16 deltas per round");
    assertEquals(2 * 4 * n, t0.get("bytes_down").asLong(), "the float32 weights to two workers");
    assertTrue(Files.exists(run.resolve("checkpoints/step-000006.diloco/worker-001.npy")));

    // the same run stopped at step 6 and started again: same weights at step 12, bit for bit
    Run first = nest(diloco("resumed", 6));
    assertEquals(0, first.code(), first.out() + first.err());
    Run second = nest(diloco("resumed", 12));
    assertEquals(0, second.code(), second.out() + second.err());
    assertTrue(
        second.out().contains("at step 6") && !second.out().contains("warning"), second.out());
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        params(run.resolve("checkpoints/step-000012.ckpt")),
        params(dir.resolve("resumed/nest/checkpoints/step-000012.ckpt")));
    List<JsonNode> a = records(run, "train");
    List<JsonNode> b = records(dir.resolve("resumed/nest"), "train");
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertEquals(
          a.get(i).get("train_loss").asDouble(),
          b.get(i).get("train_loss").asDouble(),
          0.0,
          "step " + a.get(i).get("step"));
    }
  }

  /** A run whose every training utterance is skipped fails (exit 1) instead of counting steps that trained nothing. */
  @Test
  void aRunThatTrainsOnNoAudioFails() throws Exception {
    List<String> lines = new ArrayList<>();
    for (String line : Files.readAllLines(REPO.resolve("deploy/sample/train_manifest.json"))) {
      JsonNode n = JSON.readTree(line);
      ((com.fasterxml.jackson.databind.node.ObjectNode) n)
          .put(
              "audio_filepath",
              dir.resolve("moved").resolve(n.get("audio_filepath").asText()).toString());
      lines.add(JSON.writeValueAsString(n));
    }
    Path m = dir.resolve("moved.json");
    Files.write(m, lines);
    Run r = nest(args(m, 3));
    assertEquals(PretrainExit.FAILED.code, r.code(), r.out() + r.err());
    assertTrue(
        r.err()
            .contains(
                "trained on no audio: every utterance of its batches was skipped (28 training utterances"),
        r.err());
    assertTrue(r.out().contains("no such file"), "the reasons are printed as they happen");
  }

  @Test
  void refusesAConfigurationWithoutManifestOrRunFolder() {
    Run r =
        nest(
            List.of(
                "pretrain",
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "spark.master=local[1]"));
    assertEquals(2, r.code());
    assertTrue(
        r.err().contains("model.train_ds.manifest_filepath: required")
            && r.err().contains("exp_manager.exp_dir: required"),
        r.err());
  }
}
