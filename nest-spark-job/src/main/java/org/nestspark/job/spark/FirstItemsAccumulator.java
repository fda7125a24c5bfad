package org.nestspark.job.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.spark.util.AccumulatorV2;

/**
 * A Spark accumulator of strings that keeps at most {@code max} of them (the first added on each executor,
 * then the first merged on the driver), so per-utterance messages (skip reasons) reported by any number of
 * tasks never fill the driver: Spark's {@code CollectionAccumulator} keeps every item. Counts belong in a
 * {@code LongAccumulator} beside it.
 */
public final class FirstItemsAccumulator extends AccumulatorV2<String, List<String>> {
  private static final long serialVersionUID = 1L;
  private final int max;
  private final List<String> items = new ArrayList<>();

  public FirstItemsAccumulator(int max) {
    if (max < 0) {
      throw new IllegalArgumentException("max must be >= 0, got " + max);
    }
    this.max = max;
  }

  @Override
  public boolean isZero() {
    synchronized (items) {
      return items.isEmpty();
    }
  }

  @Override
  public AccumulatorV2<String, List<String>> copy() {
    FirstItemsAccumulator c = new FirstItemsAccumulator(max);
    synchronized (items) {
      c.items.addAll(items);
    }
    return c;
  }

  @Override
  public void reset() {
    synchronized (items) {
      items.clear();
    }
  }

  @Override
  public void add(String v) {
    synchronized (items) {
      if (items.size() < max) {
        items.add(v);
      }
    }
  }

  @Override
  public void merge(AccumulatorV2<String, List<String>> other) {
    for (String s : other.value()) {
      add(s);
    }
  }

  /** The kept items (at most {@code max}), a copy. */
  @Override
  public List<String> value() {
    synchronized (items) {
      return Collections.unmodifiableList(new ArrayList<>(items));
    }
  }
}
