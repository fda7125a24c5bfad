package org.nestspark.model.nn;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * Wall time spent in each part of the NEST graph, for benchmarks ({@code bench train}). Off by default:
 * then {@link #start()} and {@link #stop} cost one volatile read. ND4J's CPU ops are synchronous, so the
 * time between two calls is the time of the ops issued between them.
 *
 * <p>The parts: the subsampling front end ({@code pre_encode}); per Conformer layer the attention
 * (with its LayerNorm), both feed-forward modules (with their LayerNorms), the convolution module
 * (with its LayerNorm), and the rest of the layer ({@link Part#LAYER_OTHER}: residual adds, dropout
 * masks, the output LayerNorm, layout copies); the decoder with its loss; the optimizer (timed by
 * the benchmark itself).
 */
public final class PartTimer {
  /** The parts timed. */
  public enum Part {
    SUBSAMPLING,
    ATTENTION,
    FEED_FORWARD,
    CONVOLUTION,
    LAYER_OTHER,
    DECODER,
    OPTIMIZER
  }

  private static volatile boolean enabled;
  private static final Map<Part, LongAdder> NANOS = new EnumMap<>(Part.class);

  static {
    for (Part p : Part.values()) {
      NANOS.put(p, new LongAdder());
    }
  }

  private PartTimer() {}

  /** Switches timing on or off (benchmarks only). */
  public static void setEnabled(boolean on) {
    enabled = on;
  }

  public static boolean enabled() {
    return enabled;
  }

  /** A start time for {@link #stop}, or 0 when timing is off. */
  public static long start() {
    return enabled ? System.nanoTime() : 0L;
  }

  /** Adds the time since {@code t0} to {@code part}; returns the current time (the next start) or 0. */
  public static long stop(Part part, long t0) {
    if (!enabled) {
      return 0L;
    }
    long now = System.nanoTime();
    NANOS.get(part).add(now - t0);
    return now;
  }

  /** Adds {@code nanos} (may be negative, to move time between parts) to {@code part} when timing is on. */
  public static void add(Part part, long nanos) {
    if (enabled) {
      NANOS.get(part).add(nanos);
    }
  }

  /** Accumulated nanoseconds per part since the last {@link #reset()}. */
  public static Map<Part, Long> snapshot() {
    Map<Part, Long> m = new EnumMap<>(Part.class);
    for (Part p : Part.values()) {
      m.put(p, NANOS.get(p).sum());
    }
    return m;
  }

  public static void reset() {
    for (LongAdder a : NANOS.values()) {
      a.reset();
    }
  }
}
