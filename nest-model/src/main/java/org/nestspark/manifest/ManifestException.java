package org.nestspark.manifest;

/** A manifest that cannot be read at all (missing, a directory, unreadable), or malformed lines with on_error=fail. */
public final class ManifestException extends Exception {
  private static final long serialVersionUID = 1L;

  public ManifestException(String message) {
    super(message);
  }

  public ManifestException(String message, Throwable cause) {
    super(message, cause);
  }
}
