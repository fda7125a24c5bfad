package org.nestspark.train;

import java.util.Locale;
import org.nestspark.io.HalfFloats;

/**
 * How parameter deltas travel from a worker to the reduction in the low-communication strategy
 * ({@code pretrain.diloco.delta_dtype}): {@code float32} as computed, or rounded to 16 bits
 * ({@code bfloat16}: float32's exponent, 8 significant bits; {@code float16}: IEEE 754 binary16, 11 significant
 * bits, range ±65504, subnormals below 6.1e-5). OpenDiLoCo (arXiv:2407.07852) reduces its outer gradients in
 * 16 bits without loss; the sums themselves are always accumulated in float32.
 *
 * <p>The 16-bit conversions are {@link HalfFloats}' (round to nearest even, as torch).
 */
public enum DeltaDtype {
  FLOAT32(4),
  BFLOAT16(2),
  FLOAT16(2);

  private final int bytes;

  DeltaDtype(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per element on the wire. */
  public int bytes() {
    return bytes;
  }

  /** The configuration name ({@code float32}, {@code bfloat16}, {@code float16}). */
  public String key() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Parses a configuration value. */
  public static DeltaDtype of(String key) {
    for (DeltaDtype d : values()) {
      if (d.key().equals(key)) {
        return d;
      }
    }
    throw new IllegalArgumentException(
        "delta dtype '" + key + "': expected float32, bfloat16 or float16");
  }

  /** Rounds every value to this dtype and back (what the receiver of {@link #encode} decodes). */
  public float round(float v) {
    switch (this) {
      case BFLOAT16:
        return HalfFloats.bfloat16ToFloat(HalfFloats.floatToBfloat16(v));
      case FLOAT16:
        return HalfFloats.halfToFloat(HalfFloats.floatToHalf(v));
      default:
        return v;
    }
  }

  /** 16-bit codes of {@code values} (not for {@link #FLOAT32}). */
  public short[] encode(float[] values) {
    if (this == FLOAT32) {
      throw new IllegalStateException("float32 deltas are not encoded");
    }
    short[] out = new short[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] =
          this == BFLOAT16
              ? HalfFloats.floatToBfloat16(values[i])
              : HalfFloats.floatToHalf(values[i]);
    }
    return out;
  }

  /** Adds the decoded {@code codes} to {@code sum}. */
  public void addDecoded(short[] codes, float[] sum) {
    if (codes.length != sum.length) {
      throw new IllegalArgumentException("length " + codes.length + " != " + sum.length);
    }
    for (int i = 0; i < codes.length; i++) {
      sum[i] +=
          this == BFLOAT16
              ? HalfFloats.bfloat16ToFloat(codes[i])
              : HalfFloats.halfToFloat(codes[i]);
    }
  }
}
