package org.nestspark.job.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.RunLock;

/**
 * deploy/schedule/nest-scheduled-pretrain.sh: per-attempt logs, attempts.tsv, and its exit codes, with a
 * submitter script standing in for spark-submit whose behaviour each case sets (finish, fail, bad config,
 * refused by the job's RunLock with RunLock's real message, still running when the next attempt starts).
 */
class NestScheduledPretrainTest {
  static final Path SCRIPT =
      NestSubmitDryRunTest.REPO.resolve("deploy/schedule/nest-scheduled-pretrain.sh");

  record Result(int code, String err) {}

  static Process start(Path logs, Path submitter, String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                SCRIPT.toString(),
                "--logs",
                logs.toString(),
                "--submit",
                submitter.toString(),
                "--"));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  static Result finish(Process p) throws Exception {
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Result(p.exitValue(), err);
  }

  static Path submitter(Path dir, String name, String body) throws Exception {
    Path f = dir.resolve(name);
    Files.writeString(f, "#!/usr/bin/env bash\n" + body + "\n");
    f.toFile().setExecutable(true);
    return f;
  }

  static final String[] PRETRAIN = {
    "--target",
    "yarn",
    "--deploy-mode",
    "cluster",
    "--",
    "pretrain",
    "exp_manager.exp_dir=hdfs:///nest/runs"
  };

  static List<String> attempts(Path logs) throws Exception {
    return Files.readAllLines(logs.resolve("attempts.tsv"));
  }

  @Test
  void finishedFailedAndConfigurationErrorsAreLoggedPerAttempt(@TempDir Path dir) throws Exception {
    Path logs = dir.resolve("logs");
    Path ok = submitter(dir, "ok.sh", "echo \"submitted: $*\"; echo 'step 60 done'; exit 0");
    Result r = finish(start(logs, ok, PRETRAIN));
    assertEquals(0, r.code, r.err);
    List<String> tsv = attempts(logs);
    assertEquals("start\tend\texit\tmeaning\tlog", tsv.get(0));
    String[] row = tsv.get(1).split("\t");
    assertEquals("0", row[2]);
    assertEquals("finished", row[3]);
    Path log = Path.of(row[4]);
    assertTrue(
        log.getFileName().toString().matches("attempt-\\d{8}T\\d{6}Z-\\d+\\.log"), log.toString());
    String text = Files.readString(log);
    assertTrue(
        text.contains(
            "submitted: --target yarn --deploy-mode cluster -- pretrain exp_manager.exp_dir=hdfs:///nest/runs"),
        text);
    assertTrue(text.contains("step 60 done"), text);
    assertEquals(log.getFileName(), Files.readSymbolicLink(logs.resolve("latest.log")));

    Thread.sleep(1100); // attempt names are per second (and pid)
    Path failing = submitter(dir, "fail.sh", "echo 'executor lost' >&2; exit 4");
    r = finish(start(logs, failing, PRETRAIN));
    assertEquals(1, r.code);
    tsv = attempts(logs);
    assertEquals(3, tsv.size());
    assertTrue(
        tsv.get(2)
            .contains(
                "\t1\tfailed with exit code 4; the next attempt resumes from the last checkpoint\t"),
        tsv.get(2));
    Path second = Path.of(tsv.get(2).split("\t")[4]);
    assertTrue(Files.readString(second).contains("executor lost"));
    assertEquals(second.getFileName(), Files.readSymbolicLink(logs.resolve("latest.log")));
    assertTrue(Files.readString(log).contains("step 60 done"), "the first attempt's log is kept");

    Path badConfig =
        submitter(dir, "bad.sh", "echo 'nest pretrain: invalid configuration' >&2; exit 2");
    r = finish(start(logs, badConfig, PRETRAIN));
    assertEquals(2, r.code);
    assertTrue(attempts(logs).get(3).contains("\t2\tusage or configuration error\t"));
    try (Stream<Path> s = Files.list(logs)) {
      assertEquals(3, s.filter(p -> p.getFileName().toString().startsWith("attempt-")).count());
    }
  }

  @Test
  void aRunFolderLockedByALiveRunExits75(@TempDir Path dir) throws Exception {
    // the job's refusal, worded by RunLock itself
    Path run = dir.resolve("exp/nest");
    String refusal;
    try (RunLock live =
        RunLock.acquire(
            new org.apache.hadoop.fs.Path(run.toUri()),
            new Configuration(),
            Duration.ofMinutes(10),
            Duration.ofSeconds(30))) {
      RunLock.RunLockException e =
          assertThrows(
              RunLock.RunLockException.class,
              () ->
                  RunLock.acquire(
                      new org.apache.hadoop.fs.Path(run.toUri()),
                      new Configuration(),
                      Duration.ofMinutes(10),
                      Duration.ofSeconds(30)));
      refusal = e.getMessage();
    }
    Path msg = Files.writeString(dir.resolve("refusal.txt"), "nest pretrain: " + refusal + "\n");
    Path locked = submitter(dir, "locked.sh", "cat " + msg + " >&2; exit 75");
    Path logs = dir.resolve("logs");
    Result r = finish(start(logs, locked, PRETRAIN));
    assertEquals(75, r.code, r.err);
    assertTrue(
        attempts(logs)
            .get(1)
            .contains(
                "\t75\tanother attempt is live: the run folder's lock was refused (see the log)\t"));
  }

  @Test
  void theExitCodeDecidesNotTheLogText(@TempDir Path dir) throws Exception {
    // a failure whose log happens to quote a lock refusal is a failure; a job that exits 3 stopped
    // with a checkpoint
    Path quoting =
        submitter(
            dir,
            "quoting.sh",
            "echo 'run folder is locked by host x (last heartbeat 3 s ago)' >&2; exit 1");
    Path logs = dir.resolve("logs");
    assertEquals(1, finish(start(logs, quoting, PRETRAIN)).code);
    Thread.sleep(1100);
    Path preempted =
        submitter(dir, "preempted.sh", "echo '[pretrain] stopping at step 40: SIGTERM'; exit 3");
    Result r = finish(start(logs, preempted, PRETRAIN));
    assertEquals(3, r.code, r.err);
    assertTrue(
        attempts(logs)
            .get(2)
            .contains(
                "\t3\tstopped early with a checkpoint (SIGTERM or exp_manager.max_time_per_run); the next attempt "
                    + "resumes from it\t"),
        attempts(logs).toString());
  }

  @Test
  void aStopPassedOnToAJobThatSavesIsRecordedAs3(@TempDir Path dir) throws Exception {
    Path logs = dir.resolve("logs");
    Path started = dir.resolve("started");
    // a job that, like nest pretrain, ends its round and exits 3 on SIGTERM
    Path job =
        submitter(
            dir,
            "graceful.sh",
            "trap 'echo saved; exit 3' TERM; touch "
                + started
                + "; while true; do sleep 0.1; done");
    Process attempt = start(logs, job, PRETRAIN);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(started) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(Files.exists(started));
    new ProcessBuilder("kill", "-TERM", Long.toString(attempt.pid())).start().waitFor();
    Result r = finish(attempt);
    assertEquals(3, r.code, r.err);
    assertTrue(
        attempts(logs)
            .get(1)
            .contains(
                "\t3\tstopped by SIGTERM after the job saved a checkpoint; the next attempt resumes from it\t"),
        attempts(logs).toString());
  }

  @Test
  void aSecondAttemptOnThisHostWhileOneRunsExits75AtOnce(@TempDir Path dir) throws Exception {
    Path logs = dir.resolve("logs");
    Path started = dir.resolve("started");
    Path slow = submitter(dir, "slow.sh", "touch " + started + "; sleep 4; echo done");
    Process first = start(logs, slow, PRETRAIN);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(started) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(Files.exists(started));
    long t0 = System.nanoTime();
    Result second = finish(start(logs, slow, PRETRAIN));
    assertEquals(75, second.code, second.err);
    assertTrue((System.nanoTime() - t0) / 1e9 < 3, "refused at once, not after the first attempt");
    assertTrue(second.err.contains("another attempt is running on this host"), second.err);
    assertEquals(0, finish(first).code);
    List<String> rows = attempts(logs).stream().skip(1).collect(Collectors.toList());
    assertEquals(2, rows.size(), rows.toString());
    assertTrue(rows.get(0).contains("\t75\t") && rows.get(0).endsWith("\t(none)"), rows.get(0));
    assertTrue(rows.get(1).contains("\t0\tfinished\t"), rows.get(1));
  }

  @Test
  void aStoppedAttemptStopsItsSubmitterAndIsRecorded(@TempDir Path dir) throws Exception {
    Path logs = dir.resolve("logs");
    Path started = dir.resolve("started");
    Path pidFile = dir.resolve("submitter.pid");
    Path slow =
        submitter(
            dir, "long.sh", "echo $$ > " + pidFile + "; touch " + started + "; exec sleep 60");
    Process attempt = start(logs, slow, PRETRAIN);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!Files.exists(started) && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertTrue(Files.exists(started));
    long submitterPid = Long.parseLong(Files.readString(pidFile).strip());
    long t0 = System.nanoTime();
    new ProcessBuilder("kill", "-TERM", Long.toString(attempt.pid())).start().waitFor();
    Result r = finish(attempt);
    assertTrue((System.nanoTime() - t0) / 1e9 < 10, "stopped promptly");
    assertEquals(1, r.code, r.err);
    assertTrue(
        attempts(logs)
            .get(1)
            .contains(
                "\t1\tstopped by SIGTERM; the next attempt resumes from the last checkpoint\t"),
        attempts(logs).toString());
    assertTrue(
        ProcessHandle.of(submitterPid).map(h -> !h.isAlive()).orElse(true),
        "the submitter was stopped too");
  }

  @Test
  void refusesArgumentsThatCannotResume(@TempDir Path dir) throws Exception {
    Path ok = submitter(dir, "ok.sh", "exit 0");
    Result noExpDir =
        finish(
            start(
                dir.resolve("logs"),
                ok,
                "--target",
                "yarn",
                "--deploy-mode",
                "cluster",
                "--",
                "pretrain"));
    assertEquals(2, noExpDir.code);
    assertTrue(noExpDir.err.contains("exp_manager.exp_dir"), noExpDir.err);
    Result notPretrain =
        finish(start(dir.resolve("logs"), ok, "--", "featurize", "exp_manager.exp_dir=/x"));
    assertEquals(2, notPretrain.code);
    assertTrue(notPretrain.err.contains("no 'pretrain' command"), notPretrain.err);
  }
}
