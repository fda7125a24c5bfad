package org.nestspark.job.spark;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * What one Spark task of {@code featurize} or {@code extract} returns to the driver instead of its
 * per-utterance records ({@link ManifestParts} holds those): counts, seconds of audio, and the first
 * {@link #MAX_EXAMPLES} skipped utterances (by id) as examples for the report. Its size is bounded whatever
 * the number of utterances; {@link #merge} keeps that bound, so the driver folds the tasks' summaries into
 * one as they arrive ({@code reduce}). A failed task attempt returns nothing, so nothing is counted twice.
 */
public final class PartSummary implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Skipped utterances kept as examples (the counts stay exact; {@code skipped.txt} lists them all). */
  public static final int MAX_EXAMPLES = 50;

  /** A skipped utterance: its id (input order), where it is (manifest:line: path) and why. */
  public record Skip(long id, String where, String reason) implements Serializable {}

  public long written;
  public long existing;
  public long skipped;
  public double audioSeconds;
  private final List<Skip> examples = new ArrayList<>();

  /** Counts one utterance whose output was written now. */
  public void written(double seconds) {
    written++;
    audioSeconds += seconds;
  }

  /** Counts one utterance whose complete output was already there. */
  public void existing() {
    existing++;
  }

  /** Counts one skipped utterance (kept as an example while there are fewer than {@link #MAX_EXAMPLES}). */
  public void skipped(long id, String where, String reason) {
    skipped++;
    if (examples.size() < MAX_EXAMPLES) {
      examples.add(new Skip(id, where, reason));
      return;
    }
    // full: replace the example with the largest id when this one comes earlier (extract's batches
    // are out of order)
    int largest = 0;
    for (int i = 1; i < examples.size(); i++) {
      if (examples.get(i).id() > examples.get(largest).id()) {
        largest = i;
      }
    }
    if (id < examples.get(largest).id()) {
      examples.set(largest, new Skip(id, where, reason));
    }
  }

  /** Adds {@code o} into this one (counts summed, the first {@link #MAX_EXAMPLES} examples by id kept); returns this. */
  public PartSummary merge(PartSummary o) {
    written += o.written;
    existing += o.existing;
    skipped += o.skipped;
    audioSeconds += o.audioSeconds;
    examples.addAll(o.examples);
    examples.sort(Comparator.comparingLong(Skip::id));
    if (examples.size() > MAX_EXAMPLES) {
      examples.subList(MAX_EXAMPLES, examples.size()).clear();
    }
    return this;
  }

  /** The kept examples, by id. */
  public List<Skip> examples() {
    List<Skip> out = new ArrayList<>(examples);
    out.sort(Comparator.comparingLong(Skip::id));
    return out;
  }
}
