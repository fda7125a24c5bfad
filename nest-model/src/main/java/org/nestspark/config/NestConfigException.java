package org.nestspark.config;

import java.util.List;

/** A configuration that cannot be used: unknown keys, wrong types or impossible values, all listed. */
public final class NestConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public NestConfigException(List<String> problems) {
    super("invalid configuration:\n  " + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  public NestConfigException(String problem) {
    this(List.of(problem));
  }

  /** Each problem as "key: what is wrong". */
  public List<String> problems() {
    return problems;
  }
}
