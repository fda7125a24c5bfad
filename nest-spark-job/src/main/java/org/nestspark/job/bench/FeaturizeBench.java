package org.nestspark.job.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.nestspark.config.PreprocessorParams;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;

/**
 * Featurization throughput ({@code nest bench featurize}): seconds of audio turned into NEST log-mel
 * features per second of wall time, with one thread and with every available core.
 *
 * <p>Workload, as NeMo's speed reference (about 960 s of audio per second on 2 cores): batches of 8 clips
 * of 10 s at 16 kHz (noise plus a few tones, lengths jittered by up to −5 % so the batch is padded as a
 * real one), featurized in training mode (dither 1e-5 on, NEST defaults otherwise). Each thread works on
 * its own batches through one shared {@link FilterbankFeatures}, as Spark tasks would. Every measurement
 * is preceded by a warm-up of the same length (at least 1 s) so the JIT has compiled the hot loops.
 */
public final class FeaturizeBench {
  /** NeMo's CPU featurizer on a 2-core machine, batch 8 × 10 s (seconds of audio per second). */
  public static final double NEMO_REFERENCE = 960.0;

  private FeaturizeBench() {}

  /** {@code [seconds [threads]]}: measurement seconds per row (default 10). */
  public static void main(String[] args) {
    int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
    int threads =
        args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
    System.out.println(run(seconds, 8, 10.0, threads));
  }

  /** The default benchmark: batch 8 × 10 s, 1 thread and all available processors. */
  public static String run(int seconds) {
    return run(seconds, 8, 10.0, Runtime.getRuntime().availableProcessors());
  }

  /**
   * Runs the benchmark and returns the table.
   *
   * @param seconds measurement time per row (each row also warms up for {@code max(1, seconds / 2)} s)
   * @param batchSize clips per batch
   * @param clipSeconds clip length
   * @param maxThreads the multi-threaded row's thread count (rows: 1 and this, if larger)
   */
  public static String run(int seconds, int batchSize, double clipSeconds, int maxThreads) {
    if (seconds < 1 || batchSize < 1 || !(clipSeconds > 0) || maxThreads < 1) {
      throw new IllegalArgumentException(
          "seconds, batch size, clip length and threads must be positive");
    }
    PreprocessorParams params = PreprocessorParams.defaults();
    FilterbankFeatures feats = new FilterbankFeatures(params);
    int samples = (int) Math.round(clipSeconds * params.sampleRate());
    List<Integer> rows = new ArrayList<>();
    rows.add(1);
    if (maxThreads > 1) {
      rows.add(maxThreads);
    }
    StringBuilder sb = new StringBuilder();
    sb.append(
        String.format(
            Locale.ROOT,
            "featurize benchmark: batch %d x %.1f s, 16 kHz, training mode (dither %.0e), %d available processors%n",
            batchSize,
            clipSeconds,
            params.dither(),
            Runtime.getRuntime().availableProcessors()));
    sb.append(
        String.format(
            Locale.ROOT,
            "%-8s %10s %12s %16s %12s%n",
            "threads",
            "batches",
            "audio [s]",
            "audio s / s",
            "vs NeMo 960"));
    for (int threads : rows) {
      measure(feats, threads, Math.max(1, seconds / 2), batchSize, samples, params.sampleRate());
      Result r = measure(feats, threads, seconds, batchSize, samples, params.sampleRate());
      sb.append(
          String.format(
              Locale.ROOT,
              "%-8d %10d %12.0f %16.1f %11.2fx%n",
              threads,
              r.batches,
              r.audioSeconds,
              r.throughput(),
              r.throughput() / NEMO_REFERENCE));
    }
    return sb.toString().trim();
  }

  private static final class Result {
    long batches;
    double audioSeconds;
    double wallSeconds;

    double throughput() {
      return audioSeconds / wallSeconds;
    }
  }

  private static Result measure(
      FilterbankFeatures feats,
      int threads,
      int seconds,
      int batchSize,
      int samples,
      int sampleRate) {
    AtomicLong batches = new AtomicLong();
    AtomicLong samplesDone = new AtomicLong();
    AtomicLong sink = new AtomicLong();
    CountDownLatch ready = new CountDownLatch(threads);
    CountDownLatch start = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(threads);
    long[] window = new long[2];
    List<Thread> pool = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      final int id = i;
      Thread t =
          new Thread(
              () -> {
                float[][][] mine = new float[2][][];
                for (int k = 0; k < mine.length; k++) {
                  mine[k] = batch(batchSize, samples, sampleRate, 1000L * id + k);
                }
                long localSamples = 0;
                for (float[] clip : mine[0]) {
                  localSamples += clip.length;
                }
                long localSamples1 = 0;
                for (float[] clip : mine[1]) {
                  localSamples1 += clip.length;
                }
                ready.countDown();
                try {
                  start.await();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return;
                }
                long deadline = window[1];
                long n = 0;
                long s = 0;
                long acc = 0;
                while (System.nanoTime() < deadline) {
                  int k = (int) (n & 1);
                  FeatureBatch fb = feats.computeTraining(mine[k], n * 31 + id);
                  acc += Float.floatToRawIntBits(fb.data()[fb.rowOffset(0, 40) + 7]);
                  s += k == 0 ? localSamples : localSamples1;
                  n++;
                }
                batches.addAndGet(n);
                samplesDone.addAndGet(s);
                sink.addAndGet(acc);
                done.countDown();
              },
              "featurize-bench-" + i);
      t.setDaemon(true);
      pool.add(t);
      t.start();
    }
    try {
      ready.await();
      long t0 = System.nanoTime();
      window[0] = t0;
      window[1] = t0 + seconds * 1_000_000_000L;
      start.countDown();
      done.await();
      long t1 = System.nanoTime();
      Result r = new Result();
      r.batches = batches.get();
      r.audioSeconds = samplesDone.get() / (double) sampleRate;
      r.wallSeconds = (t1 - t0) / 1e9;
      if (sink.get() == 42) {
        System.out.print(""); // keeps the results alive
      }
      return r;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** A batch of noise + tone clips, lengths {@code samples} minus up to 5 %. */
  static float[][] batch(int batchSize, int samples, int sampleRate, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[][] b = new float[batchSize][];
    for (int i = 0; i < batchSize; i++) {
      int n = i == 0 ? samples : samples - r.nextInt(Math.max(1, samples / 20));
      float[] x = new float[n];
      double f1 = 100 + r.nextDouble() * 400;
      double f2 = 1000 + r.nextDouble() * 3000;
      double amp = 0.05 + r.nextDouble() * 0.3;
      for (int j = 0; j < n; j++) {
        double t = j / (double) sampleRate;
        double env = 0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t);
        x[j] =
            (float)
                (amp * env * (Math.sin(2 * Math.PI * f1 * t) + 0.3 * Math.sin(2 * Math.PI * f2 * t))
                    + 0.01 * r.nextGaussian());
      }
      b[i] = x;
    }
    return b;
  }
}
