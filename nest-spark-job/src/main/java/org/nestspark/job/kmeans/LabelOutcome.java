package org.nestspark.job.kmeans;

import java.io.Serializable;

/**
 * What happened to one utterance in a {@code nest kmeans} run: its label file written, already complete,
 * or skipped and why ("manifest:line: path" and the reason).
 *
 * @param id the entry's position in the manifest
 * @param json the manifest line as read
 * @param audio the resolved audio path or URI (the labels manifest lives elsewhere: relative paths would break)
 * @param labelPath the label file (null when skipped)
 * @param frames labels written (encoder frames)
 */
public record LabelOutcome(
    long id,
    String where,
    String json,
    String audio,
    String labelPath,
    int frames,
    double audioSeconds,
    Status status,
    String reason)
    implements Serializable {
  /** The three fates of an utterance. */
  public enum Status {
    WRITTEN,
    EXISTING,
    SKIPPED
  }

  static LabelOutcome done(
      long id,
      String where,
      String json,
      String audio,
      String labelPath,
      int frames,
      double audioSeconds,
      boolean existing) {
    return new LabelOutcome(
        id,
        where,
        json,
        audio,
        labelPath,
        frames,
        audioSeconds,
        existing ? Status.EXISTING : Status.WRITTEN,
        null);
  }

  static LabelOutcome skipped(long id, String where, String json, String reason) {
    return new LabelOutcome(id, where, json, null, null, 0, 0, Status.SKIPPED, reason);
  }
}
