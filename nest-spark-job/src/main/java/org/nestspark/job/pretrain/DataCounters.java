package org.nestspark.job.pretrain;

import java.io.Serializable;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.nestspark.job.spark.FirstItemsAccumulator;

/**
 * Spark accumulators that the executors building batches ({@link BatchSource}) report into and the driver
 * reads after each Spark job: utterances skipped (with reasons), batches dropped because no token was
 * selected (NeMo would give a NaN loss there, docs/nest-numerics.md §14.6), batches built, seconds of audio and seconds spent
 * building. Values can over-count when Spark re-runs a task after a failure; they are for reporting only.
 */
public final class DataCounters implements Serializable {
  private static final long serialVersionUID = 1L;

  /** At most this many skip reasons are kept per Spark job (the counts stay exact): the driver never holds one per utterance. */
  public static final int MAX_REASONS = 200;

  final LongAccumulator skippedUtterances;
  final LongAccumulator emptyBatches;
  final LongAccumulator failedBatches;
  final LongAccumulator batches;
  final DoubleAccumulator audioSeconds;
  final DoubleAccumulator buildSeconds;
  final FirstItemsAccumulator reasons;

  public DataCounters(JavaSparkContext sc, String name) {
    skippedUtterances = sc.sc().longAccumulator(name + " skipped utterances");
    emptyBatches = sc.sc().longAccumulator(name + " batches without selected tokens");
    failedBatches = sc.sc().longAccumulator(name + " batches without loadable audio");
    batches = sc.sc().longAccumulator(name + " batches built");
    audioSeconds = sc.sc().doubleAccumulator(name + " audio seconds");
    buildSeconds = sc.sc().doubleAccumulator(name + " batch build seconds");
    reasons = new FirstItemsAccumulator(MAX_REASONS);
    sc.sc().register(reasons, name + " skip reasons");
  }

  /** A read-out since the last {@link #reset()}. */
  public record Snapshot(
      long skippedUtterances,
      long emptyBatches,
      long failedBatches,
      long batches,
      double audioSeconds,
      double buildSeconds,
      List<String> reasons) {}

  public Snapshot snapshot() {
    return new Snapshot(
        skippedUtterances.value(),
        emptyBatches.value(),
        failedBatches.value(),
        batches.value(),
        audioSeconds.value(),
        buildSeconds.value(),
        List.copyOf(reasons.value()));
  }

  public void reset() {
    skippedUtterances.reset();
    emptyBatches.reset();
    failedBatches.reset();
    batches.reset();
    audioSeconds.reset();
    buildSeconds.reset();
    reasons.reset();
  }
}
