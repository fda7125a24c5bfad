package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.testkit.MiniHdfs;

/**
 * RunLock on a real HDFS (Hadoop's mini cluster, {@link MiniHdfs}): {@link RunLockContract}'s cases; and a
 * real crash on the local file system: another JVM takes the lock and dies, the lock is free once its
 * heartbeat is older than the TTL.
 */
class RunLockIT extends RunLockContract {
  @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();
  @TempDir static java.nio.file.Path tmp;
  private static int runs;

  @Override
  Path runDir() throws Exception {
    return new Path(HDFS.uri() + "/exp/run-" + (++runs));
  }

  private static Path localRunDir() {
    return new Path(tmp.resolve("local").resolve("run-" + (++runs)).toUri());
  }

  /** A real crash: another JVM takes the lock and dies without releasing it. */
  @Test
  void crashedProcessHoldsTheLockOnlyUntilTheTtl() throws Exception {
    Path run = localRunDir();
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
