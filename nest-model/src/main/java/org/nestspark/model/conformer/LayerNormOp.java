package org.nestspark.model.conformer;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * PyTorch {@code LayerNorm(d, eps=1e-5)} over the last axis of row matrices {@code [N, d]}: biased
 * variance, {@code y = (x − μ)/√(σ² + eps)·γ + β}. Keeps what its backward needs from the last forward.
 */
final class LayerNormOp {
  private final String weight;
  private final String bias;
  private final double eps;

  private INDArray xhat;
  private INDArray rstd;

  LayerNormOp(String weight, String bias, double eps) {
    this.weight = weight;
    this.bias = bias;
    this.eps = eps;
  }

  INDArray forward(INDArray x, Map<String, INDArray> params) {
    INDArray mu = x.mean(true, 1);
    INDArray xc = x.subColumnVector(mu);
    INDArray var = xc.mul(xc).mean(true, 1);
    rstd = Transforms.pow(var.addi(eps), -0.5, false);
    xhat = xc.muliColumnVector(rstd);
    return xhat.mulRowVector(params.get(weight).reshape(1, -1))
        .addiRowVector(params.get(bias).reshape(1, -1));
  }

  /**
   * Writes dγ and dβ into {@code grads} and returns dx:
   * {@code dx = rstd·(g − mean(g) − x̂·mean(g·x̂))} with {@code g = dy·γ}.
   */
  INDArray backward(INDArray dy, Map<String, INDArray> params, Map<String, INDArray> grads) {
    INDArray dGamma = grads.get(weight);
    dGamma.assign(Ops.columnSum(dy.mul(xhat)).reshape(dGamma.shape()));
    INDArray dBeta = grads.get(bias);
    dBeta.assign(Ops.columnSum(dy).reshape(dBeta.shape()));
    INDArray g = dy.mulRowVector(params.get(weight).reshape(1, -1));
    INDArray meanG = g.mean(true, 1);
    INDArray meanGx = g.mul(xhat).mean(true, 1);
    INDArray dx = g.subiColumnVector(meanG).subi(xhat.mulColumnVector(meanGx));
    return dx.muliColumnVector(rstd);
  }

  void clear() {
    xhat = null;
    rstd = null;
  }
}
