package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
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
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** RunLock on the local file system and on a real HDFS (Hadoop's mini cluster). */
class RunLockTest {
  private static final Duration TTL = Duration.ofSeconds(30);
  private static final Duration BEAT = Duration.ofSeconds(10);

  private static MiniDFSCluster cluster;
  private static String hdfsBase;
  @TempDir static java.nio.file.Path tmp;
  private static int runs;

  @BeforeAll
  static void startHdfs() throws Exception {
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("hdfs").toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
    cluster.waitActive();
    hdfsBase = cluster.getFileSystem().getUri().toString();
  }

  @AfterAll
  static void stopHdfs() {
    if (cluster != null) {
      cluster.shutdown();
    }
  }

  private static Configuration conf() {
    return new Configuration();
  }

  /** A fresh run folder on the given file system. */
  private static Path runDir(String fsKind) {
    String name = "run-" + (++runs);
    return "hdfs".equals(fsKind)
        ? new Path(hdfsBase + "/exp/" + name)
        : new Path(tmp.resolve("local").resolve(name).toUri());
  }

  private static FileSystem fs(Path p) throws Exception {
    return p.getFileSystem(conf());
  }

  private static String read(Path p) throws Exception {
    try (var in = fs(p).open(p)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void write(Path p, String s) throws Exception {
    try (OutputStream out = AtomicFiles.withoutChecksumFiles(fs(p)).create(p, true)) {
      out.write(s.getBytes(StandardCharsets.UTF_8));
    }
  }

  private static String staleLock(String attempt, Instant heartbeat) {
    return "{\"host\":\"dead-host\",\"pid\":4242,\"attempt\":\""
        + attempt
        + "\",\"started\":\""
        + heartbeat.minusSeconds(3600)
        + "\",\"heartbeat\":\""
        + heartbeat
        + "\"}\n";
  }

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void secondAcquireIsRefusedWithOwnerAndAgeAndReleaseFreesIt(String kind) throws Exception {
    Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void heartbeatIsRenewed(String kind) throws Exception {
    Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void staleLockIsTakenOverFreshOneIsNot(String kind) throws Exception {
    Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void releaseLeavesALockThatIsNoLongerOurs(String kind) throws Exception {
    Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void racingAcquirersGetExactlyOneLock(String kind) throws Exception {
    for (int round = 0; round < 4; round++) {
      Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void aTakeoverTokenLeftByACrashedTakerExpires(String kind) throws Exception {
    Path run = runDir(kind);
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

  @ParameterizedTest
  @ValueSource(strings = {"local", "hdfs"})
  void unreadableLockGoesByItsModificationTime(String kind) throws Exception {
    Path run = runDir(kind);
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

  @Test
  void rejectsHeartbeatNotShorterThanTtl() {
    Path run = runDir("local");
    assertThrows(
        IllegalArgumentException.class,
        () -> RunLock.acquire(run, conf(), Duration.ofSeconds(5), Duration.ofSeconds(5)));
    assertThrows(
        IllegalArgumentException.class,
        () -> RunLock.acquire(run, conf(), Duration.ZERO, Duration.ofSeconds(1)));
  }

  /** A real crash: another JVM takes the lock and dies without releasing it. */
  @Test
  void crashedProcessHoldsTheLockOnlyUntilTheTtl() throws Exception {
    Path run = runDir("local");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process child =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                Crasher.class.getName(),
                run.toString())
            .redirectErrorStream(true)
            .start();
    String line;
    StringBuilder log = new StringBuilder();
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      while ((line = r.readLine()) != null) {
        log.append(line).append('\n');
      }
    }
    assertEquals(0, child.waitFor(), log.toString());
    assertTrue(log.toString().contains("locked"), log.toString());
    long childPid = child.pid();
    Duration ttl = Duration.ofSeconds(6);
    RunLock.RunLockException e =
        assertThrows(
            RunLock.RunLockException.class,
            () -> RunLock.acquire(run, conf(), ttl, Duration.ofMillis(500)));
    assertTrue(e.getMessage().contains("pid " + childPid), e.getMessage());
    Instant heartbeat =
        RunLock.decode(read(new Path(run, ".lock")).getBytes(StandardCharsets.UTF_8)).heartbeat();
    Thread.sleep(
        Math.max(0, Duration.between(Instant.now(), heartbeat.plus(ttl)).toMillis()) + 200);
    try (RunLock lock = RunLock.acquire(run, conf(), ttl, Duration.ofMillis(500))) {
      assertNotEquals(
          childPid, RunLock.decode(read(lock.lockFile()).getBytes(StandardCharsets.UTF_8)).pid());
    }
  }

  /** The crashing child of {@link #crashedProcessHoldsTheLockOnlyUntilTheTtl}: locks, then halts. */
  public static final class Crasher {
    public static void main(String[] args) throws Exception {
      RunLock.acquire(
          new Path(args[0]), new Configuration(), Duration.ofSeconds(2), Duration.ofMillis(500));
      System.out.println("locked");
      System.out.flush();
      Runtime.getRuntime().halt(0);
    }
  }
}
