package org.nestspark.audio;

/**
 * A clip that cannot be read, or whose bytes are not valid audio we can decode.
 *
 * <p>Every problem with an audio file (missing file, a directory, an empty or truncated file, a header
 * that lies about sizes, a corrupt FLAC frame, non-finite float samples, an offset past the end, an
 * unsupported container or encoding, ...) surfaces as this checked exception, never as an unchecked
 * exception and never as silently wrong samples. The message is always {@code "<path>: <reason>"}, so a
 * manifest validator can print it as is; {@link #path()} and {@link #reason()} give the two parts.
 *
 * <p>Programming errors (a null argument, a negative target sample rate passed to the resampler) are
 * still reported with the usual unchecked exceptions.
 */
public class AudioException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String path;
  private final String reason;

  public AudioException(String path, String reason) {
    this(path, reason, null);
  }

  public AudioException(String path, String reason, Throwable cause) {
    super(path + ": " + reason, cause);
    this.path = path;
    this.reason = reason;
  }

  /** The file (or the name given for in-memory bytes) the problem is about. */
  public String path() {
    return path;
  }

  /** What is wrong, without the path. */
  public String reason() {
    return reason;
  }
}
