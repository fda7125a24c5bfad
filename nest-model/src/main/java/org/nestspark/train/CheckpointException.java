package org.nestspark.train;

import java.io.IOException;

/**
 * A checkpoint file that cannot be used: missing, truncated, corrupted (checksum or zip CRC mismatch),
 * incomplete (an entry missing), of an unknown format or schema version, or inconsistent. The message is
 * {@code "<file>: <reason>"}.
 */
public final class CheckpointException extends IOException {
  private static final long serialVersionUID = 1L;
  private final String file;
  private final String reason;

  public CheckpointException(String file, String reason) {
    this(file, reason, null);
  }

  public CheckpointException(String file, String reason, Throwable cause) {
    super(file + ": " + reason, cause);
    this.file = file;
    this.reason = reason;
  }

  /** The checkpoint file, as shown to users. */
  public String file() {
    return file;
  }

  /** What is wrong with it. */
  public String reason() {
    return reason;
  }
}
