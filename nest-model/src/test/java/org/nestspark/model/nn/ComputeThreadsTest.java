package org.nestspark.model.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

class ComputeThreadsTest {
  @AfterEach
  void restore() {
    System.clearProperty("nest.threads");
    ComputeThreads.apply(ComputeThreads.configured());
  }

  @Test
  void oneSettingSizesEveryPool() {
    ComputeThreads.apply(1);
    // libnd4j's pool size (maxThreads) is fixed when it loads (OMP_NUM_THREADS); the loops use the
    // master threads
    assertEquals(1, Nd4j.getEnvironment().maxMasterThreads());
    assertEquals(1, Nd4j.factory().blas().getMaxThreads());
    assertEquals(1, Parallel.threads());

    int pool = Nd4j.getEnvironment().maxThreads();
    ComputeThreads.apply(2);
    assertEquals(2, Nd4j.factory().blas().getMaxThreads());
    assertEquals(2, Parallel.threads());
    // libnd4j's OpenMP master threads only go parallel when idle OpenMP threads sleep (and never
    // past its pool)
    assertEquals(
        Math.min(pool, ComputeThreads.passiveWait() ? 2 : 1),
        Nd4j.getEnvironment().maxMasterThreads());
    String d = ComputeThreads.describe();
    assertTrue(
        d.contains(
            "nd4j master threads "
                + Nd4j.getEnvironment().maxMasterThreads()
                + ", blas threads 2, java kernel threads 2"),
        d);
  }

  @Test
  void theSystemPropertyWinsOverTheEnvironment() {
    System.setProperty("nest.threads", "5");
    assertEquals(5, ComputeThreads.configured());
    System.setProperty("nest.threads", "0");
    assertEquals(1, ComputeThreads.configured());
    System.setProperty("nest.threads", "x");
    String omp = System.getenv("OMP_NUM_THREADS");
    int expected =
        omp != null && omp.strip().matches("\\d+")
            ? Math.max(1, Integer.parseInt(omp.strip()))
            : Runtime.getRuntime().availableProcessors();
    assertEquals(expected, ComputeThreads.configured());
  }

  @Test
  void rejectsZeroThreads() {
    assertThrows(IllegalArgumentException.class, () -> ComputeThreads.apply(0));
  }

  @Test
  void passiveWaitFollowsTheEnvironment() {
    String w = System.getenv("OMP_WAIT_POLICY");
    assertEquals(w != null && w.strip().equalsIgnoreCase("passive"), ComputeThreads.passiveWait());
    assertEquals(ComputeThreads.passiveWait() ? 4 : 1, ComputeThreads.masterThreads(4));
  }
}
