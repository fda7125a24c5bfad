package org.nestspark.nemo;

import java.io.IOException;

/**
 * A {@code .nemo} archive (or a {@code model_weights.ckpt} inside one) that cannot be read or must not
 * be read: not a tar/gzip tar, truncated, a member that is missing, a member path that would escape
 * the extraction folder ({@code ../x}, {@code /etc/x}), a link or device member, a checkpoint that is
 * not PyTorch's zip format, a pickle that asks for anything but a state dict (docs/nest-numerics.md §11).
 *
 * <p>The message is {@code "<archive>: <member>: <reason>"} (or {@code "<archive>: <reason>"} when the
 * problem is not about one member), so it can be printed as is; {@link #archive()}, {@link #member()}
 * and {@link #reason()} give the parts. A record inside the checkpoint zip is named
 * {@code ./model_weights.ckpt!model_weights/data.pkl}.
 */
public class NemoFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  private final String archive;
  private final String member;
  private final String reason;

  public NemoFormatException(String archive, String member, String reason) {
    this(archive, member, reason, null);
  }

  public NemoFormatException(String archive, String member, String reason, Throwable cause) {
    super(archive + (member == null ? "" : ": " + member) + ": " + reason, cause);
    this.archive = archive;
    this.member = member;
    this.reason = reason;
  }

  /** The archive (path as given, or the name given for a stream). */
  public String archive() {
    return archive;
  }

  /** The member the problem is about, or {@code null} when it is about the archive as a whole. */
  public String member() {
    return member;
  }

  /** What is wrong, without archive and member. */
  public String reason() {
    return reason;
  }
}
