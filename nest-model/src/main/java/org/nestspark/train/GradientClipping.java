package org.nestspark.train;

import java.io.Serializable;
import java.util.List;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient clipping by global norm, {@code model.optim.gradient_clip_val} (docs/nest-numerics.md §8/§9; 0 = off, NEST's
 * default), with {@code torch.nn.utils.clip_grad_norm_} semantics as Lightning applies it before the
 * optimiser step: the total 2-norm over all trainable gradients, then every gradient is multiplied by
 * {@code min(1, clip / (norm + 1e-6))}.
 *
 * <p><b>DL4J detail.</b> The clipping must act on the final gradients, the ones the updater consumes. DL4J
 * computes summed gradients and divides them by the minibatch size inside the updater (only for parameters
 * with {@code updaterDivideByMinibatch}, and only when the configuration's {@code miniBatch} flag is set).
 * This listener runs on {@code onGradientCalculation}, before that division, so it measures the norm of
 * the divided gradients ({@code ‖g_p‖ / batch} per parameter) and scales the undivided ones by the same
 * factor, which is the same thing because scaling commutes with the division. Parameters with a
 * {@code NoOp} updater (BatchNorm running statistics) are not gradients and are left out, like torch's
 * buffers.
 *
 * <p>A non-finite norm gives a NaN (or zero) factor exactly as in torch 1.13 ({@code error_if_nonfinite}
 * false); {@link TrainStep} then sees non-finite parameters and undoes the step.
 */
public final class GradientClipping extends BaseTrainingListener implements Serializable {
  private static final long serialVersionUID = 1L;

  /** torch's constant in {@code clip_coef = max_norm / (total_norm + 1e-6)}. */
  public static final double TORCH_EPS = 1e-6;

  private final double clipValue;
  private transient double lastNorm = Double.NaN;
  private transient double lastFactor = 1.0;

  /** @param clipValue the maximum global norm, > 0 */
  public GradientClipping(double clipValue) {
    if (!(clipValue > 0) || Double.isInfinite(clipValue)) {
      throw new IllegalArgumentException(
          "gradient_clip_val must be > 0 and finite here (0 means no clipping: do not install), got "
              + clipValue);
    }
    this.clipValue = clipValue;
  }

  public double clipValue() {
    return clipValue;
  }

  /** The global norm (of the final, minibatch-divided gradients) measured at the last step. */
  public double lastNorm() {
    return lastNorm;
  }

  /** The factor the gradients were multiplied by at the last step (1 when not clipped). */
  public double lastFactor() {
    return lastFactor;
  }

  @Override
  public void onGradientCalculation(Model model) {
    if (!(model instanceof ComputationGraph)) {
      throw new IllegalArgumentException(
          "GradientClipping supports ComputationGraph only, got " + model.getClass().getName());
    }
    ComputationGraph graph = (ComputationGraph) model;
    Gradient gradient = graph.gradient();
    List<TrainableParams.Param> params = TrainableParams.of(graph);
    boolean miniBatch = graph.getConfiguration().getDefaultConfiguration().isMiniBatch();
    double batch = graph.batchSize();
    double sumSq = 0.0;
    for (TrainableParams.Param p : params) {
      if (!p.trainable()) {
        continue;
      }
      double n = p.gradientIn(gradient).norm2Number().doubleValue();
      if (miniBatch && p.dividedByMinibatch()) {
        n /= batch;
      }
      sumSq += n * n;
    }
    double norm = Math.sqrt(sumSq);
    double factor = factor(clipValue, norm);
    lastNorm = norm;
    lastFactor = factor;
    if (!(factor >= 1.0)) {
      for (TrainableParams.Param p : params) {
        if (p.trainable()) {
          INDArray g = p.gradientIn(gradient);
          g.muli(factor);
        }
      }
    }
  }

  /** The clipping factor torch applies for a given global norm: {@code min(1, clip / (norm + 1e-6))}. */
  public static double factor(double clipValue, double norm) {
    return Double.isNaN(norm) ? Double.NaN : Math.min(1.0, clipValue / (norm + TORCH_EPS));
  }
}
