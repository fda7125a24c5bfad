package org.nestspark.job.pretrain;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nestspark.train.DeltaDtype;

/**
 * What the workers of one round send back, summed as Spark reduces it ({@link #merge}): the parameter
 * vectors (parameter averaging: the workers' parameters and AdamW moments; DiLoCo: the deltas
 * {@code θ_global − θ_worker}, a single worker's delta still in its 16-bit wire form), each step's
 * {@link StepRecord}, and the data and worker counts. Counting here rather than in Spark accumulators
 * means a task that Spark runs again never counts twice.
 */
final class RoundResult implements Serializable {
  private static final long serialVersionUID = 1L;
  static final int MAX_REASONS = DataCounters.MAX_REASONS;

  /** Sum of the workers' vectors (float32), or null while {@link #encoded} holds the only one. */
  float[] sum;

  /** One worker's delta in {@link #dtype} (DiLoCo with a 16-bit delta_dtype), until merged. */
  short[] encoded;

  DeltaDtype dtype = DeltaDtype.FLOAT32;

  /** Sum of the workers' AdamW state views (parameter averaging with average_updater_state). */
  float[] stateSum;

  int contributions;

  final List<StepRecord> records = new ArrayList<>();
  long batches;
  long skippedUtterances;
  long emptyBatches;
  long failedBatches;
  double audioSeconds;
  double buildSeconds;
  double fitSeconds;
  final List<String> reasons = new ArrayList<>();

  /** Workers whose graph was built for this round (first round of an attempt, or lost state). */
  int starts;

  /** DiLoCo workers that lost their inner AdamW state mid-run and started again from zero moments. */
  int restarts;

  /** Tasks that Spark ran again for a round their executor had already finished (answered from the kept state). */
  int reruns;

  /** worker → Spark task location ("executor_HOST_ID") where its state now lives. */
  final Map<Integer, String> locations = new TreeMap<>();

  /** worker → SHA-256 of the inner-state file it wrote for a checkpoint. */
  final Map<Integer, String> innerStateSha256 = new TreeMap<>();

  /** Anything a worker wants the driver to print (e.g. an inner state that could not be restored). */
  final List<String> notes = new ArrayList<>();

  /** This result without its vectors (kept by a worker slot to answer a re-run). */
  RoundResult summary() {
    RoundResult r = new RoundResult();
    r.dtype = dtype;
    r.records.addAll(records);
    r.batches = batches;
    r.skippedUtterances = skippedUtterances;
    r.emptyBatches = emptyBatches;
    r.failedBatches = failedBatches;
    r.audioSeconds = audioSeconds;
    r.buildSeconds = buildSeconds;
    r.fitSeconds = fitSeconds;
    r.reasons.addAll(reasons);
    r.starts = starts;
    r.restarts = restarts;
    r.locations.putAll(locations);
    r.innerStateSha256.putAll(innerStateSha256);
    r.notes.addAll(notes);
    return r;
  }

  /** The vector sum as float32 (decoding a single 16-bit delta). */
  float[] vectorSum() {
    if (encoded != null) {
      float[] s = new float[encoded.length];
      dtype.addDecoded(encoded, s);
      sum = s;
      encoded = null;
    }
    return sum;
  }

  /** Adds {@code o} into this result and returns this. */
  RoundResult merge(RoundResult o) {
    if (o.sum != null || o.encoded != null) {
      if (sum == null && encoded == null) {
        sum = o.sum;
        encoded = o.encoded;
        dtype = o.dtype;
      } else {
        float[] a = vectorSum();
        if (o.encoded != null) {
          o.dtype.addDecoded(o.encoded, a);
        } else {
          add(a, o.sum);
        }
      }
    }
    if (o.stateSum != null) {
      if (stateSum == null) {
        stateSum = o.stateSum;
      } else {
        add(stateSum, o.stateSum);
      }
    }
    contributions += o.contributions;
    records.addAll(o.records);
    batches += o.batches;
    skippedUtterances += o.skippedUtterances;
    emptyBatches += o.emptyBatches;
    failedBatches += o.failedBatches;
    audioSeconds += o.audioSeconds;
    buildSeconds += o.buildSeconds;
    fitSeconds += o.fitSeconds;
    for (String r : o.reasons) {
      if (reasons.size() < MAX_REASONS) {
        reasons.add(r);
      }
    }
    starts += o.starts;
    restarts += o.restarts;
    reruns += o.reruns;
    locations.putAll(o.locations);
    innerStateSha256.putAll(o.innerStateSha256);
    notes.addAll(o.notes);
    return this;
  }

  private static void add(float[] into, float[] x) {
    if (into.length != x.length) {
      throw new IllegalStateException(
          "workers returned vectors of different lengths: " + into.length + " and " + x.length);
    }
    for (int i = 0; i < into.length; i++) {
      into[i] += x[i];
    }
  }
}
