package org.nestspark.job.spark;

import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.DoubleAdder;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.collection.JavaConverters;

/**
 * Progress of a long Spark job where users wait ({@code featurize}, {@code extract}): one line every
 * {@code interval} seconds on the job's log (stderr), then a last line when the job is done:
 *
 * <pre>
 * [featurize] 1,200/10,000 utterances (12.0 %) | 41.3 utterances/s | 512.8 audio-s/s | ETA 3m33s
 * </pre>
 *
 * <p>Executors count what they finished in two Spark accumulators ({@link #done()}: units such as
 * utterances, {@link #audioSeconds()}). The driver learns their values from a {@link SparkListener}: a finished
 * task's final values ({@code onTaskEnd}, successful tasks only, so a failed attempt's work is not counted)
 * and the running tasks' partial values, which every executor heartbeat carries
 * ({@code onExecutorMetricsUpdate}, every {@code spark.executor.heartbeatInterval}, 10 s by default), so a
 * long task shows progress before it ends. A task run twice (speculation, a lost executor's finished tasks)
 * can count twice; the count is capped at the total. The rate is over the wall time since {@link #start};
 * the ETA assumes it stays.
 */
public final class JobProgress implements AutoCloseable {
  private final JavaSparkContext sc;
  private final String job;
  private final String unit;
  private final long total;
  private final PrintStream log;
  private final long startNanos = System.nanoTime();
  private final LongAccumulator done;
  private final DoubleAccumulator audio;
  private final Listener listener;
  private final ScheduledExecutorService timer;

  private JobProgress(
      JavaSparkContext sc,
      String job,
      String unit,
      long total,
      int intervalSeconds,
      PrintStream log) {
    this.sc = sc;
    this.job = job;
    this.unit = unit;
    this.total = total;
    this.log = log;
    this.done = sc.sc().longAccumulator(job + ": " + unit + " done");
    this.audio = sc.sc().doubleAccumulator(job + ": audio seconds done");
    if (intervalSeconds > 0) {
      this.listener = new Listener(done.id(), audio.id());
      sc.sc().addSparkListener(listener);
      this.timer =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "nest-progress-" + job);
                t.setDaemon(true);
                return t;
              });
      timer.scheduleAtFixedRate(
          () -> log.println(line(listener.done(), listener.audioSeconds(), elapsed())),
          intervalSeconds,
          intervalSeconds,
          TimeUnit.SECONDS);
    } else {
      this.listener = null;
      this.timer = null;
    }
  }

  /**
   * Starts reporting a job of {@code total} units.
   *
   * @param job the line's prefix ({@code featurize}, {@code extract})
   * @param unit what is counted, plural ({@code utterances})
   * @param intervalSeconds seconds between lines; 0 = no lines (the accumulators still count)
   * @param log where lines go (the job's log: stderr)
   */
  public static JobProgress start(
      JavaSparkContext sc,
      String job,
      String unit,
      long total,
      int intervalSeconds,
      PrintStream log) {
    if (intervalSeconds < 0) {
      throw new IllegalArgumentException(
          "progress interval must be >= 0 seconds, got " + intervalSeconds);
    }
    return new JobProgress(sc, job, unit, total, intervalSeconds, log);
  }

  /** Executors add 1 per unit finished (skipped ones included: they are done too). */
  public LongAccumulator done() {
    return done;
  }

  /** Executors add the seconds of audio they processed. */
  public DoubleAccumulator audioSeconds() {
    return audio;
  }

  /** The listener (null when lines are off). */
  Listener listener() {
    return listener;
  }

  private double elapsed() {
    return (System.nanoTime() - startNanos) / 1e9;
  }

  private String line(long doneUnits, double audioSeconds, double elapsedSeconds) {
    return line(job, unit, total, doneUnits, audioSeconds, elapsedSeconds);
  }

  /** The progress line of {@code job} for {@code doneUnits} of {@code total} and {@code audioSeconds} after {@code elapsedSeconds}. */
  static String line(
      String job,
      String unit,
      long total,
      long doneUnits,
      double audioSeconds,
      double elapsedSeconds) {
    long d = Math.min(Math.max(doneUnits, 0), total);
    double rate = elapsedSeconds > 0 ? d / elapsedSeconds : 0;
    String eta =
        d >= total ? "done" : rate > 0 ? "ETA " + duration((total - d) / rate) : "ETA unknown";
    return String.format(
        Locale.ROOT,
        "[%s] %,d/%,d %s (%.1f %%) | %.1f %s/s | %.1f audio-s/s | %s",
        job,
        d,
        total,
        unit,
        total == 0 ? 100.0 : 100.0 * d / total,
        rate,
        unit,
        elapsedSeconds > 0 ? audioSeconds / elapsedSeconds : 0,
        eta);
  }

  static String duration(double seconds) {
    long s = Math.max(0, Math.round(seconds));
    return s >= 3600
        ? String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }

  /** Stops the lines; when they were on, prints the last one (the accumulators' merged values). */
  @Override
  public void close() {
    if (timer == null) {
      return;
    }
    timer.shutdownNow();
    sc.sc().removeSparkListener(listener);
    log.println(line(done.value(), audio.value(), elapsed()));
  }

  /** Finished tasks' values plus the running tasks' latest partial values of the two accumulators. */
  static final class Listener extends SparkListener {
    private final long doneId;
    private final long audioId;
    private final AtomicLong finishedDone = new AtomicLong();
    private final DoubleAdder finishedAudio = new DoubleAdder();
    private final Map<Long, double[]> running = new ConcurrentHashMap<>();

    /** Tasks that ended: a heartbeat sent before a task's end but delivered after it is not counted again. */
    private final Set<Long> ended = ConcurrentHashMap.newKeySet();

    Listener(long doneId, long audioId) {
      this.doneId = doneId;
      this.audioId = audioId;
    }

    long done() {
      long d = finishedDone.get();
      for (double[] v : running.values()) {
        d += (long) v[0];
      }
      return d;
    }

    double audioSeconds() {
      double a = finishedAudio.sum();
      for (double[] v : running.values()) {
        a += v[1];
      }
      return a;
    }

    @Override
    public void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
      for (Tuple4<Object, Object, Object, scala.collection.Seq<AccumulableInfo>> t :
          JavaConverters.seqAsJavaList(update.accumUpdates())) {
        double[] v = values(t._4());
        long task = (Long) t._1();
        if (v != null && !ended.contains(task)) {
          running.put(task, v);
        }
      }
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      ended.add(end.taskInfo().taskId());
      running.remove(end.taskInfo().taskId());
      if (!end.taskInfo().successful()) {
        return;
      }
      double[] v = values(end.taskInfo().accumulables());
      if (v != null) {
        finishedDone.addAndGet((long) v[0]);
        finishedAudio.add(v[1]);
      }
    }

    /** {done, audio} of a task's accumulator values, null when it has neither. */
    private double[] values(scala.collection.Seq<AccumulableInfo> infos) {
      double[] v = null;
      for (AccumulableInfo a : JavaConverters.seqAsJavaList(infos)) {
        if ((a.id() == doneId || a.id() == audioId) && a.update().isDefined()) {
          if (v == null) {
            v = new double[2];
          }
          v[a.id() == doneId ? 0 : 1] = ((Number) a.update().get()).doubleValue();
        }
      }
      return v;
    }
  }
}
