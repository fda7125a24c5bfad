package org.nestspark.job.featurize;

import java.util.List;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.manifest.ManifestProblem;

/**
 * The outcome of a featurize run: counts, the first skipped utterances with their reasons (every one is in
 * {@link #skippedFile}), and the manifest problems. Built from the tasks' {@link PartSummary}s: the driver
 * never holds a record per utterance.
 */
public final class FeaturizeReport {
  public final long written;
  public final long existing;

  /** Utterances skipped by the executors (unreadable audio, an output that cannot be written). */
  public final long skippedCount;

  /** The first {@link PartSummary#MAX_EXAMPLES} of them, in input order. */
  public final List<PartSummary.Skip> skipped;

  public final List<ManifestProblem> manifestProblems;
  public final double audioSeconds;
  public final double wallSeconds;
  public final String featuresJson;

  /** {@code skipped.txt} beside features.json, every skipped utterance with its reason; null when none was skipped. */
  public final String skippedFile;

  FeaturizeReport(
      PartSummary sum,
      List<ManifestProblem> manifestProblems,
      double wallSeconds,
      String featuresJson,
      String skippedFile) {
    this.written = sum.written;
    this.existing = sum.existing;
    this.skippedCount = sum.skipped;
    this.skipped = List.copyOf(sum.examples());
    this.manifestProblems = List.copyOf(manifestProblems);
    this.audioSeconds = sum.audioSeconds;
    this.wallSeconds = wallSeconds;
    this.featuresJson = featuresJson;
    this.skippedFile = skippedFile;
  }

  /** Utterances with features (written now or kept from an earlier run). */
  public long featurized() {
    return written + existing;
  }

  /** Skipped utterances plus malformed manifest lines. */
  public long skippedTotal() {
    return skippedCount + manifestProblems.size();
  }
}
