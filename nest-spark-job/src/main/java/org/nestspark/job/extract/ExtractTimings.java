package org.nestspark.job.extract;

import java.io.Serializable;

/** Where extraction time went (summed over tasks): audio decoding, featurizing, the encoder, writing. */
public final class ExtractTimings implements Serializable {
  private static final long serialVersionUID = 1L;
  public double decodeSeconds;
  public double featurizeSeconds;
  public double encoderSeconds;
  public double writeSeconds;

  ExtractTimings add(ExtractTimings o) {
    decodeSeconds += o.decodeSeconds;
    featurizeSeconds += o.featurizeSeconds;
    encoderSeconds += o.encoderSeconds;
    writeSeconds += o.writeSeconds;
    return this;
  }

  /** Sum of the four. */
  public double total() {
    return decodeSeconds + featurizeSeconds + encoderSeconds + writeSeconds;
  }

  /** "decode 3 %, featurize 2 %, encoder 90 %, write 5 %". */
  public String shares() {
    double t = Math.max(total(), 1e-12);
    return String.format(
        java.util.Locale.ROOT,
        "decode %.1f %%, featurize %.1f %%, encoder %.1f %%, write %.1f %%",
        100 * decodeSeconds / t,
        100 * featurizeSeconds / t,
        100 * encoderSeconds / t,
        100 * writeSeconds / t);
  }
}
