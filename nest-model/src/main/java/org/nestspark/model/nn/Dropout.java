package org.nestspark.model.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.BernoulliDistribution;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inverted dropout (e.g. {@code dropout_pre_encoder}, docs/nest-numerics.md §6.2) as PyTorch's {@code nn.Dropout} in training: keep with probability 1 − p and scale
 * kept values by 1 / (1 − p). The keep mask is drawn from {@code Nd4j.getRandom()}, so reseeding that RNG
 * makes a step deterministic.
 */
public final class Dropout {
  private Dropout() {}

  /** A mask of the given shape holding 0 or 1 / (1 − p), in the current workspace; null when p is 0. */
  public static INDArray mask(DataType dataType, double p, long... shape) {
    if (p <= 0) {
      return null;
    }
    INDArray m = Nd4j.createUninitialized(dataType, shape, 'c');
    Nd4j.getExecutioner().exec(new BernoulliDistribution(m, 1.0 - p), Nd4j.getRandom());
    return m.muli(1.0 / (1.0 - p));
  }
}
