package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** DiLoCo's outer step against torch.optim.SGD(lr, momentum, nesterov=True) worked out by hand. */
class OuterNesterovTest {
  @Test
  void twoWorkersTwoRoundsByHand() {
    // two workers' deltas θ_global − θ_w, averaged: g1 = mean(0.2, 0.4) = 0.3 and mean(-1, 0) =
    // -0.5
    float[] theta = {1.0f, 2.0f, 5.0f};
    boolean[] trainable = {true, true, false};
    OuterNesterov o = new OuterNesterov(3, 0.5, 0.5, true);
    o.step(theta, new float[] {0.3f, -0.5f, 1.0f}, trainable);
    // b = g; d = g + μ·b = 1.5·g; θ −= 0.5·d  ->  1 − 0.225, 2 + 0.375; the statistic takes the
    // mean: 5 − 1
    assertArrayEquals(
        new float[] {
          1.0f - 0.5f * (0.3f + 0.5f * 0.3f), 2.0f - 0.5f * (-0.5f + 0.5f * -0.5f), 4.0f
        },
        theta);
    assertEquals(0.775f, theta[0], 1e-7f);
    assertEquals(2.375f, theta[1], 1e-7f);
    assertArrayEquals(new float[] {0.3f, -0.5f, 0f}, o.buffer());
    // second round: g = 0.1, 0.1 -> b = 0.5·b + g = 0.25, -0.15; d = g + 0.5·b = 0.225, 0.025
    o.step(theta, new float[] {0.1f, 0.1f, 0.5f}, trainable);
    assertEquals(0.775f - 0.5f * 0.225f, theta[0], 1e-6f);
    assertEquals(2.375f - 0.5f * 0.025f, theta[1], 1e-6f);
    assertEquals(3.5f, theta[2], 0f);
    assertEquals(0.25f, o.buffer()[0], 1e-7f);
    assertEquals(-0.15f, o.buffer()[1], 1e-7f);
  }

  @Test
  void heavyBallAndPlainAveraging() {
    float[] theta = {1.0f};
    OuterNesterov heavy = new OuterNesterov(1, 1.0, 0.5, false);
    heavy.step(theta, new float[] {0.2f}, new boolean[] {true});
    heavy.step(theta, new float[] {0.2f}, new boolean[] {true});
    assertEquals(1.0f - 0.2f - 0.3f, theta[0], 1e-7f); // b = 0.2, then 0.3
    // lr 1 without momentum: θ − mean(θ − θ_w) = mean(θ_w), parameter averaging
    float[] avg = {3.0f};
    new OuterNesterov(1, 1.0, 0.0, true)
        .step(avg, new float[] {3.0f - (2.0f + 6.0f) / 2}, new boolean[] {true});
    assertEquals(4.0f, avg[0], 0f);
  }

  @Test
  void checksItsArguments() {
    assertThrows(IllegalArgumentException.class, () -> new OuterNesterov(1, 0, 0.9, true));
    assertThrows(IllegalArgumentException.class, () -> new OuterNesterov(1, 0.7, 1.0, true));
    OuterNesterov o = new OuterNesterov(2, 0.7, 0.9, true);
    assertThrows(
        IllegalArgumentException.class, () -> o.step(new float[2], new float[3], new boolean[2]));
    assertThrows(IllegalArgumentException.class, () -> o.restore(new float[3]));
  }
}
