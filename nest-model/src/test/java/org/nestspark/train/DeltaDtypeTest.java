package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** 16-bit wire formats of the DiLoCo deltas: the bit patterns torch produces, round to nearest even. */
class DeltaDtypeTest {
  @Test
  void bfloat16BitPatterns() {
    assertEquals((short) 0x3F80, org.nestspark.io.HalfFloats.floatToBfloat16(1.0f));
    assertEquals((short) 0xC000, org.nestspark.io.HalfFloats.floatToBfloat16(-2.0f));
    // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties to even -> 1.0; just above rounds up
    assertEquals(1.0f, DeltaDtype.BFLOAT16.round(1.0f + 0x1p-8f));
    assertEquals(1.0078125f, DeltaDtype.BFLOAT16.round(Math.nextUp(1.0f + 0x1p-8f)));
    assertEquals(
        1.0078125f + 0.0078125f,
        DeltaDtype.BFLOAT16.round(1.0078125f + 0x1p-8f)); // tie, odd -> up to even
    assertTrue(Float.isNaN(DeltaDtype.BFLOAT16.round(Float.NaN)));
    assertEquals(Float.NEGATIVE_INFINITY, DeltaDtype.BFLOAT16.round(Float.NEGATIVE_INFINITY));
  }

  @Test
  void float16BitPatternsRangeAndSubnormals() {
    assertEquals((short) 0x3C00, org.nestspark.io.HalfFloats.floatToHalf(1.0f));
    assertEquals((short) 0x7BFF, org.nestspark.io.HalfFloats.floatToHalf(65504f));
    assertEquals(
        (short) 0x7C00,
        org.nestspark.io.HalfFloats.floatToHalf(65520f)); // rounds past the largest half: infinity
    assertEquals(
        (short) 0x0001, org.nestspark.io.HalfFloats.floatToHalf(0x1p-24f)); // smallest subnormal
    assertEquals((short) 0x0000, org.nestspark.io.HalfFloats.floatToHalf(0x1p-26f));
    assertEquals(
        (short) 0x8400,
        org.nestspark.io.HalfFloats.floatToHalf(-0x1p-14f)); // smallest normal, negative
    assertEquals(0x1p-24f * 3, DeltaDtype.FLOAT16.round(0x1p-24f * 3));
    assertEquals(1.0f, DeltaDtype.FLOAT16.round(1.0f + 0x1p-11f)); // tie to even
    assertEquals(1.0f + 0x1p-10f, DeltaDtype.FLOAT16.round(Math.nextUp(1.0f + 0x1p-11f)));
    assertEquals(
        0.0999755859375f, DeltaDtype.FLOAT16.round(0.1f)); // torch.tensor(0.1).half().item()
    assertTrue(Float.isNaN(DeltaDtype.FLOAT16.round(Float.NaN)));
  }

  @Test
  void encodeAndSum() {
    float[] v = {0.1f, -3.25f, 1e-3f};
    float[] sum = {1f, 1f, 1f};
    DeltaDtype.BFLOAT16.addDecoded(DeltaDtype.BFLOAT16.encode(v), sum);
    for (int i = 0; i < v.length; i++) {
      assertEquals(1f + DeltaDtype.BFLOAT16.round(v[i]), sum[i], 0f);
      assertEquals(v[i], DeltaDtype.BFLOAT16.round(v[i]), Math.abs(v[i]) / 256);
    }
    assertThrows(IllegalStateException.class, () -> DeltaDtype.FLOAT32.encode(v));
    assertEquals(DeltaDtype.FLOAT16, DeltaDtype.of("float16"));
    assertThrows(IllegalArgumentException.class, () -> DeltaDtype.of("fp8"));
  }
}
