package org.nestspark.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;

import org.nestspark.bench.FeaturizeBench;

/** {@code nest bench featurize [--seconds S]}: prints featurization throughput (see {@link FeaturizeBench}). */
final class BenchCommand {
  private BenchCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("bench", args, Set.of("seconds", "config"), Set.of());
    if (cl.positional.size() != 1 || !cl.positional.get(0).equals("featurize")) {
      throw new CommandLine.UsageException("usage: nest bench featurize [--seconds S]");
    }
    int seconds = Integer.parseInt(cl.optional("seconds") == null ? "10" : cl.optional("seconds"));
    out.println(FeaturizeBench.run(seconds));
    return 0;
  }
}
