package org.nestspark.extract;

import java.util.List;
import org.nestspark.manifest.ManifestProblem;

/** The outcome of an extract run: counts, every skip with its reason, the input problems, and where time went. */
public final class ExtractReport {
  public final int written;
  public final int existing;
  public final List<ExtractOutcome> skipped;
  public final List<ManifestProblem> inputProblems;
  public final double audioSeconds;
  public final double wallSeconds;
  public final ExtractTimings timings;
  public final String featuresJson;
  public final int[] layers;

  ExtractReport(int written, int existing, List<ExtractOutcome> skipped, List<ManifestProblem> inputProblems, double audioSeconds,
      double wallSeconds, ExtractTimings timings, String featuresJson, int[] layers) {
    this.written = written;
    this.existing = existing;
    this.skipped = List.copyOf(skipped);
    this.inputProblems = List.copyOf(inputProblems);
    this.audioSeconds = audioSeconds;
    this.wallSeconds = wallSeconds;
    this.timings = timings;
    this.featuresJson = featuresJson;
    this.layers = layers.clone();
  }

  /** Utterances with outputs (written now or kept from an earlier run). */
  public int extracted() {
    return written + existing;
  }

  /** Skipped utterances plus malformed input lines. */
  public int skippedTotal() {
    return skipped.size() + inputProblems.size();
  }
}
