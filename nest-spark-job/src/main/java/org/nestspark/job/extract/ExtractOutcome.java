package org.nestspark.job.extract;

import java.io.Serializable;

/** What happened to one input utterance in an extract run: written, already there, or skipped and why. */
public final class ExtractOutcome implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The three fates of an utterance. */
  public enum Status {
    WRITTEN,
    EXISTING,
    SKIPPED
  }

  public final long id;
  public final String where;
  public final String json;
  public final String featurePath;
  public final int frames;
  public final double audioSeconds;
  public final Status status;
  public final String reason;

  private ExtractOutcome(
      long id,
      String where,
      String json,
      String featurePath,
      int frames,
      double audioSeconds,
      Status status,
      String reason) {
    this.id = id;
    this.where = where;
    this.json = json;
    this.featurePath = featurePath;
    this.frames = frames;
    this.audioSeconds = audioSeconds;
    this.status = status;
    this.reason = reason;
  }

  static ExtractOutcome done(
      long id,
      String where,
      String json,
      String featurePath,
      int frames,
      double audioSeconds,
      boolean existing) {
    return new ExtractOutcome(
        id,
        where,
        json,
        featurePath,
        frames,
        audioSeconds,
        existing ? Status.EXISTING : Status.WRITTEN,
        null);
  }

  static ExtractOutcome skipped(long id, String where, String json, String reason) {
    return new ExtractOutcome(id, where, json, null, 0, 0, Status.SKIPPED, reason);
  }

  @Override
  public String toString() {
    return status == Status.SKIPPED
        ? where + ": " + reason
        : where + " -> " + featurePath + " (" + frames + " frames)";
  }
}
