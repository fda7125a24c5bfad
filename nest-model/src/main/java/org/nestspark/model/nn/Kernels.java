package org.nestspark.model.nn;

import java.util.Locale;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which implementation runs the layers' hand-written parts ({@code model.kernels}): the subsampling
 * convolutions, the conformer module's depthwise convolution over time and the masked-token loss.
 *
 * <ul>
 *   <li>{@link #JAVA}: Java loops on heap copies of the arrays, on the {@link Parallel} pool (the fastest on
 *       the CPU backend; on a GPU every call would copy its arrays to the host and back);
 *   <li>{@link #ND4J}: libnd4j ops only ({@code conv2d}, {@code depthwise_conv2d} and their {@code _bp}
 *       ops, one-hot log-likelihoods), so on the CUDA backend the activations stay on the device (cuDNN
 *       serves the convolutions where libnd4j was built with it); only the masks' lengths and the selected
 *       token indices, a few kilobytes per step, come to the host;
 *   <li>{@link #AUTO}: {@code ND4J} on a non-CPU backend, {@code JAVA} on the CPU backend.
 * </ul>
 *
 * <p>The layers carry the configured value in their JSON (so Spark workers get it with the graph); the
 * system property {@code nest.kernels} overrides it in one JVM (operators, benchmarks). Both give the
 * same numbers within float rounding; the golden NeMo parity tests and the gradient checks run on both.
 */
public enum Kernels {
  AUTO,
  JAVA,
  ND4J;

  /** The system property that overrides every layer's setting in this JVM. */
  public static final String PROPERTY = "nest.kernels";

  /** The allowed values as written in the config. */
  public static final String ALLOWED = "auto | java | nd4j";

  /** Parses {@code auto}, {@code java} or {@code nd4j} (any case). */
  public static Kernels parse(String value) {
    if (value != null) {
      switch (value.strip().toLowerCase(Locale.ROOT)) {
        case "auto":
          return AUTO;
        case "java":
          return JAVA;
        case "nd4j":
          return ND4J;
        default:
          break;
      }
    }
    throw new IllegalArgumentException(
        "model.kernels must be one of " + ALLOWED + ", got '" + value + "'");
  }

  /** The name as written in the config. */
  public String configName() {
    return name().toLowerCase(Locale.ROOT);
  }

  /**
   * What runs for a layer configured with {@code layerSetting} (null = auto): the system property
   * {@value #PROPERTY} when set, else the layer's setting; {@code AUTO} resolved by the backend.
   */
  public static Kernels resolve(String layerSetting) {
    String p = System.getProperty(PROPERTY);
    Kernels k =
        p != null && !p.isBlank() ? parse(p) : layerSetting == null ? AUTO : parse(layerSetting);
    if (k == AUTO) {
      return cpuBackend() ? JAVA : ND4J;
    }
    return k;
  }

  /** Whether {@code resolve(layerSetting)} is {@link #ND4J}. */
  public static boolean nd4j(String layerSetting) {
    return resolve(layerSetting) == ND4J;
  }

  /** Whether ND4J runs on its CPU backend (libnd4j's own report). */
  public static boolean cpuBackend() {
    return Nd4j.getEnvironment().isCPU();
  }
}
