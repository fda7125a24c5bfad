package org.nestspark.train;

import java.util.Locale;

/**
 * How parameter deltas travel from a worker to the reduction in the low-communication strategy
 * ({@code pretrain.diloco.delta_dtype}): {@code float32} as computed, or rounded to 16 bits
 * ({@code bfloat16}: float32's exponent, 8 significant bits; {@code float16}: IEEE 754 binary16, 11 significant
 * bits, range ±65504, subnormals below 6.1e-5). OpenDiLoCo (arXiv:2407.07852) reduces its outer gradients in
 * 16 bits without loss; the sums themselves are always accumulated in float32.
 *
 * <p>Both 16-bit conversions round to nearest, ties to even (as {@code torch.Tensor.to(torch.bfloat16)} and
 * {@code .half()} do); NaN stays NaN, values beyond float16's range become ±infinity.
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
    throw new IllegalArgumentException("delta dtype '" + key + "': expected float32, bfloat16 or float16");
  }

  /** Rounds every value to this dtype and back (what the receiver of {@link #encode} decodes). */
  public float round(float v) {
    switch (this) {
      case BFLOAT16:
        return bf16ToFloat(floatToBf16(v));
      case FLOAT16:
        return halfToFloat(floatToHalf(v));
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
      out[i] = this == BFLOAT16 ? floatToBf16(values[i]) : floatToHalf(values[i]);
    }
    return out;
  }

  /** Adds the decoded {@code codes} to {@code sum}. */
  public void addDecoded(short[] codes, float[] sum) {
    if (codes.length != sum.length) {
      throw new IllegalArgumentException("length " + codes.length + " != " + sum.length);
    }
    for (int i = 0; i < codes.length; i++) {
      sum[i] += this == BFLOAT16 ? bf16ToFloat(codes[i]) : halfToFloat(codes[i]);
    }
  }

  static short floatToBf16(float f) {
    int bits = Float.floatToRawIntBits(f);
    if (Float.isNaN(f)) {
      return (short) ((bits >>> 16) | 0x40); // quiet NaN, sign kept
    }
    int lsb = (bits >>> 16) & 1;
    return (short) ((bits + 0x7FFF + lsb) >>> 16);
  }

  static float bf16ToFloat(short h) {
    return Float.intBitsToFloat((h & 0xFFFF) << 16);
  }

  static short floatToHalf(float f) {
    int bits = Float.floatToRawIntBits(f);
    int sign = (bits >>> 16) & 0x8000;
    int exp = (bits >>> 23) & 0xFF;
    int mant = bits & 0x7FFFFF;
    if (exp == 0xFF) { // inf or NaN
      return (short) (sign | 0x7C00 | (mant != 0 ? 0x200 : 0));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1F) { // overflow
      return (short) (sign | 0x7C00);
    }
    if (e <= 0) { // subnormal or zero in half
      if (e < -10) {
        return (short) sign;
      }
      int m = mant | 0x800000; // implicit bit
      int shift = 14 - e; // 24-bit significand -> (10 + e)-bit
      int half = m >>> shift;
      int rem = m & ((1 << shift) - 1);
      int mid = 1 << (shift - 1);
      if (rem > mid || (rem == mid && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++; // may carry into the exponent, up to infinity: correct rounding
    }
    return (short) (sign | half);
  }

  static float halfToFloat(short h) {
    int bits = h & 0xFFFF;
    int sign = (bits & 0x8000) << 16;
    int exp = (bits >>> 10) & 0x1F;
    int mant = bits & 0x3FF;
    if (exp == 0) {
      if (mant == 0) {
        return Float.intBitsToFloat(sign);
      }
      float v = mant * 0x1p-24f;
      return sign != 0 ? -v : v;
    }
    if (exp == 0x1F) {
      return Float.intBitsToFloat(sign | 0x7F800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }
}
