package org.nestspark.train;

/**
 * DiLoCo's outer optimizer (Douillard et al. 2023, arXiv:2311.08105, Algorithm 1): SGD with Nesterov
 * momentum applied to the <em>outer gradient</em>, the mean over workers of {@code θ_global − θ_worker}
 * after their inner steps. In {@code torch.optim.SGD}'s form (dampening 0, no weight decay), per element:
 *
 * <pre>
 *   b ← μ·b + g
 *   d ← g + μ·b      (nesterov)      or   d ← b   (plain momentum)
 *   θ ← θ − η·d
 * </pre>
 *
 * The paper uses η = 0.7, μ = 0.9 (after a synchronous warm start); nest-spark's defaults of
 * {@code pretrain.diloco.outer_lr} and {@code outer_momentum} are 0.7 and 0.5, which stay stable from
 * scratch with few rounds (README "Scaling out"). The first step starts from b = 0, so b = g as in torch, whose buffer starts as a
 * copy of the first gradient.
 *
 * <p>Parameters that no optimizer updates (batch-norm running statistics: {@code trainable[i] == false})
 * are not stepped: they take the workers' mean, {@code θ ← θ − g}, as parameter averaging does.
 * With η = 1 and μ = 0 the step is plain parameter averaging for every element.
 */
public final class OuterNesterov {
  private final float lr;
  private final float momentum;
  private final boolean nesterov;
  private final float[] buffer;

  /**
   * @param size number of parameters
   * @param lr outer learning rate η
   * @param momentum μ in [0, 1)
   * @param nesterov Nesterov's form (DiLoCo) or plain heavy-ball momentum
   */
  public OuterNesterov(int size, double lr, double momentum, boolean nesterov) {
    if (!(lr > 0) || !(momentum >= 0 && momentum < 1)) {
      throw new IllegalArgumentException(
          "outer lr must be > 0 and momentum in [0, 1), got " + lr + ", " + momentum);
    }
    this.lr = (float) lr;
    this.momentum = (float) momentum;
    this.nesterov = nesterov;
    this.buffer = new float[size];
  }

  /** The momentum buffer b (saved with checkpoints; writes change it). */
  public float[] buffer() {
    return buffer;
  }

  /** Continues from a saved buffer. */
  public void restore(float[] saved) {
    if (saved.length != buffer.length) {
      throw new IllegalArgumentException(
          "outer momentum has " + saved.length + " values, the model " + buffer.length);
    }
    System.arraycopy(saved, 0, buffer, 0, buffer.length);
  }

  /**
   * One outer step in place.
   *
   * @param params θ_global, updated
   * @param outerGradient g = mean over workers of (θ_global − θ_worker)
   * @param trainable which elements the optimizer steps (others take the mean)
   */
  public void step(float[] params, float[] outerGradient, boolean[] trainable) {
    if (params.length != buffer.length
        || outerGradient.length != buffer.length
        || trainable.length != buffer.length) {
      throw new IllegalArgumentException(
          "sizes differ: params "
              + params.length
              + ", gradient "
              + outerGradient.length
              + ", mask "
              + trainable.length
              + ", buffer "
              + buffer.length);
    }
    for (int i = 0; i < params.length; i++) {
      float g = outerGradient[i];
      if (!trainable[i]) {
        params[i] = params[i] - g;
        continue;
      }
      float b = momentum * buffer[i] + g;
      buffer[i] = b;
      float d = nesterov ? g + momentum * b : b;
      params[i] = params[i] - lr * d;
    }
  }
}
