package org.nestspark.model.nn;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;

/**
 * The thread pool of the Java-loop kernels. Its size is {@link ComputeThreads#configured()}, the one
 * setting that sizes ND4J's pools too.
 */
public final class Parallel {
  private static volatile int THREADS = threadCount();
  private static volatile ForkJoinPool POOL = THREADS > 1 ? new ForkJoinPool(THREADS) : null;

  private Parallel() {}

  /** A range task: chunk number {@code chunk} handles items [from, to). */
  @FunctionalInterface
  public interface RangeTask {
    void run(int chunk, int from, int to);
  }

  private static final ThreadLocal<Boolean> SINGLE = ThreadLocal.withInitial(() -> Boolean.FALSE);

  /** The number of threads the kernels use on the calling thread (1 inside a batch slice). */
  public static int threads() {
    return SINGLE.get() ? 1 : THREADS;
  }

  /**
   * Whether kernels called from this thread run on it alone (a batch slice: every core already runs a
   * slice, see {@code org.nestspark.train.SlicedStep}).
   */
  public static void singleThreadedHere(boolean single) {
    if (single) {
      SINGLE.set(Boolean.TRUE);
    } else {
      SINGLE.remove();
    }
  }

  /** Changes the number of threads (benchmarks); not to be called while kernels run. */
  public static synchronized void setThreads(int n) {
    if (n < 1) {
      throw new IllegalArgumentException("threads must be >= 1: " + n);
    }
    ForkJoinPool old = POOL;
    THREADS = n;
    POOL = n > 1 ? new ForkJoinPool(n) : null;
    if (old != null) {
      old.shutdown();
    }
  }

  private static int threadCount() {
    return ComputeThreads.configured();
  }

  /** Work (multiply-adds) below which a chunk is not worth a thread hand-off. */
  private static final long MIN_CHUNK_WORK = 1 << 16;

  /**
   * Number of chunks {@link #forRange} splits n items of {@code workPerItem} operations each into: up to 4
   * per thread, none smaller than about 64k operations (small problems run on the calling thread).
   */
  public static int chunks(int n, long workPerItem) {
    long byWork = Math.max(1, (long) n * Math.max(1, workPerItem) / MIN_CHUNK_WORK);
    return (int) Math.max(1, Math.min(Math.min(n, threads() * 4L), byWork));
  }

  /**
   * Runs {@code task} over [0, n) split into {@link #chunks(int, long)} contiguous chunks; chunk
   * {@code k} is [k·n/chunks, (k+1)·n/chunks). Returns when all are done; rethrows the first failure.
   */
  public static void forRange(int n, long workPerItem, RangeTask task) {
    int chunks = chunks(n, workPerItem);
    ForkJoinPool pool = SINGLE.get() ? null : POOL;
    if (pool == null || chunks == 1) {
      for (int k = 0; k < chunks; k++) {
        task.run(k, (int) ((long) k * n / chunks), (int) ((long) (k + 1) * n / chunks));
      }
      return;
    }
    List<Future<?>> fs = new ArrayList<>(chunks);
    for (int k = 0; k < chunks; k++) {
      final int chunk = k;
      final int from = (int) ((long) k * n / chunks);
      final int to = (int) ((long) (k + 1) * n / chunks);
      fs.add(pool.submit(() -> task.run(chunk, from, to)));
    }
    for (Future<?> f : fs) {
      join(f);
    }
  }

  /** The result of {@code f}, waiting for it; its failure rethrown as it was (unchecked) or wrapped. */
  public static <T> T join(Future<T> f) {
    try {
      return f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      if (c instanceof RuntimeException) {
        throw (RuntimeException) c;
      }
      if (c instanceof Error) {
        throw (Error) c;
      }
      throw new IllegalStateException(c);
    }
  }
}
