package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.MaxTimePerRun;
import org.nestspark.config.NestConfig;
import org.nestspark.config.NestConfigException;
import org.nestspark.job.tensorboard.EventFileReader;
import org.nestspark.job.testkit.Nest;

/**
 * Preemption end to end: a real {@code nest pretrain} process (tiny preset, bundled sample) gets SIGTERM
 * mid-run, finishes its round, saves a checkpoint and exits 3; a second attempt stops on
 * {@code exp_manager.max_time_per_run}; a third finishes. The metrics, TensorBoard scalars and checkpoints
 * then hold every step exactly once. 40-90 s (a JVM and three Spark attempts of the real job, 60 steps): the
 * preemption has to hit a real process mid-run.
 */
class PreemptionIT {
  static final Path REPO = PretrainJobTest.REPO;
  private static final Pattern STEP = Pattern.compile("\\[pretrain\\] step (\\d+)/");

  @TempDir Path dir;

  private List<String> settings(int maxSteps) {
    return new ArrayList<>(
        List.of(
            "--config",
            REPO.resolve("conf/nest-tiny.conf").toString(),
            "--config",
            REPO.resolve("conf/sample-data.conf").toString(),
            "exp_manager.exp_dir=" + dir.resolve("exp"),
            "trainer.max_steps=" + maxSteps,
            "trainer.val_check_interval=100",
            "trainer.log_every_n_steps=1",
            "spark.master=local[1]",
            "pretrain.num_workers=1",
            "exp_manager.checkpoint_callback_params.save_last_k=10",
            // sample-data.conf's paths are relative to the repository (the child process runs
            // there); these attempts run here too
            "model.train_ds.manifest_filepath=" + REPO.resolve("deploy/sample/train_manifest.json"),
            "model.train_ds.noise_manifest=" + REPO.resolve("deploy/sample/noise_manifest.json"),
            "model.validation_ds.manifest_filepath="
                + REPO.resolve("deploy/sample/val_manifest.json"),
            "model.validation_ds.noise_manifest="
                + REPO.resolve("deploy/sample/noise_manifest.json")));
  }

  /** The classpath and JVM options of this test JVM, for a child {@code java} process. */
  private static List<String> java() {
    List<String> cmd =
        new ArrayList<>(
            List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--add-opens")
          || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions")
          || a.startsWith("-Djdk.reflect")
          || a.startsWith("-Dfile.encoding")) {
        cmd.add(a);
      }
    }
    String cp =
        System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    cmd.addAll(
        List.of(
            "-Xmx2g",
            "-cp",
            cp.replace(File.pathSeparator + File.pathSeparator, File.pathSeparator),
            "org.nestspark.job.cli.NestCli"));
    return cmd;
  }

  @Test
  void sigtermStopsAfterTheRoundWithACheckpointAndTheNextAttemptsLoseNoStep() throws Exception {
    int maxSteps =
        60; // the tiny preset does several steps a second: enough that neither stop comes after the
    // end
    List<String> cmd = java();
    cmd.add("pretrain");
    cmd.addAll(settings(maxSteps));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(REPO.toFile()).redirectErrorStream(true);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("SPARK_LOCAL_IP", "127.0.0.1");
    Process p = pb.start();
    StringBuilder log = new StringBuilder();
    CompletableFuture<Long> signalledAt = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  synchronized (log) {
                    log.append(line).append('\n');
                  }
                  Matcher m = STEP.matcher(line);
                  if (m.find() && Long.parseLong(m.group(1)) >= 3 && !signalledAt.isDone()) {
                    signalledAt.complete(Long.parseLong(m.group(1)));
                    p.toHandle()
                        .destroy(); // SIGTERM, as YARN, Kubernetes and SLURM send (Process.destroy
                    // would also close our end of its output)
                  }
                }
              } catch (Exception e) {
                signalledAt.completeExceptionally(e);
              }
            });
    reader.start();
    boolean exited = p.waitFor(300, TimeUnit.SECONDS);
    if (!exited) {
      p.destroyForcibly();
    }
    reader.join(10_000);
    String out;
    synchronized (log) {
      out = log.toString();
    }
    assertTrue(exited, "the attempt exited after SIGTERM\n" + out);
    assertTrue(signalledAt.isDone(), out);
    assertEquals(PretrainExit.STOPPED.code, p.exitValue(), out);
    assertTrue(out.contains("SIGTERM: finishing the current round"), out);
    Matcher stopped =
        Pattern.compile("\\[pretrain\\] stopping at step (\\d+): SIGTERM").matcher(out);
    assertTrue(stopped.find(), out);
    long first = Long.parseLong(stopped.group(1));
    assertTrue(
        first >= signalledAt.get() && first < maxSteps,
        "stopped mid-run at step " + first + "\n" + out);
    Path run = dir.resolve("exp/nest");
    assertTrue(
        Files.exists(run.resolve(String.format("checkpoints/step-%06d.ckpt", first))),
        "a checkpoint at the step it stopped at");

    // attempt 2: resumes there, and exp_manager.max_time_per_run stops it too (at some step, maybe
    // at once)
    List<String> second = new ArrayList<>(List.of("pretrain"));
    second.addAll(settings(maxSteps));
    second.add("exp_manager.max_time_per_run=00:00:00:05");
    Nest.Run b = PretrainJobTest.nest(second);
    assertEquals(PretrainExit.STOPPED.code, b.code(), b.out() + b.err());
    assertTrue(b.out().contains("at step " + first + " "), b.out());
    Matcher budget =
        Pattern.compile(
                "\\[pretrain\\] stopping at step (\\d+): exp_manager.max_time_per_run \\(00:00:00:05\\) passed")
            .matcher(b.out());
    assertTrue(budget.find(), b.out());
    long secondStop = Long.parseLong(budget.group(1));
    assertTrue(secondStop >= first && secondStop < maxSteps, b.out());
    assertTrue(Files.exists(run.resolve(String.format("checkpoints/step-%06d.ckpt", secondStop))));

    // attempt 3 finishes
    List<String> third = new ArrayList<>(List.of("pretrain"));
    third.addAll(settings(maxSteps));
    Nest.Run c = PretrainJobTest.nest(third);
    assertEquals(0, c.code(), c.out() + c.err());
    assertTrue(c.out().contains("at step " + secondStop + " "), c.out());

    // every step exactly once: train records (one per step), the rounds' timing records (one step
    // per round)
    MetricsReader.Result m =
        MetricsReader.read(new org.apache.hadoop.fs.Path(run.toUri()), new Configuration(false));
    List<Long> all = new ArrayList<>();
    for (long s = 1; s <= maxSteps; s++) {
      all.add(s);
    }
    assertEquals(all, steps(m.ofKind("train")), "train records");
    assertEquals(all, steps(m.ofKind("timing")), "rounds");
    assertEquals(3, m.ofKind(MetricsLog.ATTEMPT).size());
    assertEquals(List.of(first, secondStop), steps(m.ofKind("stop")));
    // the first attempt logged nothing past its checkpoint
    for (String line : Files.readAllLines(run.resolve("metrics/attempt-0001.jsonl"))) {
      assertTrue(PretrainJobTest.JSON.readTree(line).path("step").asLong(0) <= first, line);
    }
    // TensorBoard: three event files whose train_loss, after the resume purges, is the metrics' at
    // every step
    List<Path> events;
    try (Stream<Path> files = Files.list(run)) {
      events =
          files
              .filter(f -> f.getFileName().toString().startsWith("events.out.tfevents."))
              .sorted()
              .toList();
    }
    assertEquals(3, events.size(), events.toString());
    TreeMap<Long, Float> loss = EventFileReader.scalarsWithPurge(events).get("train_loss");
    assertEquals(all, new ArrayList<>(loss.keySet()));
    for (JsonNode r : m.ofKind("train")) {
      assertEquals((float) r.get("train_loss").asDouble(), loss.get(r.get("step").asLong()), 0f);
    }
    assertEquals(3, Files.readAllLines(run.resolve("cmd-args.log")).size());
  }

  private static List<Long> steps(List<JsonNode> records) {
    List<Long> out = new ArrayList<>();
    for (JsonNode r : records) {
      out.add(r.get("step").asLong());
    }
    return out;
  }

  @Test
  void maxTimePerRunIsNemosDaysHoursMinutesSeconds() {
    assertEquals(Duration.ofHours(3).plusMinutes(55), MaxTimePerRun.parse("00:03:55:00"));
    assertEquals(Duration.ofDays(2).plusSeconds(5), MaxTimePerRun.parse("02:00:00:05"));
    assertThrows(IllegalArgumentException.class, () -> MaxTimePerRun.parse("03:55:00"));
    assertThrows(IllegalArgumentException.class, () -> MaxTimePerRun.parse("00:00:00:00"));
    assertThrows(IllegalArgumentException.class, () -> MaxTimePerRun.parse("00:0x:00:10"));
    NestConfigException e =
        assertThrows(
            NestConfigException.class,
            () ->
                NestConfig.load(
                    List.of(),
                    List.of("exp_manager.max_time_per_run=3:55:00"),
                    new Configuration(false)));
    assertTrue(
        e.getMessage().contains("exp_manager.max_time_per_run")
            && e.getMessage().contains("DD:HH:MM:SS"),
        e.getMessage());
    NestConfig ok =
        NestConfig.load(
            List.of(),
            List.of("exp_manager.max_time_per_run=00:03:55:00"),
            new Configuration(false));
    assertEquals("00:03:55:00", ok.getString("exp_manager.max_time_per_run"));
  }

  @Test
  void aBudgetStopsOncePassedAndARequestAtOnce() {
    Preemption none = Preemption.none();
    assertNull(none.reasonToStop());
    assertTrue(!none.budgetEndsWithin(1e9));
    Preemption spent =
        new Preemption(Duration.ofSeconds(10), System.nanoTime() - TimeUnit.SECONDS.toNanos(11));
    assertNotNull(spent.reasonToStop());
    assertTrue(
        spent
            .reasonToStop()
            .startsWith("exp_manager.max_time_per_run (00:00:00:10) passed after 00:00:00:1"),
        spent.reasonToStop());
    Preemption fresh = new Preemption(Duration.ofSeconds(100), System.nanoTime());
    assertNull(fresh.reasonToStop());
    assertTrue(fresh.budgetEndsWithin(150) && !fresh.budgetEndsWithin(10));
    fresh.request("SIGTERM");
    fresh.request("later reason");
    assertEquals("SIGTERM", fresh.reasonToStop());
  }
}
