package org.nestspark.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@link LayerAggregation}: NeMo's Aggregator modes on a [L=3, D=2, T=2] example worked by hand (docs/nest-numerics.md §10). */
class LayerAggregationTest {
  // layer 0: [[1, 2], [3, 4]], layer 1: [[10, 20], [30, 40]], layer 2: [[-2, 5], [0.5, -8]]
  static final float[] X = {1, 2, 3, 4, 10, 20, 30, 40, -2, 5, 0.5f, -8};

  @Test
  void modes() {
    assertArrayEquals(X, LayerAggregation.cat(X, 3, 2, 2));
    assertArrayEquals(new float[] {9, 27, 33.5f, 36}, LayerAggregation.sum(X, 3, 2, 2));
    assertArrayEquals(new float[] {3, 9, 33.5f / 3, 12}, LayerAggregation.mean(X, 3, 2, 2));
    assertArrayEquals(LayerAggregation.mean(X, 3, 2, 2), LayerAggregation.apply("avg", X, 3, 2, 2));
    // NeMo's initial weights 1/L: the mean
    float[] ws = LayerAggregation.weightedSum(X, 3, 2, 2);
    float[] mean = LayerAggregation.mean(X, 3, 2, 2);
    for (int i = 0; i < 4; i++) {
      assertTrue(Math.abs(ws[i] - mean[i]) <= 1e-6 * Math.abs(mean[i]) + 1e-7);
    }
    assertArrayEquals(
        new float[] {
          0.5f * 1 + 0.25f * 10 - 2,
          0.5f * 2 + 0.25f * 20 + 5,
          0.5f * 3 + 0.25f * 30 + 0.5f,
          0.5f * 4 + 0.25f * 40 - 8
        },
        LayerAggregation.weightedSum(X, 3, 2, 2, new double[] {0.5, 0.25, 1}));
    assertArrayEquals(new float[] {10, 20, 30, 40}, LayerAggregation.apply("max", X, 3, 2, 2));
    assertArrayEquals(new float[] {-2, 2, 0.5f, -8}, LayerAggregation.apply("min", X, 3, 2, 2));
  }

  @Test
  void badInputIsNamed() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> LayerAggregation.apply("median", X, 3, 2, 2));
    assertTrue(e.getMessage().contains("median"));
    assertThrows(IllegalArgumentException.class, () -> LayerAggregation.mean(X, 2, 2, 2));
    assertThrows(
        IllegalArgumentException.class,
        () -> LayerAggregation.weightedSum(X, 3, 2, 2, new double[] {1, 2}));
  }
}
