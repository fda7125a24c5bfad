package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nestspark.job.testkit.BinNest;

/** nest doctor through bin/nest in a JVM of its own: a missing backend, and the JVM settings it was started with. */
class DoctorCommandIT {
  /**
   * Without a loadable backend (here: no nd4j-native on the classpath; on a host without an NVIDIA driver the
   * CUDA build ends the same way) doctor says so and exits 1 instead of dying in ND4J's static initializer.
   */
  @Test
  void reportsAMissingBackend() throws Exception {
    String cp =
        java.util.Arrays.stream(BinNest.classpath().split(java.io.File.pathSeparator))
            .filter(e -> !e.contains("nd4j-native"))
            .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    Process p = BinNest.start(Map.of("NEST_CLASSPATH", cp), "doctor");
    String log = BinNest.waitFor(p);
    assertEquals(1, p.exitValue(), log);
    assertTrue(log.matches("(?s).*backends in the jar:\\s+none\n.*"), log);
    assertTrue(
        log.contains(
            "nest doctor: ND4J could not load a backend: ExceptionInInitializerError <- RuntimeException: "),
        log);
    assertTrue(log.contains("NoAvailableBackendException"), log);
    assertTrue(!log.contains("== one training step =="), log);
  }

  /** Through bin/nest in its own JVM: the thread and off-heap settings a deploy wrapper passes are what doctor reports. */
  @Test
  void reportsTheJvmSettingsItWasStartedWith() throws Exception {
    Process p =
        BinNest.start(
            Map.of(
                "OMP_NUM_THREADS",
                "1",
                "NEST_JAVA_OPTS",
                "-Dorg.bytedeco.javacpp.maxbytes=3g -Dorg.bytedeco.javacpp.maxphysicalbytes=5g"),
            "doctor",
            "--batch",
            "1",
            "--seconds",
            "1");
    String log = BinNest.waitFor(p);
    assertEquals(0, p.exitValue(), log);
    assertTrue(log.matches("(?s).*OMP_NUM_THREADS:\\s+1\n.*"), log);
    assertTrue(log.contains("javacpp maxbytes:            3.00 GiB"), log);
    assertTrue(log.contains("javacpp maxphysicalbytes:    5.00 GiB"), log);
    assertTrue(log.contains("doctor: OK"), log);
  }
}
