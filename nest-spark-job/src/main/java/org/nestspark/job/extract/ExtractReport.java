package org.nestspark.job.extract;

import java.util.List;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.manifest.ManifestProblem;

/**
 * The outcome of an extract run: counts, the first skipped utterances with their reasons (every one is in
 * {@link #skippedFile}), the input problems, and where time went. Built from the tasks' summaries: the driver
 * never holds a record per utterance.
 */
public final class ExtractReport {
  public final long written;
  public final long existing;

  /** Utterances skipped by the executors (unreadable audio, an output that cannot be written). */
  public final long skippedCount;

  /** The first {@link PartSummary#MAX_EXAMPLES} of them, in input order. */
  public final List<PartSummary.Skip> skipped;

  public final List<ManifestProblem> inputProblems;
  public final double audioSeconds;
  public final double wallSeconds;
  public final ExtractTimings timings;
  public final String featuresJson;

  /** {@code skipped.txt} beside features.json, every skipped utterance with its reason; null when none was skipped. */
  public final String skippedFile;

  public final int[] layers;

  ExtractReport(
      PartSummary sum,
      List<ManifestProblem> inputProblems,
      double wallSeconds,
      ExtractTimings timings,
      String featuresJson,
      String skippedFile,
      int[] layers) {
    this.written = sum.written;
    this.existing = sum.existing;
    this.skippedCount = sum.skipped;
    this.skipped = List.copyOf(sum.examples());
    this.inputProblems = List.copyOf(inputProblems);
    this.audioSeconds = sum.audioSeconds;
    this.wallSeconds = wallSeconds;
    this.timings = timings;
    this.featuresJson = featuresJson;
    this.skippedFile = skippedFile;
    this.layers = layers.clone();
  }

  /** Utterances with outputs (written now or kept from an earlier run). */
  public long extracted() {
    return written + existing;
  }

  /** Skipped utterances plus malformed input lines. */
  public long skippedTotal() {
    return skippedCount + inputProblems.size();
  }
}
