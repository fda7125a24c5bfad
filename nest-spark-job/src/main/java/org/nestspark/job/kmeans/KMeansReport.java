package org.nestspark.job.kmeans;

import java.util.List;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.manifest.ManifestProblem;

/**
 * The result of a {@code nest kmeans} run.
 *
 * @param fit how the centroids came about: {@code fitted}, {@code kept} (an earlier fit with the same
 *     settings) or {@code given} ({@code kmeans.centroids})
 * @param k clusters
 * @param dim feature dimension
 * @param sampledFrames frames the fit used (0 when not fitted in this run)
 * @param cost the fit's sum of squared distances to the nearest centroid over the sampled frames (NaN when not fitted)
 * @param written label files written
 * @param existing label files kept from an earlier run
 * @param skippedCount the utterances left out
 * @param skipped the first of them with their reasons ({@link PartSummary#MAX_EXAMPLES})
 * @param skippedFile where every skipped utterance and its reason is listed (null when none was skipped)
 * @param inputProblems malformed manifest lines
 * @param labelsManifest where {@code labels_manifest.json} is
 */
public record KMeansReport(
    String fit,
    int k,
    int dim,
    long sampledFrames,
    double cost,
    int written,
    int existing,
    long skippedCount,
    List<PartSummary.Skip> skipped,
    String skippedFile,
    List<ManifestProblem> inputProblems,
    double audioSeconds,
    double wallSeconds,
    String labelsManifest,
    String centroids) {
  /** Utterances with labels. */
  public int labelled() {
    return written + existing;
  }
}
