package org.nestspark.ssl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;
import org.nestspark.io.NpyArray;

class TokenSelectionTest {
  @Test
  void goldenTokenMaskFromGoldenFrameMask() {
    TokenSelection sel = TokenSelection.of(NestConfig.defaults().settings().loss());
    SelectedTokens s = sel.select(SslGolden.frameMask(), 6, 1104);
    NpyArray want = SslGolden.npy("loss/token_mask.npy.gz");
    assertArrayEquals(new int[] {6, 138}, want.shape());
    assertArrayEquals(want.booleanData(), s.selected());
    assertEquals(36, s.count());
    int[] per = new int[6];
    for (int b = 0; b < 6; b++) {
      per[b] = s.count(b);
    }
    assertArrayEquals(new int[] {1, 4, 12, 15, 4, 0}, per);
    assertFalse(s.isEmpty());
    assertEquals(138, s.numTokens());
  }

  /** ≥ 7 of 8 frames: 7/8 = 0.875 > 0.8 counts, 6/8 = 0.75 does not, wherever the frames sit. */
  @Test
  void thresholdIsSevenOfEight() {
    TokenSelection sel = new TokenSelection(8, 0.8);
    for (int n = 0; n <= 8; n++) {
      for (int shift = 0; shift < 8; shift++) {
        boolean[] m = new boolean[16];
        for (int k = 0; k < n; k++) {
          m[8 + (k + shift) % 8] = true;
        }
        SelectedTokens s = sel.select(m, 1, 16);
        assertFalse(s.isSelected(0, 0));
        assertEquals(n >= 7, s.isSelected(0, 1), n + " of 8");
      }
    }
  }

  /** An isolated 40-frame block selects 4 or 5 tokens depending on its offset mod 8 (docs/nest-numerics.md §7). */
  @Test
  void isolatedBlockSelectsFourOrFiveTokens() {
    TokenSelection sel = new TokenSelection(8, 0.8);
    for (int s = 0; s < 16; s++) {
      boolean[] m = new boolean[80];
      for (int t = s; t < s + 40; t++) {
        m[t] = true;
      }
      int expected =
          s % 8 <= 1 || s % 8 == 7 ? 5 : 4; // 5 when the block covers ≥ 7 frames at both ends
      int got = sel.select(m, 1, 80).count();
      assertTrue(got == 4 || got == 5);
      assertEquals(expected, got, "offset " + s);
    }
  }

  @Test
  void emptySelectionIsDetectable() {
    SelectedTokens s = new TokenSelection(8, 0.8).select(new boolean[2 * 32], 2, 32);
    assertTrue(s.isEmpty());
    assertEquals(0, s.count());
    assertArrayEquals(new float[8], s.asFloat());
  }

  @Test
  void floatMaskAndShapeChecks() {
    boolean[] m = new boolean[16];
    for (int t = 0; t < 8; t++) {
      m[t] = true;
    }
    SelectedTokens s = new TokenSelection(8, 0.8).select(m, 1, 16);
    assertArrayEquals(new float[] {1f, 0f}, s.asFloat());
    assertThrows(
        IllegalArgumentException.class,
        () -> new TokenSelection(8, 0.8).select(new boolean[12], 1, 12));
    assertThrows(
        IllegalArgumentException.class,
        () -> new TokenSelection(8, 0.8).select(new boolean[15], 1, 16));
  }
}
