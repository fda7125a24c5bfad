package org.nestspark.job.pretrain;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.train.TrainStep;

/**
 * The training workers an executor JVM keeps between rounds ({@link RoundTrainer}): per (attempt, worker)
 * the worker's graph, its {@link TrainStep} (AdamW moments inside the graph's updater) and the round it last
 * finished. A round then only loads new parameters into the kept graph instead of rebuilding it, and in the
 * low-communication strategy the inner optimizer state stays here and never travels.
 *
 * <p>Memory is bounded: at most {@code capacity} slots per JVM, least recently used evicted first (a worker
 * that Spark moved to another executor leaves its old slot to be evicted). A slot is used by one task at a
 * time; a second task for the same worker while the first still runs (speculation) gets none and works on
 * a temporary graph.
 */
final class WorkerSlots {
  /** One worker's state on this executor. */
  static final class Slot {
    final String attempt;
    final int worker;
    final ComputationGraph graph;
    final TrainStep step;

    /** The last round this slot finished; -1 before the first. */
    long round = -1;

    /** True while a round is being trained (a failure leaves it set: the state is then half a round). */
    boolean dirty;

    /** The result summary of {@link #round}, for a task that Spark runs again after it succeeded. */
    RoundResult lastSummary;

    boolean busy;

    Slot(String attempt, int worker, ComputationGraph graph, TrainStep step) {
      this.attempt = attempt;
      this.worker = worker;
      this.graph = graph;
      this.step = step;
    }
  }

  private static final Map<String, Slot> SLOTS = new LinkedHashMap<>(16, 0.75f, true);

  private WorkerSlots() {}

  private static String key(String attempt, int worker) {
    return attempt + "#" + worker;
  }

  /**
   * Takes the slot of {@code worker} in {@code attempt} for one task, or null when this JVM has none (or
   * another task holds it). Release it with {@link #release}.
   */
  static synchronized Slot take(String attempt, int worker) {
    Slot s = SLOTS.get(key(attempt, worker));
    if (s == null || s.busy) {
      return null;
    }
    s.busy = true;
    return s;
  }

  /** Keeps {@code slot} (new or taken) for later rounds, evicting the least recently used beyond {@code capacity}. */
  static synchronized void release(Slot slot, int capacity) {
    slot.busy = false;
    String k = key(slot.attempt, slot.worker);
    SLOTS.putIfAbsent(k, slot);
    int cap = Math.max(1, capacity);
    Iterator<Map.Entry<String, Slot>> it = SLOTS.entrySet().iterator();
    while (SLOTS.size() > cap && it.hasNext()) {
      Map.Entry<String, Slot> e = it.next();
      if (!e.getValue().busy && e.getValue() != slot) {
        it.remove();
      }
    }
  }

  /** Forgets a slot whose state cannot be trusted (a task failed in the middle of a round). */
  static synchronized void discard(Slot slot) {
    SLOTS.remove(key(slot.attempt, slot.worker), slot);
  }

  /** The workers this JVM holds, as "attempt#worker" (tests). */
  static synchronized List<String> held() {
    return new ArrayList<>(SLOTS.keySet());
  }

  /** Drops every slot (tests). */
  static synchronized void clear() {
    SLOTS.clear();
  }
}
