package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** RunLock on the local file system ({@link RunLockContract}); on HDFS and across processes: {@link RunLockIT}. */
class RunLockTest extends RunLockContract {
  @TempDir static java.nio.file.Path tmp;
  private static int runs;

  @Override
  Path runDir() {
    return new Path(tmp.resolve("local").resolve("run-" + (++runs)).toUri());
  }

  @Test
  void rejectsHeartbeatNotShorterThanTtl() {
    Path run = runDir();
    assertThrows(
        IllegalArgumentException.class,
        () -> RunLock.acquire(run, conf(), Duration.ofSeconds(5), Duration.ofSeconds(5)));
    assertThrows(
        IllegalArgumentException.class,
        () -> RunLock.acquire(run, conf(), Duration.ZERO, Duration.ofSeconds(1)));
  }
}
