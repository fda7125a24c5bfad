package org.nestspark.manifest;

import java.util.List;
import java.util.Map;

/**
 * What reading one or more manifests gave: the usable entries, the malformed lines (skipped and
 * counted, each with manifest, line and reason) and how many well-formed entries the duration filter
 * dropped.
 */
public final class ManifestReadResult {
  private final List<ManifestEntry> entries;
  private final List<ManifestProblem> problems;
  private final int filteredByDuration;
  private final double totalDurationSeconds;
  private final Map<String, String> sha256;

  public ManifestReadResult(
      List<ManifestEntry> entries,
      List<ManifestProblem> problems,
      int filteredByDuration,
      Map<String, String> sha256) {
    this.sha256 = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(sha256));
    this.entries = List.copyOf(entries);
    this.problems = List.copyOf(problems);
    this.filteredByDuration = filteredByDuration;
    double total = 0;
    for (ManifestEntry e : entries) {
      if (e.duration() != null) {
        total += e.duration();
      }
    }
    this.totalDurationSeconds = total;
  }

  public List<ManifestEntry> entries() {
    return entries;
  }

  public List<ManifestProblem> problems() {
    return problems;
  }

  public int filteredByDuration() {
    return filteredByDuration;
  }

  /** Sum of the {@code duration} fields of the kept entries (entries without one count 0). */
  public double totalDurationSeconds() {
    return totalDurationSeconds;
  }

  /** Manifest (as given) → SHA-256 hex of its bytes, computed while reading (provenance of a run). */
  public Map<String, String> sha256() {
    return sha256;
  }

  /** For {@code data.on_error=fail}: throws if any line was malformed. */
  public ManifestReadResult failOnProblems() throws ManifestException {
    if (!problems.isEmpty()) {
      StringBuilder sb =
          new StringBuilder(
              problems.size() + " malformed manifest line(s) and data.on_error=fail:");
      problems.stream().limit(20).forEach(p -> sb.append("\n  ").append(p));
      if (problems.size() > 20) {
        sb.append("\n  ... and ").append(problems.size() - 20).append(" more");
      }
      throw new ManifestException(sb.toString());
    }
    return this;
  }
}
