package org.nestspark.kmeans;

import java.util.List;
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
 * @param skipped the utterances left out, with reasons
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
    List<LabelOutcome> skipped,
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
