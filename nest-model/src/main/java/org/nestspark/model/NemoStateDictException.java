package org.nestspark.model;

import java.util.List;

/** A NeMo state dict that does not fit a NEST graph: every missing, unexpected or mis-shaped key is listed. */
public class NemoStateDictException extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public NemoStateDictException(List<String> problems) {
    super(
        "NeMo state dict does not match the graph ("
            + problems.size()
            + " problem"
            + (problems.size() == 1 ? "" : "s")
            + "):\n  "
            + String.join("\n  ", problems));
    this.problems = List.copyOf(problems);
  }

  /** One line per problem, e.g. {@code missing key encoder.layers.1.norm_out.bias}. */
  public List<String> problems() {
    return problems;
  }
}
