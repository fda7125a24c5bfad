package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/**
 * What RunLock promises on any Hadoop file system, run on the local one by {@link RunLockTest} and on a
 * real HDFS (Hadoop's mini cluster) by {@link RunLockIT}.
 */
abstract class RunLockContract {
  static final Duration TTL = Duration.ofSeconds(30);
  static final Duration BEAT = Duration.ofSeconds(10);

  /** A fresh run folder on the file system under test. */
  abstract Path runDir() throws Exception;

  static Configuration conf() {
    return new Configuration();
  }

  static FileSystem fs(Path p) throws Exception {
    return p.getFileSystem(conf());
  }

  static String read(Path p) throws Exception {
    try (var in = fs(p).open(p)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  static void write(Path p, String s) throws Exception {
    try (OutputStream out = AtomicFiles.withoutChecksumFiles(fs(p)).create(p, true)) {
      out.write(s.getBytes(StandardCharsets.UTF_8));
    }
  }

  static String staleLock(String attempt, Instant heartbeat) {
    return "{\"host\":\"dead-host\",\"pid\":4242,\"attempt\":\""
        + attempt
        + "\",\"started\":\""
        + heartbeat.minusSeconds(3600)
        + "\",\"heartbeat\":\""
        + heartbeat
        + "\"}\n";
  }

  @Test
  void secondAcquireIsRefusedWithOwnerAndAgeAndReleaseFreesIt() throws Exception {
    Path run = runDir();
    Path file = new Path(run, ".lock");
    try (RunLock lock = RunLock.acquire(run, conf(), TTL, BEAT, "attempt-A")) {
      assertTrue(fs(file).exists(file));
      assertTrue(lock.isHeld());
      String content = read(file);
      assertTrue(content.contains("\"attempt\":\"attempt-A\""), content);
      assertTrue(content.contains("\"pid\":" + ProcessHandle.current().pid()), content);
      assertTrue(content.contains("\"heartbeat\":\""), content);
      RunLock.RunLockException e =
          assertThrows(
              RunLock.RunLockException.class,
              () -> RunLock.acquire(run, conf(), TTL, BEAT, "attempt-B"));
      String m = e.getMessage();
      assertTrue(m.contains(lock.lockFile().toString()), m);
      assertTrue(m.contains("pid " + ProcessHandle.current().pid()), m);
      assertTrue(m.contains("attempt attempt-A"), m);
      assertTrue(m.matches("(?s).*last heartbeat \\d+\\.\\d s ago.*"), m);
      assertTrue(m.contains("TTL of 30 s"), m);
      assertEquals("attempt-A", e.owner().attempt());
      // the refused attempt left the lock as it was
      assertTrue(read(file).contains("attempt-A"));
    }
    assertFalse(fs(file).exists(file), "release deletes the lock file");
    try (RunLock again = RunLock.acquire(run, conf(), TTL, BEAT, "attempt-C")) {
      assertTrue(read(file).contains("attempt-C"));
      again.close();
      again.close(); // idempotent
      assertFalse(again.isHeld());
      assertThrows(java.io.IOException.class, again::ensureHeld);
    }
    // only the lock file is written in the run folder (no .crc files, no temporaries)
    assertEquals(0, fs(run).listStatus(run).length);
  }

  @Test
  void heartbeatIsRenewed() throws Exception {
    Path run = runDir();
    try (RunLock lock =
        RunLock.acquire(run, conf(), Duration.ofSeconds(5), Duration.ofMillis(200), "beating")) {
      Instant first =
          RunLock.decode(read(lock.lockFile()).getBytes(StandardCharsets.UTF_8)).heartbeat();
      // renewed every 200 ms: wait for two renewals (polling, so that a loaded machine only makes
      // it slower)
      int renewals = 0;
      Instant last = first;
      RunLock.Owner now = null;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (renewals < 2 && System.nanoTime() < deadline) {
        Thread.sleep(50);
        now = RunLock.decode(read(lock.lockFile()).getBytes(StandardCharsets.UTF_8));
        if (now != null && now.heartbeat().isAfter(last)) {
          renewals++;
          last = now.heartbeat();
        }
      }
      assertNotNull(now);
      assertEquals(2, renewals, "heartbeat renewed twice: " + first + " -> " + last);
      // the process records a renewal once its write has completed (the file may show it a moment
      // earlier)
      while (lock.lastHeartbeat().isBefore(last) && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertFalse(
          lock.lastHeartbeat().isBefore(last),
          "the process knows its last renewal: " + lock.lastHeartbeat() + " vs " + last);
      assertEquals(lock.owner().started(), now.started(), "the start time stays");
      assertTrue(lock.isHeld());
      lock.ensureHeld();
      FileStatus[] files = fs(run).listStatus(run);
      assertEquals(1, files.length, "no heartbeat temporaries left: " + List.of(files));
    }
  }

  @Test
  void staleLockIsTakenOverFreshOneIsNot() throws Exception {
    Path run = runDir();
    Path file = new Path(run, ".lock");
    fs(run).mkdirs(run);
    // heartbeat 20 s ago, TTL 30 s: alive
    write(file, staleLock("crashed", Instant.now().minusSeconds(20)));
    RunLock.RunLockException e =
        assertThrows(RunLock.RunLockException.class, () -> RunLock.acquire(run, conf(), TTL, BEAT));
    assertTrue(e.getMessage().contains("host dead-host pid 4242 (attempt crashed"), e.getMessage());
    assertTrue(
        e.getMessage().contains("last heartbeat 20 s ago")
            || e.getMessage().contains("last heartbeat 21 s ago"),
        e.getMessage());
    // heartbeat 31 s ago: dead, taken over
    write(file, staleLock("crashed", Instant.now().minusSeconds(31)));
    try (RunLock lock = RunLock.acquire(run, conf(), TTL, BEAT, "successor")) {
      assertTrue(read(file).contains("\"attempt\":\"successor\""));
      assertEquals(1, fs(run).listStatus(run).length, "the stale lock moved aside is deleted");
    }
    assertFalse(fs(file).exists(file));
  }

  @Test
  void releaseLeavesALockThatIsNoLongerOurs() throws Exception {
    Path run = runDir();
    RunLock lock =
        RunLock.acquire(run, conf(), Duration.ofSeconds(5), Duration.ofMillis(100), "mine");
    // another process took it over (e.g. this one stalled past the TTL)
    write(lock.lockFile(), staleLock("theirs", Instant.now()));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (lock.isHeld() && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertFalse(lock.isHeld(), "the heartbeat notices the lock is gone");
    java.io.IOException e = assertThrows(java.io.IOException.class, lock::ensureHeld);
    assertTrue(
        e.getMessage().contains("taken over by host dead-host pid 4242 (attempt theirs"),
        e.getMessage());
    lock.close();
    assertTrue(
        read(lock.lockFile()).contains("\"attempt\":\"theirs\""),
        "the new owner's lock stays, unrenewed by us");
  }

  @Test
  void racingAcquirersGetExactlyOneLock() throws Exception {
    for (int round = 0; round < 4; round++) {
      Path run = runDir();
      fs(run).mkdirs(run);
      if (round % 2 == 0) {
        // a stale lock makes the racers go through the takeover path too
        write(new Path(run, ".lock"), staleLock("crashed", Instant.now().minusSeconds(600)));
      }
      int n = 6;
      ExecutorService pool = Executors.newFixedThreadPool(n);
      CountDownLatch go = new CountDownLatch(1);
      List<Future<RunLock>> results = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        String attempt = "racer-" + round + "-" + i;
        Callable<RunLock> c =
            () -> {
              go.await();
              try {
                return RunLock.acquire(run, conf(), TTL, BEAT, attempt);
              } catch (RunLock.RunLockException refused) {
                return null;
              }
            };
        results.add(pool.submit(c));
      }
      go.countDown();
      List<RunLock> winners = new ArrayList<>();
      for (Future<RunLock> f : results) {
        RunLock l = f.get(60, TimeUnit.SECONDS);
        if (l != null) {
          winners.add(l);
        }
      }
      pool.shutdown();
      assertEquals(1, winners.size(), "round " + round + ": exactly one racer holds the lock");
      assertTrue(read(new Path(run, ".lock")).contains(winners.get(0).owner().attempt()));
      winners.get(0).close();
      assertEquals(0, fs(run).listStatus(run).length, "no lock, token or temporary left");
    }
  }

  @Test
  void aTakeoverTokenLeftByACrashedTakerExpires() throws Exception {
    Path run = runDir();
    fs(run).mkdirs(run);
    write(new Path(run, ".lock"), staleLock("crashed", Instant.now().minusSeconds(600)));
    write(
        new Path(run, ".lock.takeover"),
        staleLock("crashed-taker", Instant.now().minusSeconds(300)));
    try (RunLock lock = RunLock.acquire(run, conf(), TTL, BEAT, "after-two-crashes")) {
      assertTrue(read(lock.lockFile()).contains("after-two-crashes"));
      assertEquals(1, fs(run).listStatus(run).length, "the old token is gone");
    }
  }

  @Test
  void unreadableLockGoesByItsModificationTime() throws Exception {
    Path run = runDir();
    fs(run).mkdirs(run);
    Path file = new Path(run, ".lock");
    write(file, "garbage{");
    RunLock.RunLockException e =
        assertThrows(RunLock.RunLockException.class, () -> RunLock.acquire(run, conf(), TTL, BEAT));
    assertTrue(e.getMessage().contains("an unreadable lock file"), e.getMessage());
    fs(file).setTimes(file, System.currentTimeMillis() - 60_000, -1);
    try (RunLock lock = RunLock.acquire(run, conf(), TTL, BEAT, "after-garbage")) {
      assertTrue(lock.isHeld());
    }
  }
}
