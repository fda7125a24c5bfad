package org.nestspark.train;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Kernels;

/**
 * The moment/step part of {@link AdamW} (docs/nest-numerics.md §9), in torch's order of float operations
 * ({@code torch.optim.AdamW}, single-tensor path, amsgrad false):
 *
 * <pre>
 *   t = iteration + 1
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   update = (η / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
 * </pre>
 *
 * The update is written into the gradient array; DL4J subtracts it from the parameters. The decoupled
 * decay {@code p ← p·(1−η·wd)} is applied before this by {@link DecoupledWeightDecay}; this class checks
 * that it did (see {@link AdamW}).
 *
 * <p>State layout in the updater view of a block of n parameters: {@code [m (n), v (n)]}, like DL4J's own
 * {@code AdamUpdater}, so {@code ModelSerializer} saves it with the model; names in {@link #getState()}:
 * {@value #M_STATE}, {@value #V_STATE}.
 */
public final class AdamWUpdater implements GradientUpdater<AdamW> {
  public static final String M_STATE = "M";
  public static final String V_STATE = "V";

  private final AdamW config;
  private INDArray m;
  private INDArray v;

  public AdamWUpdater(AdamW config) {
    this.config = config;
  }

  @Override
  public AdamW getConfig() {
    return config;
  }

  @Override
  public void setState(Map<String, INDArray> stateMap, boolean initialize) {
    if (!stateMap.containsKey(M_STATE) || !stateMap.containsKey(V_STATE) || stateMap.size() != 2) {
      throw new IllegalStateException(
          "AdamW state must hold exactly "
              + M_STATE
              + " and "
              + V_STATE
              + ", got "
              + stateMap.keySet());
    }
    m = stateMap.get(M_STATE);
    v = stateMap.get(V_STATE);
    if (initialize) {
      m.assign(0);
      v.assign(0);
    }
  }

  @Override
  public Map<String, INDArray> getState() {
    Map<String, INDArray> r = new HashMap<>();
    r.put(M_STATE, m);
    r.put(V_STATE, v);
    return r;
  }

  @Override
  public void setStateViewArray(
      INDArray viewArray, long[] gradientShape, char gradientOrder, boolean initialize) {
    if (initialize) {
      viewArray.assign(0);
    }
    INDArray flat = viewArray.rank() == 1 ? viewArray : viewArray.reshape(viewArray.length());
    long n = flat.length() / 2;
    INDArray mFlat = flat.get(NDArrayIndex.interval(0, n));
    INDArray vFlat = flat.get(NDArrayIndex.interval(n, 2 * n));
    m = Shape.newShapeNoCopy(mFlat, gradientShape, gradientOrder == 'f');
    v = Shape.newShapeNoCopy(vFlat, gradientShape, gradientOrder == 'f');
    if (m == null || v == null) {
      throw new IllegalStateException(
          "cannot view the AdamW state as shape " + java.util.Arrays.toString(gradientShape));
    }
  }

  @Override
  public void applyUpdater(INDArray gradient, int iteration, int epoch) {
    if (m == null || v == null) {
      throw new IllegalStateException("AdamW updater has no state view");
    }
    if (config.getWeightDecay() != 0.0 && !DecoupledWeightDecay.appliedAt(iteration)) {
      throw new IllegalStateException(
          "AdamW weight_decay="
              + config.getWeightDecay()
              + " but the decoupled decay did not run for iteration "
              + iteration
              + ": add a "
              + DecoupledWeightDecay.class.getName()
              + " listener to the model (TrainStep does this)");
    }
    double beta1 = config.getBeta1();
    double beta2 = config.getBeta2();
    double lr = config.getLearningRate(iteration, epoch);
    double t = iteration + 1.0;
    double biasCorrection1 = 1.0 - Math.pow(beta1, t);
    double biasCorrection2Sqrt = Math.sqrt(1.0 - Math.pow(beta2, t));
    double stepSize = lr / biasCorrection1;
    if (Kernels.resolve(null) == Kernels.JAVA && AdamWKernel.applies(gradient, m, v)) {
      // the CPU backend: one pass over the block, the same bits as the ops below (AdamWKernel)
      AdamWKernel.apply(
          gradient, m, v, beta1, beta2, config.getEpsilon(), biasCorrection2Sqrt, stepSize);
    } else {
      applyUpdaterNd4j(
          gradient, m, v, beta1, beta2, config.getEpsilon(), biasCorrection2Sqrt, stepSize);
    }
  }

  /**
   * The update as ND4J ops (the path on a GPU backend, with {@code model.kernels=nd4j}, and for arrays
   * {@link AdamWKernel} does not take); {@code gradient} receives the step.
   */
  static void applyUpdaterNd4j(
      INDArray gradient,
      INDArray m,
      INDArray v,
      double beta1,
      double beta2,
      double eps,
      double biasCorrection2Sqrt,
      double stepSize) {
    boolean sameShape = java.util.Arrays.equals(gradient.shape(), m.shape());
    INDArray g = sameShape ? gradient : gradient.reshape(m.shape()).dup();

    m.muli(beta1).addi(g.mul(1.0 - beta1));
    v.muli(beta2).addi(g.mul(g).muli(1.0 - beta2));

    INDArray denom = Transforms.sqrt(v, true).divi(biasCorrection2Sqrt).addi(eps);
    g.assign(m).divi(denom).muli(stepSize);
    if (!sameShape) {
      gradient.assign(g.reshape(gradient.shape()));
    }
  }
}
