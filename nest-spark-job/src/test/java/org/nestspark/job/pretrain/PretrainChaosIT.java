package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.job.testkit.StandaloneCluster;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointIO;

/**
 * Repeated faults on a real Spark standalone cluster (master and two one-core workers as separate JVMs,
 * {@code deploy/standalone/cluster.sh}; the job submitted with {@code submit.sh} as users do): one pretraining
 * run (tiny model, bundled sample, parameter averaging at {@code averaging_frequency} 1) during which an
 * executor JVM is SIGKILLed three times, each at a round task's start chosen by a seeded random draw among the
 * task starts Spark's status listener reports (the driver's REST API), then the driver halts between writing a
 * checkpoint's temporary file and renaming it ({@link CheckpointManager#HALT_BEFORE_RENAME_PROPERTY}, given to
 * the first attempt's JVM through {@code JAVA_TOOL_OPTIONS}), and the run is resumed with the same command.
 *
 * <p>Shown against an undisturbed run with the same seeds: the metrics hold every step once and in order; every
 * step's batches hash the same; the final weights and AdamW moments are equal; and, from Spark's own event log
 * (task-end events: attempt numbers, {@code ExecutorLostFailure} reasons, the
 * {@value RoundTrainer#BATCH_SHA256_ACCUMULATOR} accumulator's per-task updates), each killed task was run
 * again and its rebuilt batch is the undisturbed run's.
 */
class PretrainChaosIT {
  static final Path REPO = StandaloneCluster.REPO;
  static final Path WORK = REPO.resolve("nest-spark-job/target/it-chaos");
  static final int STEPS = 12;
  static final int CHECKPOINT_EVERY = 4;
  static final int HALT_AT = 8;
  static final int UI_PORT = 24141;
  static final long SEED = 16;
  static final ObjectMapper JSON = new ObjectMapper();

  @RegisterExtension
  static final StandaloneCluster CLUSTER = new StandaloneCluster("it-chaos-cluster", 2, 1, "2g");

  @BeforeAll
  static void emptyWork() throws IOException {
    StandaloneCluster.emptyDir(WORK);
  }

  /** The user's command: identical for every attempt of a run; {@code javaToolOptions} is the test hook's channel. */
  private static Process submit(Path exp, Path events, Path log, String javaToolOptions)
      throws IOException {
    ProcessBuilder pb =
        CLUSTER.submit(
            events,
            List.of("spark.ui.port=" + UI_PORT, "spark.port.maxRetries=0"),
            List.of(
                "pretrain",
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "model.train_ds.manifest_filepath="
                    + REPO.resolve("deploy/sample/train_manifest.json"),
                "model.train_ds.noise_manifest="
                    + REPO.resolve("deploy/sample/noise_manifest.json"),
                "exp_manager.exp_dir=" + exp,
                "trainer.max_steps=" + STEPS,
                "trainer.val_check_interval=1000",
                "trainer.log_every_n_steps=1",
                "exp_manager.checkpoint_callback_params.every_n_train_steps=" + CHECKPOINT_EVERY,
                "pretrain.num_workers=2",
                "pretrain.strategy=parameter_averaging",
                "pretrain.averaging_frequency=1",
                "pretrain.average_updater_state=true",
                "pretrain.lock_ttl_seconds=6",
                "pretrain.lock_heartbeat_seconds=2"));
    if (javaToolOptions != null) {
      pb.environment().put("JAVA_TOOL_OPTIONS", javaToolOptions);
    } else {
      pb.environment().remove("JAVA_TOOL_OPTIONS");
    }
    return pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static MetricsReader.Result metrics(Path exp) throws IOException {
    return MetricsReader.read(
        new org.apache.hadoop.fs.Path(exp.resolve("nest").toUri()),
        new org.apache.hadoop.conf.Configuration(false));
  }

  /** step:worker → batch SHA-256, from the effective timing records of a run. */
  private static Map<String, String> batchHashes(Path exp) throws IOException {
    Map<String, String> out = new TreeMap<>();
    for (JsonNode t : metrics(exp).ofKind("timing")) {
      t.get("batch_sha256")
          .fields()
          .forEachRemaining(
              e ->
                  assertEquals(
                      null, out.put(e.getKey(), e.getValue().asText()), "twice: " + e.getKey()));
    }
    return out;
  }

  private static void assertEveryStepOnceInOrder(Path exp) throws IOException {
    List<Long> steps = new ArrayList<>();
    for (JsonNode r : metrics(exp).ofKind("train")) {
      steps.add(r.get("step").asLong());
    }
    List<Long> want = new ArrayList<>();
    for (long s = 1; s <= STEPS; s++) {
      want.add(s);
    }
    assertEquals(want, steps, "train records of " + exp);
  }

  // ------------------------------------------------------------------ Spark's status and event
  // logs

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  private static JsonNode rest(String path) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + UI_PORT + "/api/v1/" + path))
                  .timeout(Duration.ofSeconds(5))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
    } catch (IOException e) {
      return null; // the driver's UI is not up (yet, or any more)
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A running round task seen through the driver's status API (Spark's AppStatusListener). */
  record Running(long taskId, int index, int attempt, String executorId, int stageId) {}

  /** Round tasks (stages described "pretrain: round ...") now RUNNING. */
  private static List<Running> runningRoundTasks(String app) {
    List<Running> out = new ArrayList<>();
    JsonNode stages = rest("applications/" + app + "/stages?status=active");
    if (stages == null) {
      return out;
    }
    for (JsonNode s : stages) {
      if (!s.path("description").asText("").startsWith("pretrain: round")) {
        continue;
      }
      JsonNode tasks =
          rest(
              "applications/"
                  + app
                  + "/stages/"
                  + s.get("stageId").asInt()
                  + "/"
                  + s.get("attemptId").asInt()
                  + "/taskList?length=100");
      if (tasks == null) {
        continue;
      }
      for (JsonNode t : tasks) {
        if ("RUNNING".equals(t.path("status").asText())) {
          out.add(
              new Running(
                  t.get("taskId").asLong(),
                  t.get("index").asInt(),
                  t.get("attempt").asInt(),
                  t.get("executorId").asText(),
                  s.get("stageId").asInt()));
        }
      }
    }
    return out;
  }

  /** The executor JVM Spark calls {@code executorId}, started by one of the workers. */
  private static Optional<ProcessHandle> executor(String executorId) throws IOException {
    return CLUSTER.executor(executorId);
  }

  // ------------------------------------------------------------------ the test

  @Test
  void threeExecutorKillsAndADriverKilledMidCheckpointChangeNothing() throws Exception {
    // the undisturbed run
    Path calm = WORK.resolve("calm");
    Process p0 = submit(calm, WORK.resolve("calm-events"), WORK.resolve("calm.log"), null);
    assertTrue(p0.waitFor(600, TimeUnit.SECONDS), "the undisturbed run finishes");
    assertEquals(0, p0.exitValue(), Files.readString(WORK.resolve("calm.log")));
    assertEveryStepOnceInOrder(calm);
    Map<String, String> calmHashes = batchHashes(calm);
    for (int s = 1; s <= STEPS; s++) {
      assertTrue(
          calmHashes.containsKey(s + ":0"), "step " + s + " has its batch hash: " + calmHashes);
    }

    // attempt 1: three executor kills at seeded-random round-task starts, then a halt between temp
    // file and rename
    Path chaos = WORK.resolve("chaos");
    Path events = WORK.resolve("chaos-events");
    Random rnd = new Random(SEED);
    TreeSet<Integer> plan = new TreeSet<>();
    while (plan.size() < 3) {
      int k =
          2
              + rnd.nextInt(
                  2 * (HALT_AT - 1)
                      - 3); // the k-th round task seen starting, before the halting checkpoint
      if (plan.stream().allMatch(q -> Math.abs(q - k) >= 3)) {
        plan.add(k);
      }
    }
    Path log1 = WORK.resolve("chaos-1.log");
    Process a1 =
        submit(
            chaos,
            events,
            log1,
            "-D" + CheckpointManager.HALT_BEFORE_RENAME_PROPERTY + "=" + HALT_AT);
    List<Running> killed = new ArrayList<>();
    Map<Long, Integer> seen = new LinkedHashMap<>();
    try {
      String app = null;
      long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
      while (a1.isAlive() && killed.size() < plan.size() && System.nanoTime() < end) {
        if (app == null) {
          JsonNode apps = rest("applications");
          app = apps == null || apps.size() == 0 ? null : apps.get(0).get("id").asText();
        }
        if (app != null) {
          for (Running t : runningRoundTasks(app)) {
            if (seen.containsKey(t.taskId())) {
              continue;
            }
            seen.put(t.taskId(), seen.size() + 1);
            if (killed.size() < plan.size() && seen.size() >= nth(plan, killed.size())) {
              Optional<ProcessHandle> victim = executor(t.executorId());
              assertTrue(victim.isPresent(), "executor " + t.executorId() + " of task " + t);
              assertTrue(victim.get().destroyForcibly(), "SIGKILL executor " + t.executorId());
              killed.add(t);
            }
          }
        }
        Thread.sleep(100);
      }
      assertEquals(
          plan.size(),
          killed.size(),
          "kills planned at round-task starts "
              + plan
              + ", seen "
              + seen.size()
              + ":\n"
              + Files.readString(log1));
      assertTrue(a1.waitFor(600, TimeUnit.SECONDS), "attempt 1 halts at its checkpoint");
    } finally {
      a1.destroyForcibly();
    }
    String out1 = Files.readString(log1);
    assertEquals(137, a1.exitValue(), out1);
    assertTrue(out1.contains("[fault-injection]"), out1);
    Path ckptDir = chaos.resolve("nest/checkpoints");
    assertFalse(
        Files.exists(ckptDir.resolve(CheckpointIO.fileName(HALT_AT))),
        "no checkpoint under its final name");
    try (Stream<Path> files = Files.list(ckptDir)) {
      assertTrue(
          files.anyMatch(
              f ->
                  f.getFileName()
                      .toString()
                      .startsWith("." + CheckpointIO.fileName(HALT_AT) + ".tmp-")),
          "the complete temporary file is left behind");
    }

    // attempt 2: the same command, once the dead driver's lock has expired
    Thread.sleep(7000);
    Path log2 = WORK.resolve("chaos-2.log");
    Process a2 = submit(chaos, events, log2, null);
    try {
      assertTrue(a2.waitFor(600, TimeUnit.SECONDS), "attempt 2 finishes");
    } finally {
      a2.destroyForcibly();
    }
    String out2 = Files.readString(log2);
    assertEquals(0, a2.exitValue(), out2);
    assertTrue(out2.contains("(resumed from step " + (HALT_AT - CHECKPOINT_EVERY) + ")"), out2);

    // the metrics: every step once and in order across the attempts; every step's batches are the
    // undisturbed run's
    assertEquals(2, metrics(chaos).lastAttempt(), "two attempts");
    assertEveryStepOnceInOrder(chaos);
    assertEquals(calmHashes, batchHashes(chaos));

    // the final weights and AdamW moments equal the undisturbed run's
    org.apache.hadoop.conf.Configuration hc = new org.apache.hadoop.conf.Configuration(false);
    Checkpoint a =
        CheckpointIO.load(
            new org.apache.hadoop.fs.Path(
                calm.resolve("nest/checkpoints").resolve(CheckpointIO.fileName(STEPS)).toUri()),
            hc);
    Checkpoint b =
        CheckpointIO.load(
            new org.apache.hadoop.fs.Path(ckptDir.resolve(CheckpointIO.fileName(STEPS)).toUri()),
            hc);
    assertEquals(STEPS, b.step());
    assertArrayEquals(
        a.model().params().data().asFloat(), b.model().params().data().asFloat(), "final weights");
    assertArrayEquals(
        a.model().getUpdater().getStateViewArray().data().asFloat(),
        b.model().getUpdater().getStateViewArray().data().asFloat(),
        "final AdamW moments");

    // Spark's own events: each killed task ended with ExecutorLostFailure and was run again, and
    // the re-run's batch
    // hashes (its accumulator update) are the undisturbed run's for that step and worker
    SparkEventLog log = SparkEventLog.read(events);
    int reruns = 0;
    for (Running k : killed) {
      SparkEventLog.TaskEnd failed =
          log.roundTaskEnds.stream()
              .filter(e -> e.taskId() == k.taskId() && e.stageId() == k.stageId())
              .findFirst()
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "no task-end event for killed task " + k + " in " + log.roundTaskEnds));
      assertEquals("ExecutorLostFailure", failed.reason(), "killed task " + k);
      assertTrue(
          log.executorsRemoved.stream()
              .anyMatch(r -> r.app().equals(failed.app()) && r.executorId().equals(k.executorId())),
          "Spark removed executor " + k.executorId() + ": " + log.executorsRemoved);
      SparkEventLog.TaskEnd again =
          log.rerunOf(failed)
              .orElseThrow(
                  () ->
                      new AssertionError(
                          "killed task "
                              + k
                              + " was not run again successfully: "
                              + log.roundTaskEnds));
      assertFalse(again.batchHashes().isEmpty(), "the re-run reported its batch hashes: " + again);
      for (String h : again.batchHashes()) {
        String[] sws = h.split(":");
        assertEquals(
            calmHashes.get(sws[0] + ":" + sws[1]),
            sws[2],
            "re-run " + again + " rebuilt step " + sws[0] + " worker " + sws[1]);
      }
      reruns++;
    }
    assertEquals(3, reruns);
    System.out.printf(
        "[chaos] kills at round-task starts %s: tasks %s; every re-run rebuilt identical batches%n",
        plan, killed);
  }

  private static int nth(TreeSet<Integer> plan, int i) {
    return new ArrayList<>(plan).get(i);
  }
}
