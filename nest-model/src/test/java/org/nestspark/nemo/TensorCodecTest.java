package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nestspark.io.NpyArray;

/** Element conversions of checkpoint storages (16-bit floats, integers) and {@link NemoTensor}'s contract. */
class TensorCodecTest {

  @Test
  void everyHalfRoundTripsThroughFloatExactly() {
    for (int h = 0; h < 65536; h++) {
      float f = org.nestspark.io.HalfFloats.halfToFloat((short) h);
      assertEquals(
          h,
          org.nestspark.io.HalfFloats.floatToHalf(f) & 0xffff,
          "half 0x" + Integer.toHexString(h));
    }
    assertEquals(65504f, org.nestspark.io.HalfFloats.halfToFloat((short) 0x7bff));
    assertEquals(0x1p-24f, org.nestspark.io.HalfFloats.halfToFloat((short) 0x0001));
    assertEquals(-2f, org.nestspark.io.HalfFloats.halfToFloat((short) 0xc000));
  }

  @Test
  void floatToHalfRoundsToNearestEven() {
    assertEquals(
        0x7c00,
        org.nestspark.io.HalfFloats.floatToHalf(65520f) & 0xffff,
        "halfway to 65536 rounds to even = inf");
    assertEquals(0x7bff, org.nestspark.io.HalfFloats.floatToHalf(65519.996f) & 0xffff);
    assertEquals(
        0x3c00,
        org.nestspark.io.HalfFloats.floatToHalf(1f + 0x1p-11f) & 0xffff,
        "tie rounds to even (down)");
    assertEquals(
        0x3c02,
        org.nestspark.io.HalfFloats.floatToHalf(1f + 3 * 0x1p-11f) & 0xffff,
        "tie rounds to even (up)");
    assertEquals(
        0x0000,
        org.nestspark.io.HalfFloats.floatToHalf(0x1p-25f) & 0xffff,
        "half the smallest subnormal: tie to 0");
    assertEquals(0x0001, org.nestspark.io.HalfFloats.floatToHalf(Math.nextUp(0x1p-25f)) & 0xffff);
    assertEquals(0x8000, org.nestspark.io.HalfFloats.floatToHalf(-0f) & 0xffff);
    // against an exact reference on random floats over the whole half range
    SplittableRandom r = new SplittableRandom(7);
    for (int i = 0; i < 200_000; i++) {
      float f = (float) ((r.nextDouble() * 2 - 1) * Math.pow(2, r.nextInt(-27, 16)));
      short h = org.nestspark.io.HalfFloats.floatToHalf(f);
      assertNearestEven(f, h & 0xffff, org.nestspark.io.HalfFloats::halfToFloat, "half");
    }
  }

  @Test
  void everyBfloat16RoundTripsAndFloatsRoundToNearestEven() {
    for (int h = 0; h < 65536; h++) {
      assertEquals(
          h,
          org.nestspark.io.HalfFloats.floatToBfloat16(
                  org.nestspark.io.HalfFloats.bfloat16ToFloat((short) h))
              & 0xffff);
    }
    assertEquals(
        0x3f80,
        org.nestspark.io.HalfFloats.floatToBfloat16(1.00390625f) & 0xffff,
        "1 + 2^-8 is a tie: even");
    assertEquals(
        0x3f82,
        org.nestspark.io.HalfFloats.floatToBfloat16(1.01171875f) & 0xffff,
        "1 + 3·2^-8 is a tie: even");
    assertTrue(
        Float.isNaN(
            org.nestspark.io.HalfFloats.bfloat16ToFloat(
                org.nestspark.io.HalfFloats.floatToBfloat16(Float.intBitsToFloat(0x7f800001)))));
    SplittableRandom r = new SplittableRandom(11);
    for (int i = 0; i < 200_000; i++) {
      float f =
          Float.intBitsToFloat(r.nextInt(0x00800000, 0x7f000000)) * (r.nextBoolean() ? 1 : -1);
      assertNearestEven(
          f,
          org.nestspark.io.HalfFloats.floatToBfloat16(f) & 0xffff,
          org.nestspark.io.HalfFloats::bfloat16ToFloat,
          "bf16");
    }
  }

  private interface Widen {
    float apply(short s);
  }

  /** {@code h} is the nearest representable value to {@code f}, the even one on a tie. */
  private static void assertNearestEven(float f, int h, Widen w, String what) {
    BigDecimal x = new BigDecimal(f);
    BigDecimal got = new BigDecimal(w.apply((short) h)).subtract(x).abs();
    for (int n : new int[] {h - 1, h + 1}) {
      float other = w.apply((short) n);
      if ((n & 0x7fff) >= ((what.equals("half") ? 0x7c00 : 0x7f80))
          || Float.isInfinite(other)
          || Math.signum(other) * Math.signum(f) < 0) {
        continue;
      }
      int c = new BigDecimal(other).subtract(x).abs().compareTo(got);
      assertTrue(
          c > 0 || (c == 0 && (h & 1) == 0), what + " of " + f + " = 0x" + Integer.toHexString(h));
    }
  }

  @Test
  void integerAndBoolElementsDecodeWithTheirSignedness() {
    java.nio.ByteBuffer b =
        java.nio.ByteBuffer.wrap(new byte[] {(byte) 0xff, (byte) 0x80, 0x7f, 2})
            .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    int[] i8 = new int[4];
    TensorCodec.decode(NemoDtype.INT8, b, 0, i8, 0, 4);
    assertArrayEquals(new int[] {-1, -128, 127, 2}, i8);
    int[] u8 = new int[4];
    TensorCodec.decode(NemoDtype.UINT8, b, 0, u8, 0, 4);
    assertArrayEquals(new int[] {255, 128, 127, 2}, u8);
    int[] i16 = new int[2];
    TensorCodec.decode(NemoDtype.INT16, b, 0, i16, 0, 2);
    assertArrayEquals(new int[] {(short) 0x80ff, 0x027f}, i16);
    boolean[] bools = new boolean[4];
    TensorCodec.decode(NemoDtype.BOOL, b, 0, bools, 0, 4);
    assertArrayEquals(new boolean[] {true, true, true, true}, bools);
  }

  @Test
  void tensorsAreImmutableAndValidated() {
    float[] data = {1, 2, 3, 4, 5, 6};
    NemoTensor t = NemoTensor.of("w", new int[] {2, 3}, data);
    data[0] = 99;
    assertEquals(1f, t.toFloatArray()[0], "the factory copies");
    t.toFloatArray()[1] = 99;
    assertEquals(2f, t.toFloatArray()[1], "accessors copy");
    int[] shape = t.shape();
    shape[0] = 7;
    assertEquals(2, t.dim(0));
    assertNotSame(t.copyData(), t.copyData());
    assertThrows(
        IllegalArgumentException.class, () -> NemoTensor.of("w", new int[] {4}, new float[3]));
    assertThrows(
        IllegalArgumentException.class,
        () -> NemoTensor.of("w", NemoDtype.INT8, new int[] {1}, new int[] {128}));
    assertThrows(
        IllegalArgumentException.class,
        () -> NemoTensor.of("w", NemoDtype.FLOAT64, new int[] {1}, new float[1]));
    assertThrows(IllegalStateException.class, () -> t.toLongArray());
    // float16 values are rounded at construction, so reading back gives what will be written
    NemoTensor h = NemoTensor.of("h", NemoDtype.FLOAT16, new int[] {1}, new float[] {0.1f});
    assertEquals(
        org.nestspark.io.HalfFloats.halfToFloat(org.nestspark.io.HalfFloats.floatToHalf(0.1f)),
        h.toFloatArray()[0]);
    assertArrayEquals(new byte[] {0x66, 0x2e}, h.toLittleEndianBytes());
    // NPY interop and bitwise equality
    NpyArray a = t.toNpy();
    assertArrayEquals(new int[] {2, 3}, a.shape());
    assertEquals(t, NemoTensor.fromNpy("w", a));
    assertTrue(t.sameValues(t.withName("other")));
    assertEquals(0, NemoTensor.of("s", new int[] {}, new long[] {5}).rank());
  }

  @Test
  void contiguousStridesFollowTorch() {
    assertArrayEquals(
        new long[] {20560, 257, 1}, TensorCodec.contiguousStrides(new int[] {1, 80, 257}));
    assertArrayEquals(new long[] {4, 4, 1}, TensorCodec.contiguousStrides(new int[] {2, 0, 4}));
    assertArrayEquals(new long[0], TensorCodec.contiguousStrides(new int[0]));
    assertTrue(
        TensorCodec.isContiguous(new int[] {1, 3}, new long[] {99, 1}),
        "size-1 dims may have any stride");
  }
}
