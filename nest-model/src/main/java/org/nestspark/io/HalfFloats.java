package org.nestspark.io;

/**
 * 16-bit floats as torch stores and sends them: IEEE 754 binary16 ({@code torch.float16}: 11 significant
 * bits, range ±65504, subnormals below 6.1e-5) and bfloat16 (float32's exponent, 8 significant bits).
 * Conversions from float round to nearest, ties to even, as {@code Tensor.to(...)} does; NaN stays NaN
 * (quiet), values beyond float16's range become ±infinity; conversions to float are exact. Used for
 * {@code .nemo} tensors and for the 16-bit weight deltas of the low-communication training strategy.
 */
public final class HalfFloats {
  private HalfFloats() {}

  /** IEEE 754 binary16 to float (exact). */
  public static float halfToFloat(short bits) {
    int h = bits & 0xffff;
    int sign = (h & 0x8000) << 16;
    int exp = (h >>> 10) & 0x1f;
    int mant = h & 0x3ff;
    if (exp == 0) {
      float v = mant * 0x1p-24f; // zero or subnormal, exact
      return sign != 0 ? -v : v;
    }
    if (exp == 0x1f) {
      return Float.intBitsToFloat(sign | 0x7f800000 | (mant << 13));
    }
    return Float.intBitsToFloat(sign | ((exp - 15 + 127) << 23) | (mant << 13));
  }

  /** float to IEEE 754 binary16, round to nearest even (NaN payload's top bits kept, quiet). */
  public static short floatToHalf(float f) {
    int x = Float.floatToRawIntBits(f);
    int sign = (x >>> 16) & 0x8000;
    int exp = (x >>> 23) & 0xff;
    int mant = x & 0x7fffff;
    if (exp == 0xff) {
      if (mant == 0) {
        return (short) (sign | 0x7c00);
      }
      int m = mant >>> 13;
      return (short) (sign | 0x7c00 | (m == 0 ? 0x200 : m));
    }
    int e = exp - 127 + 15;
    if (e >= 0x1f) {
      return (short) (sign | 0x7c00);
    }
    if (e <= 0) {
      if (e < -10) {
        return (short) sign;
      }
      int m = mant | 0x800000;
      int shift = 14 - e;
      int half = m >>> shift;
      int rem = m & ((1 << shift) - 1);
      int halfway = 1 << (shift - 1);
      if (rem > halfway || (rem == halfway && (half & 1) != 0)) {
        half++;
      }
      return (short) (sign | half);
    }
    int half = (e << 10) | (mant >>> 13);
    int rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1) != 0)) {
      half++; // a carry into the exponent gives the next binade or infinity, as it should
    }
    return (short) (sign | half);
  }

  /** bfloat16 to float (exact). */
  public static float bfloat16ToFloat(short bits) {
    return Float.intBitsToFloat((bits & 0xffff) << 16);
  }

  /** float to bfloat16, round to nearest even (NaN stays NaN, quiet). */
  public static short floatToBfloat16(float f) {
    int x = Float.floatToRawIntBits(f);
    if ((x & 0x7f800000) == 0x7f800000 && (x & 0x7fffff) != 0) {
      int hi = x >>> 16;
      return (short) ((hi & 0x7f) == 0 ? hi | 0x40 : hi);
    }
    int rounded = x + 0x7fff + ((x >>> 16) & 1);
    return (short) (rounded >>> 16);
  }
}
