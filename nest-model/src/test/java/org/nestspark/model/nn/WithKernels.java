package org.nestspark.model.nn;

/**
 * Forces {@code model.kernels} in this JVM for a test (the {@value Kernels#PROPERTY} system property), so
 * one test runs on both the Java loops and libnd4j's ops; {@link #clear()} in an {@code @AfterEach}.
 */
public final class WithKernels {
  private WithKernels() {}

  /** Forces {@code kernels} ({@code java} or {@code nd4j}) until {@link #clear()}. */
  public static void force(String kernels) {
    System.setProperty(Kernels.PROPERTY, Kernels.parse(kernels).configName());
  }

  /** Back to each layer's own setting. */
  public static void clear() {
    System.clearProperty(Kernels.PROPERTY);
  }
}
