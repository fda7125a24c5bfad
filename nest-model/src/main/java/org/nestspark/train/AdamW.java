package org.nestspark.train;

import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.schedule.ISchedule;
import org.nestspark.config.OptimSettings;

/**
 * {@code torch.optim.AdamW} as a DL4J updater configuration (docs/nest-numerics.md §9): one step with the current learning
 * rate η, step number t = DL4J iteration + 1 and gradient g is
 *
 * <pre>
 *   p ← p·(1 − η·wd)                                   (decoupled weight decay, see below)
 *   m ← β1·m + (1−β1)·g
 *   v ← β2·v + (1−β2)·g²
 *   p ← p − (η / (1−β1^t)) · m / (sqrt(v)/sqrt(1−β2^t) + eps)
 * </pre>
 *
 * <p>NEST uses betas (0.9, 0.98), eps 1e-8, weight decay 1e-3 (0 in the Small recipe), amsgrad false (not
 * supported here). Note that ε is added to the <em>bias-corrected</em> sqrt(v̂), as torch does; DL4J's own
 * {@code Adam} adds it to the uncorrected sqrt(v), which differs wherever |g| is within a few orders of
 * magnitude of ε (3–5 % in the update norm of some NEST tensors of the golden train check).
 *
 * <p><b>How the pieces run.</b> The moment and step part is {@link AdamWUpdater}, whose state (m then v for
 * every parameter of an updater block) lives in the network's updater state view, so {@code ModelSerializer}
 * saves and restores it. A DL4J {@code GradientUpdater} never sees the parameters, and DL4J's
 * {@code WeightDecay} regularization cannot reach every tensor (DL4J's {@code BatchNormalization} returns no
 * regularization for gamma/beta, torch decays them), so the decay {@code p ← p·(1 − η·wd)} is done by the
 * {@link DecoupledWeightDecay} training listener, which runs after the gradients are computed and before
 * the updater, on every parameter whose updater is an {@code AdamW} with {@code weightDecay > 0}. The
 * updater refuses to step (IllegalStateException) when weight decay is configured but the listener did not
 * run for the current iteration, so a model fitted without it (e.g. a Spark worker without the listener)
 * fails loudly instead of silently training without decay. {@link TrainStep} installs the listener.
 *
 * <p><b>Per-parameter exclusion.</b> Which tensors are updated and decayed is decided per parameter by
 * DL4J's {@code TrainingConfig.getUpdaterByParam}: parameters with a {@code NoOp} updater (BatchNorm
 * running mean/var, frozen layers) are neither updated nor decayed; a layer may also return an {@code AdamW}
 * with weight decay 0 for a parameter that should be updated without decay.
 *
 * <p>Serialized as JSON by DL4J's configuration mapper like its own updaters (fields, {@code @class}).
 */
public final class AdamW implements IUpdater {
  private static final long serialVersionUID = 1L;

  public static final double DEFAULT_BETA1 = 0.9;
  public static final double DEFAULT_BETA2 = 0.98;
  public static final double DEFAULT_EPSILON = 1e-8;

  private double learningRate;
  private ISchedule learningRateSchedule;
  private double beta1 = DEFAULT_BETA1;
  private double beta2 = DEFAULT_BETA2;
  private double epsilon = DEFAULT_EPSILON;
  private double weightDecay;

  /** For JSON deserialization. */
  public AdamW() {
    this(1e-3, null, DEFAULT_BETA1, DEFAULT_BETA2, DEFAULT_EPSILON, 0.0);
  }

  /** A fixed learning rate. */
  public AdamW(
      double learningRate, double beta1, double beta2, double epsilon, double weightDecay) {
    this(learningRate, null, beta1, beta2, epsilon, weightDecay);
  }

  /** A scheduled learning rate ({@link NoamAnnealing} for NEST). */
  public AdamW(ISchedule schedule, double beta1, double beta2, double epsilon, double weightDecay) {
    this(0.0, Objects.requireNonNull(schedule, "schedule"), beta1, beta2, epsilon, weightDecay);
  }

  private AdamW(
      double learningRate,
      ISchedule schedule,
      double beta1,
      double beta2,
      double epsilon,
      double weightDecay) {
    if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
      throw new IllegalArgumentException(
          "betas must be in [0, 1), got (" + beta1 + ", " + beta2 + ")");
    }
    if (!(epsilon >= 0) || !(weightDecay >= 0)) {
      throw new IllegalArgumentException(
          "eps and weight_decay must be >= 0, got " + epsilon + ", " + weightDecay);
    }
    this.learningRate = learningRate;
    this.learningRateSchedule = schedule;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.epsilon = epsilon;
    this.weightDecay = weightDecay;
  }

  /**
   * NEST's optimiser from {@code model.optim}: betas, eps, weight_decay, and {@link NoamAnnealing} from
   * {@code model.optim.lr} and {@code model.optim.sched} (docs/nest-numerics.md §9).
   */
  public static AdamW of(OptimSettings s) {
    return new AdamW(NoamAnnealing.of(s), s.beta1(), s.beta2(), s.eps(), s.weightDecay());
  }

  @Override
  public long stateSize(long numParams) {
    return 2 * numParams;
  }

  @Override
  public GradientUpdater instantiate(INDArray viewArray, boolean initializeViewArray) {
    AdamWUpdater u = new AdamWUpdater(this);
    INDArray flat = viewArray.reshape(viewArray.length());
    u.setStateViewArray(flat, new long[] {flat.length() / 2}, flat.ordering(), initializeViewArray);
    return u;
  }

  @Override
  public GradientUpdater instantiate(
      Map<String, INDArray> updaterState, boolean initializeStateArrays) {
    AdamWUpdater u = new AdamWUpdater(this);
    u.setState(updaterState, initializeStateArrays);
    return u;
  }

  @Override
  public double getLearningRate(int iteration, int epoch) {
    return learningRateSchedule != null
        ? learningRateSchedule.valueAt(iteration, epoch)
        : learningRate;
  }

  @Override
  public boolean hasLearningRate() {
    return true;
  }

  @Override
  public void setLrAndSchedule(double lr, ISchedule lrSchedule) {
    this.learningRate = lr;
    this.learningRateSchedule = lrSchedule;
  }

  public double getLearningRate() {
    return learningRate;
  }

  public ISchedule getLearningRateSchedule() {
    return learningRateSchedule;
  }

  public double getBeta1() {
    return beta1;
  }

  public double getBeta2() {
    return beta2;
  }

  public double getEpsilon() {
    return epsilon;
  }

  public double getWeightDecay() {
    return weightDecay;
  }

  @Override
  public AdamW clone() {
    return new AdamW(
        learningRate,
        learningRateSchedule == null ? null : learningRateSchedule.clone(),
        beta1,
        beta2,
        epsilon,
        weightDecay);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof AdamW)) {
      return false;
    }
    AdamW a = (AdamW) o;
    return Double.compare(learningRate, a.learningRate) == 0
        && Objects.equals(learningRateSchedule, a.learningRateSchedule)
        && Double.compare(beta1, a.beta1) == 0
        && Double.compare(beta2, a.beta2) == 0
        && Double.compare(epsilon, a.epsilon) == 0
        && Double.compare(weightDecay, a.weightDecay) == 0;
  }

  @Override
  public int hashCode() {
    return Objects.hash(learningRate, learningRateSchedule, beta1, beta2, epsilon, weightDecay);
  }

  @Override
  public String toString() {
    return "AdamW(lr="
        + (learningRateSchedule != null ? learningRateSchedule : learningRate)
        + ", betas=("
        + beta1
        + ", "
        + beta2
        + "), eps="
        + epsilon
        + ", weight_decay="
        + weightDecay
        + ")";
  }
}
