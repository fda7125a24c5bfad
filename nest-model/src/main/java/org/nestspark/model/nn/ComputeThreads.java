package org.nestspark.model.nn;

import java.util.Locale;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The one thread count of the compute kernels, and every pool it sizes: libnd4j's OpenMP loops (ND4J's
 * "max threads" and "master threads"), ND4J's BLAS (OpenBLAS, its own pthread pool) and the Java
 * kernels' {@link Parallel} pool.
 *
 * <p>The count is the system property {@code nest.threads}, else the environment variable
 * {@code OMP_NUM_THREADS} (the one ND4J and OpenBLAS read at start-up; {@code deploy/submit/nest-submit.sh}
 * sets it to {@code spark.task.cpus} on executors), else the number of processors.
 *
 * <p>libnd4j 1.0.0-M2.1 sizes its OpenMP pool ("max threads") once, when it loads, from
 * {@code OMP_NUM_THREADS} (else the core count); {@code setMaxThreads} does not change it. Its loops run
 * on up to "master threads" of that pool, which can be set at any time (never above the pool size).
 *
 * <p><b>Why the wait policy matters</b> (measured with {@code bench train}, Small, 2 cores): libnd4j runs
 * its element-wise ops in OpenMP regions on its "master threads", and OpenBLAS runs gemms on its own
 * pthreads. With libgomp's default wait policy, OpenMP threads keep spinning after each region, and
 * OpenBLAS's threads spin after each gemm; with both pools at 2 threads on 2 cores they take the cores
 * from each other, and a fit step went from 2.4-2.6 s (1 thread) to 3.5-5.0 s (2 threads). With
 * {@code OMP_WAIT_POLICY=PASSIVE} (OpenMP threads sleep when idle) the same step takes 1.8-2.2 s at 2
 * threads (runs on a shared machine); keeping libnd4j's master threads at 1 under the default policy
 * gave 1.9-2.0 s (gemms still use every thread, element-wise ops one). libgomp reads the policy when it is loaded, so it cannot be changed from Java:
 * {@code bin/nest} and {@code nest-submit.sh} export it, and {@link #apply} falls back to one master
 * thread when it is not PASSIVE. {@code OMP_WAIT_POLICY=ACTIVE} (spin without end) is worse still: in one
 * run a 2-thread fit step took 5.3 s against 2.8 s at 1 thread, and sgemm did not scale;
 * {@link #describe()} says so.
 */
public final class ComputeThreads {
  private static volatile boolean applied;

  private ComputeThreads() {}

  /** The configured thread count (see the class comment). */
  public static int configured() {
    String p = System.getProperty("nest.threads");
    if (p == null || p.isBlank()) {
      p = System.getenv("OMP_NUM_THREADS");
    }
    if (p != null && !p.isBlank()) {
      try {
        return Math.max(1, Integer.parseInt(p.strip()));
      } catch (NumberFormatException e) {
        // fall through
      }
    }
    return Math.max(1, Runtime.getRuntime().availableProcessors());
  }

  /** Whether OpenMP threads sleep when idle ({@code OMP_WAIT_POLICY=PASSIVE} in this process's environment). */
  public static boolean passiveWait() {
    String w = System.getenv("OMP_WAIT_POLICY");
    return w != null && w.strip().equalsIgnoreCase("passive");
  }

  /** Whether {@code OMP_WAIT_POLICY=ACTIVE}: idle OpenMP threads never sleep (measured: 2 threads then run a fit step at half the speed of 1). */
  public static boolean activeWait() {
    String w = System.getenv("OMP_WAIT_POLICY");
    return w != null && w.strip().equalsIgnoreCase("active");
  }

  /** libnd4j's master thread count for {@code n} threads: n under a passive wait policy, else 1. */
  public static int masterThreads(int n) {
    return passiveWait() ? n : 1;
  }

  /** Sizes every pool to the configured count once per JVM (the layers call it when they are created). */
  public static void ensureApplied() {
    if (!applied) {
      synchronized (ComputeThreads.class) {
        if (!applied) {
          apply(configured());
        }
      }
    }
  }

  /**
   * Sizes every pool to {@code n} threads: BLAS and {@link Parallel} get n, libnd4j's master threads
   * {@link #masterThreads(int)} (capped by its pool, see the class comment).
   */
  public static synchronized void apply(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("threads must be >= 1: " + n);
    }
    Nd4j.getEnvironment().setMaxThreads(n);
    Nd4j.getEnvironment().setMaxMasterThreads(masterThreads(n));
    Nd4j.factory().blas().setMaxThreads(n);
    if (Parallel.threads() != n) {
      Parallel.setThreads(n);
    }
    applied = true;
  }

  private static int slicedSteps;
  private static int savedMax;
  private static int savedMaster;
  private static int savedBlas;

  /**
   * A batch-sliced training step starts ({@code org.nestspark.train.SlicedStep}): each slice runs on its own
   * thread, so libnd4j's loops and BLAS run on the calling thread only (1 thread each) until the last
   * sliced step in this JVM ends ({@link #exitSlicedStep()}).
   */
  public static synchronized void enterSlicedStep() {
    if (slicedSteps++ == 0) {
      savedMax = Nd4j.getEnvironment().maxThreads();
      savedMaster = Nd4j.getEnvironment().maxMasterThreads();
      savedBlas = Nd4j.factory().blas().getMaxThreads();
      Nd4j.getEnvironment().setMaxThreads(1);
      Nd4j.getEnvironment().setMaxMasterThreads(1);
      Nd4j.factory().blas().setMaxThreads(1);
    }
  }

  /** See {@link #enterSlicedStep()}: restores libnd4j's and BLAS's thread counts after the last one. */
  public static synchronized void exitSlicedStep() {
    if (slicedSteps > 0 && --slicedSteps == 0) {
      Nd4j.getEnvironment().setMaxThreads(savedMax);
      Nd4j.getEnvironment().setMaxMasterThreads(savedMaster);
      Nd4j.factory().blas().setMaxThreads(savedBlas);
    }
  }

  /** The Java kernels called from this thread run on it alone ({@link Parallel#singleThreadedHere}). */
  public static void singleThreadedHere(boolean single) {
    Parallel.singleThreadedHere(single);
  }

  /** What each pool got, one line (for {@code bench} and {@code doctor}). */
  public static String describe() {
    return String.format(
        Locale.ROOT,
        "configured %d (nest.threads=%s, OMP_NUM_THREADS=%s, %d processors); nd4j max threads %d, nd4j master threads %d, "
            + "blas threads %d, java kernel threads %d; OMP_WAIT_POLICY=%s%s",
        configured(),
        System.getProperty("nest.threads"),
        System.getenv("OMP_NUM_THREADS"),
        Runtime.getRuntime().availableProcessors(),
        Nd4j.getEnvironment().maxThreads(),
        Nd4j.getEnvironment().maxMasterThreads(),
        Nd4j.factory().blas().getMaxThreads(),
        Parallel.threads(),
        System.getenv("OMP_WAIT_POLICY"),
        passiveWait()
            ? ""
            : activeWait()
                ? " (ACTIVE: idle OpenMP threads spin without end and take the cores from BLAS; use PASSIVE)"
                : " (not PASSIVE: libnd4j master threads kept at 1)");
  }
}
