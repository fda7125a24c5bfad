package org.nestspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import org.junit.jupiter.api.Test;

class MinLengthPaddingTest {
  @Test
  void repeatsShortClipsUpToOneSecondLikeNemo() {
    MinLengthPadding pad = new MinLengthPadding(1.0, 16000, MinLengthPadding.Mode.REPEAT);
    float[] clip = new float[5921]; // speech_0p37s
    for (int i = 0; i < clip.length; i++) {
      clip[i] = i + 1;
    }
    float[] out = pad.apply(clip);
    assertEquals(16000, out.length);
    assertEquals(1f, out[0]);
    assertEquals(5921f, out[5920]);
    assertEquals(1f, out[5921]);
    assertEquals(1f, out[11842]);
    assertEquals(16000 - 11842f, out[15999]);
  }

  @Test
  void longEnoughClipsAreUntouchedAndEmptyClipsAreZeroPadded() {
    MinLengthPadding pad = new MinLengthPadding(1.0, 16000, MinLengthPadding.Mode.REPEAT);
    float[] clip = new float[16000];
    assertSame(clip, pad.apply(clip));
    assertArrayEquals(new float[16000], pad.apply(new float[0]));
  }

  @Test
  void zeroMode() {
    float[] out =
        new MinLengthPadding(0.5, 8, MinLengthPadding.Mode.ZERO).apply(new float[] {1, 2});
    assertArrayEquals(new float[] {1, 2, 0, 0}, out);
    assertEquals(MinLengthPadding.Mode.REPEAT, MinLengthPadding.mode("repeat"));
  }
}
