package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.nestspark.job.testkit.StandaloneCluster;

/**
 * The pretraining job on a real Spark standalone cluster: a master and two workers started as separate JVMs
 * by {@code deploy/standalone/cluster.sh} from Maven's Spark jars, the job submitted with
 * {@code deploy/standalone/submit.sh} (Spark's own {@code SparkSubmit}) with the shaded jar, as users do.
 * Faults are real: one executor JVM is killed with SIGKILL in the middle of a DiLoCo run (shown by Spark's own
 * event log: the executor removed, any task it ran re-run; and by the metrics: the worker restarted, each step
 * once), and the driver is killed after a checkpoint and started again. Repeated faults: {@link PretrainChaosIT}. Runs in {@code integration-test} (after the jar is packaged).
 */
class PretrainClusterIT {
  static final Path REPO = StandaloneCluster.REPO;
  static final Path WORK = REPO.resolve("nest-spark-job/target/it-pretrain");

  @RegisterExtension
  static final StandaloneCluster CLUSTER = new StandaloneCluster("it-cluster", 2, 1, "2g");

  @BeforeAll
  static void emptyWork() throws IOException {
    StandaloneCluster.emptyDir(WORK);
  }

  private static Process submit(Path exp, int maxSteps, Path log, String... extra)
      throws IOException {
    List<String> nest =
        new ArrayList<>(
            List.of(
                "pretrain",
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "model.train_ds.manifest_filepath="
                    + REPO.resolve("deploy/sample/train_manifest.json"),
                "model.train_ds.noise_manifest="
                    + REPO.resolve("deploy/sample/noise_manifest.json"),
                "model.validation_ds.manifest_filepath="
                    + REPO.resolve("deploy/sample/val_manifest.json"),
                "exp_manager.exp_dir=" + exp,
                "trainer.max_steps=" + maxSteps,
                "trainer.val_check_interval=10",
                "trainer.log_every_n_steps=5",
                "pretrain.num_workers=2"));
    nest.addAll(List.of(extra));
    return CLUSTER
        .submit(events(exp), List.of(), nest)
        .redirectErrorStream(true)
        .redirectOutput(log.toFile())
        .start();
  }

  /** Where a run's Spark event logs go (Spark's own listener events, read by {@link SparkEventLog}). */
  private static Path events(Path exp) {
    return WORK.resolve(exp.getFileName() + "-events");
  }

  /** The effective records of {@code kind} of a run folder ({@link MetricsReader}; none before it exists). */
  private static List<JsonNode> records(Path runDir, String kind) throws IOException {
    if (!Files.exists(runDir)) {
      return new ArrayList<>();
    }
    return MetricsReader.read(
            new org.apache.hadoop.fs.Path(runDir.toUri()),
            new org.apache.hadoop.conf.Configuration(false))
        .ofKind(kind);
  }

  private static long lastTrainStep(Path metrics) throws IOException {
    List<JsonNode> r = records(metrics, "train");
    return r.isEmpty() ? 0 : r.get(r.size() - 1).get("step").asLong();
  }

  private static void await(
      String what, Process p, long seconds, java.util.concurrent.Callable<Boolean> cond)
      throws Exception {
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < end) {
      if (cond.call()) {
        return;
      }
      assertTrue(p.isAlive(), "the job ended before " + what);
      Thread.sleep(250);
    }
    throw new AssertionError("timed out waiting for " + what);
  }

  private static List<ProcessHandle> executors() throws IOException {
    return CLUSTER.executors();
  }

  @Test
  void survivesTheLossOfAnExecutor() throws Exception {
    Path exp = WORK.resolve("executor-loss");
    Path log = WORK.resolve("executor-loss.log");
    Path metrics = exp.resolve("nest");
    // DiLoCo: the killed executor held a worker's inner AdamW state, which the worker must start
    // again without
    Process p = submit(exp, 30, log, "pretrain.strategy=diloco", "pretrain.diloco.inner_steps=5");
    try {
      await(
          "training to start",
          p,
          240,
          () -> lastTrainStep(metrics) >= 5 && executors().size() == 2);
      ProcessHandle victim = executors().get(0);
      Optional<String> id = StandaloneCluster.executorId(victim);
      assertTrue(id.isPresent(), "the executor's id on its command line");
      String victimId = id.get();
      assertTrue(victim.destroyForcibly(), "SIGKILL the executor");
      assertTrue(p.waitFor(420, TimeUnit.SECONDS), "the job finishes");
      String out = Files.readString(log);
      assertEquals(0, p.exitValue(), out);
      assertTrue(out.contains("[pretrain] done: step 30,"), out);
      // Spark's own events: the executor was removed; any round task it was running failed with
      // ExecutorLostFailure
      // and ran again successfully elsewhere
      SparkEventLog events = SparkEventLog.read(events(exp));
      assertTrue(
          events.executorsRemoved.stream().anyMatch(r -> r.executorId().equals(victimId)),
          "Spark removed executor " + victimId + ": " + events.executorsRemoved);
      for (SparkEventLog.TaskEnd t : events.roundTaskEnds) {
        if (!t.reason().equals("Success")) {
          assertEquals("ExecutorLostFailure", t.reason(), t.toString());
          assertEquals(victimId, t.executorId(), t.toString());
          assertTrue(events.rerunOf(t).isPresent(), "re-run of " + t + ": " + events.roundTaskEnds);
        }
      }
      List<Long> logged = new ArrayList<>();
      for (JsonNode r : records(metrics, "train")) {
        logged.add(r.get("step").asLong());
      }
      assertEquals(
          List.of(5L, 10L, 15L, 20L, 25L, 30L), logged, "every logged step once, in order");
      List<JsonNode> train = records(metrics, "train");
      JsonNode last = train.get(train.size() - 1);
      assertEquals(30, last.get("step").asLong());
      assertTrue(Double.isFinite(last.get("train_loss").asDouble()), last.toString());
      assertTrue(Files.exists(exp.resolve("nest/checkpoints/step-000030.ckpt")));
      assertTrue(
          Files.exists(exp.resolve("nest/checkpoints/step-000030.diloco/state.json")),
          "the inner states of the last checkpoint");
      long restarts = 0;
      for (JsonNode t : records(metrics, "timing")) {
        restarts += t.get("worker_restarts").asLong();
      }
      assertTrue(
          restarts >= 1,
          "the worker that lost its executor started again and was counted:\n" + out);
      assertTrue(out.contains("started again from the round's weights"), out);
    } finally {
      p.destroyForcibly();
    }
  }

  @Test
  void aKilledDriverResumesFromItsCheckpoint() throws Exception {
    Path exp = WORK.resolve("driver-kill");
    Path metrics = exp.resolve("nest");
    Path ckpt = exp.resolve("nest/checkpoints/step-000010.ckpt");
    String[] lock = {"pretrain.lock_ttl_seconds=40", "pretrain.lock_heartbeat_seconds=3"};
    Process first = submit(exp, 30, WORK.resolve("driver-kill-1.log"), lock);
    try {
      await("the first checkpoint", first, 300, () -> Files.exists(ckpt));
      Thread.sleep(500);
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    } finally {
      first.destroyForcibly();
    }
    assertTrue(Files.exists(ckpt));
    long killedAt = System.nanoTime();
    // started again at once, the dead driver's lock is still fresh: refused, nothing touched
    Path refusedLog = WORK.resolve("driver-kill-refused.log");
    Process refused = submit(exp, 30, refusedLog, lock);
    assertTrue(refused.waitFor(180, TimeUnit.SECONDS));
    String refusedOut = Files.readString(refusedLog);
    assertEquals(PretrainExit.LOCKED.code, refused.exitValue(), refusedOut);
    assertTrue(refusedOut.contains("is locked by"), refusedOut);
    // once its heartbeat is older than the TTL, the next attempt takes the lock over and resumes
    long waitMs =
        TimeUnit.NANOSECONDS.toMillis(killedAt + TimeUnit.SECONDS.toNanos(44) - System.nanoTime());
    if (waitMs > 0) {
      Thread.sleep(waitMs);
    }
    Path log2 = WORK.resolve("driver-kill-2.log");
    Process second = submit(exp, 30, log2, lock);
    try {
      assertTrue(second.waitFor(420, TimeUnit.SECONDS), "the restarted job finishes");
      String out = Files.readString(log2);
      assertEquals(0, second.exitValue(), out);
      long resumedAt = -1;
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("resuming .* at step (\\d+)").matcher(out);
      assertTrue(m.find(), out);
      resumedAt = Long.parseLong(m.group(1));
      assertTrue(resumedAt >= 10, out);
      assertTrue(
          out.contains("[pretrain] done: step 30,")
              && out.contains("(resumed from step " + resumedAt + ")"),
          out);
      // the metrics continue from the checkpoint: each step once, in order, through to the end
      List<Long> steps = new ArrayList<>();
      for (JsonNode r : records(metrics, "train")) {
        steps.add(r.get("step").asLong());
      }
      assertEquals(List.of(5L, 10L, 15L, 20L, 25L, 30L), steps);
      List<Long> vals = new ArrayList<>();
      for (JsonNode r : records(metrics, "val")) {
        vals.add(r.get("step").asLong());
      }
      assertEquals(List.of(10L, 20L, 30L), vals);
    } finally {
      second.destroyForcibly();
    }
  }
}
