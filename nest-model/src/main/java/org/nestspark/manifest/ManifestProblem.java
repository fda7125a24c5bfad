package org.nestspark.manifest;

import java.io.Serializable;

/** A line or file that was skipped, with where it is and why: {@code manifest:line: reason}. */
public final class ManifestProblem implements Serializable {
  private static final long serialVersionUID = 1L;
  private final String manifest;
  private final int line;
  private final String reason;

  public ManifestProblem(String manifest, int line, String reason) {
    this.manifest = manifest;
    this.line = line;
    this.reason = reason;
  }

  public String manifest() {
    return manifest;
  }

  /** 1-based line, or 0 when the problem concerns the whole manifest. */
  public int line() {
    return line;
  }

  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return (line > 0 ? manifest + ":" + line : manifest) + ": " + reason;
  }
}
