package org.nestspark.model.nn;

import java.util.Arrays;

/**
 * One parameter of a hand-written layer: its DL4J name (camelCase, never {@code _}), its shape, which is
 * exactly the shape of the NeMo tensor it loads from, and how it is initialised (docs/nest-numerics.md §6.8, §7).
 *
 * <p>Parameters are stored in C order, so the flattened parameter vector of a layer holds every tensor in
 * PyTorch's element order and NeMo state-dict tensors load by plain copy.
 */
public final class ParamSpec {
  /** What a parameter is for DL4J. */
  public enum Kind {
    /** Trainable, regularized like a weight. */
    WEIGHT,
    /** Trainable, regularized like a bias. */
    BIAS
  }

  private final String name;
  private final long[] shape;
  private final Kind kind;
  private final double uniformBound;

  private ParamSpec(String name, long[] shape, Kind kind, double uniformBound) {
    if (name.indexOf('_') >= 0) {
      throw new IllegalArgumentException("DL4J parameter names must not contain '_': " + name);
    }
    this.name = name;
    this.shape = shape.clone();
    this.kind = kind;
    this.uniformBound = uniformBound;
  }

  /** A weight initialised U(−bound, bound). */
  public static ParamSpec weight(String name, double bound, long... shape) {
    return new ParamSpec(name, shape, Kind.WEIGHT, bound);
  }

  /** A bias initialised U(−bound, bound) (PyTorch's default for Linear and Conv biases). */
  public static ParamSpec bias(String name, double bound, long... shape) {
    return new ParamSpec(name, shape, Kind.BIAS, bound);
  }

  public String name() {
    return name;
  }

  public long[] shape() {
    return shape.clone();
  }

  public Kind kind() {
    return kind;
  }

  /** The bound of the uniform initialisation. */
  public double uniformBound() {
    return uniformBound;
  }

  public long length() {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    return n;
  }

  @Override
  public String toString() {
    return name + Arrays.toString(shape) + " " + kind;
  }
}
