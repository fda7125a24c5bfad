package org.nestspark.job.featurize;

import java.io.Serializable;

/** What happened to one manifest entry in a featurize run: written, already there, or skipped and why. */
public final class FeaturizeOutcome implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The three fates of an entry. */
  public enum Status {
    WRITTEN,
    EXISTING,
    SKIPPED
  }

  public final long id;
  public final String where;
  public final String json;
  public final String featurePath;

  /** The member name in the tar shard {@link #featurePath} (featurize.format = tar); null for single files. */
  public final String member;

  public final int numFrames;
  public final double audioSeconds;
  public final Status status;
  public final String reason;

  private FeaturizeOutcome(
      long id,
      String where,
      String json,
      String featurePath,
      String member,
      int numFrames,
      double audioSeconds,
      Status status,
      String reason) {
    this.id = id;
    this.where = where;
    this.json = json;
    this.featurePath = featurePath;
    this.member = member;
    this.numFrames = numFrames;
    this.audioSeconds = audioSeconds;
    this.status = status;
    this.reason = reason;
  }

  static FeaturizeOutcome done(
      long id,
      String where,
      String json,
      String featurePath,
      int numFrames,
      double audioSeconds,
      boolean existing) {
    return new FeaturizeOutcome(
        id,
        where,
        json,
        featurePath,
        null,
        numFrames,
        audioSeconds,
        existing ? Status.EXISTING : Status.WRITTEN,
        null);
  }

  /** Features written as member {@code member} of the tar shard {@code tar} (featurize.format = tar). */
  static FeaturizeOutcome inTar(
      long id,
      String where,
      String json,
      String tar,
      String member,
      int numFrames,
      double audioSeconds,
      boolean existing) {
    return new FeaturizeOutcome(
        id,
        where,
        json,
        tar,
        member,
        numFrames,
        audioSeconds,
        existing ? Status.EXISTING : Status.WRITTEN,
        null);
  }

  static FeaturizeOutcome skipped(long id, String where, String json, String reason) {
    return new FeaturizeOutcome(id, where, json, null, null, 0, 0, Status.SKIPPED, reason);
  }

  @Override
  public String toString() {
    return status == Status.SKIPPED
        ? where + ": " + reason
        : where
            + " -> "
            + featurePath
            + (member == null ? "" : ":" + member)
            + " ("
            + numFrames
            + " frames)";
  }
}
