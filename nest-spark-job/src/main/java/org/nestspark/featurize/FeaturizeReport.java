package org.nestspark.featurize;

import java.util.List;

import org.nestspark.manifest.ManifestProblem;

/** The outcome of a featurize run: counts, every skip with its reason, and the manifest problems. */
public final class FeaturizeReport {
  public final int written;
  public final int existing;
  public final List<FeaturizeOutcome> skipped;
  public final List<ManifestProblem> manifestProblems;
  public final double audioSeconds;
  public final double wallSeconds;
  public final String featuresJson;

  FeaturizeReport(int written, int existing, List<FeaturizeOutcome> skipped, List<ManifestProblem> manifestProblems,
      double audioSeconds, double wallSeconds, String featuresJson) {
    this.written = written;
    this.existing = existing;
    this.skipped = List.copyOf(skipped);
    this.manifestProblems = List.copyOf(manifestProblems);
    this.audioSeconds = audioSeconds;
    this.wallSeconds = wallSeconds;
    this.featuresJson = featuresJson;
  }

  /** Utterances with features (written now or kept from an earlier run). */
  public int featurized() {
    return written + existing;
  }

  /** Skipped utterances plus malformed manifest lines. */
  public int skippedTotal() {
    return skipped.size() + manifestProblems.size();
  }
}
