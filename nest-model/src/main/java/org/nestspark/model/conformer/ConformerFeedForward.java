package org.nestspark.model.conformer;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * NeMo's {@code ConformerFeedForward} (docs/nest-numerics.md §6.4): {@code Linear(d→f) → Swish → Dropout → Linear(f→d)},
 * biases on, on row matrices {@code [N, d]}. Keeps what its backward needs from the last forward.
 */
final class ConformerFeedForward {
  private final String w1;
  private final String b1;
  private final String w2;
  private final String b2;

  private INDArray x;
  private INDArray a;
  private INDArray sig;
  private INDArray sDropped;
  private INDArray dropMask;

  ConformerFeedForward(String w1, String b1, String w2, String b2) {
    this.w1 = w1;
    this.b1 = b1;
    this.w2 = w2;
    this.b2 = b2;
  }

  INDArray forward(INDArray x, Map<String, INDArray> p, boolean training, double dropout) {
    this.x = x;
    a = Ops.linear(x, p.get(w1), p.get(b1));
    INDArray[] sw = Ops.swish(a);
    sig = sw[0];
    dropMask = Ops.dropoutMask(training, dropout, a.dataType(), a.shape());
    sDropped = Ops.applyMaskInPlace(sw[1], dropMask);
    return Ops.linear(sDropped, p.get(w2), p.get(b2));
  }

  INDArray backward(INDArray dy, Map<String, INDArray> p, Map<String, INDArray> g) {
    INDArray ds = Ops.linearBackward(dy, sDropped, p.get(w2), g.get(w2), g.get(b2), true);
    Ops.applyMaskInPlace(ds, dropMask);
    INDArray da = Ops.swishBackwardInPlace(ds, a, sig);
    return Ops.linearBackward(da, x, p.get(w1), g.get(w1), g.get(b1), true);
  }

  void clear() {
    x = null;
    a = null;
    sig = null;
    sDropped = null;
    dropMask = null;
  }
}
