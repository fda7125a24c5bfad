package org.nestspark.batch;

import java.io.Serializable;
import java.util.List;

/**
 * Plans the batches of one epoch on the driver from manifest durations alone, deterministically in
 * ({@code data.seed}, epoch): "epoch e, batch b" is then a complete data position, so a run resumed at batch b
 * of epoch e continues with exactly the batches an uninterrupted run would have trained.
 */
public interface EpochPlanner extends Serializable {

  /**
   * The batches of {@code epoch}, each an array of indices into {@code durations}.
   *
   * @param durations seconds per entry (negative or NaN when unknown)
   */
  List<int[]> plan(double[] durations, int epoch);

  /** A short description for logs, e.g. "8 utterances per batch". */
  String describe();
}
