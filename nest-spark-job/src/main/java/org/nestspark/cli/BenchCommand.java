package org.nestspark.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.nestspark.bench.FeaturizeBench;
import org.nestspark.bench.PretrainBench;
import org.nestspark.model.bench.NestGraphBench;
import org.nestspark.ssl.QuantizerBench;

/**
 * {@code nest bench featurize|train|pretrain|quantizer|extract}: prints throughput figures measured on this machine.
 * <ul>
 *   <li>{@code featurize [--seconds S]}: log-mel featurization, 1 and all threads ({@link FeaturizeBench});</li>
 *   <li>{@code train [ITERATIONS [THREADS [BATCH [SECONDS [KERNELS]]]]]}: the Small NEST graph, batch 8 × 10 s:
 *       forward, forward+backward, fit step, ND4J sgemm GFLOP/s in the same run, and the fit step's wall time and
 *       GFLOP/s per part ({@link NestGraphBench});</li>
 *   <li>{@code pretrain [--batches N] [--master spark://H:P] [--config F]... [key=value ...]}: the same batches
 *       trained in one process, on Spark local[2] with parameter averaging, and optionally on a standalone
 *       cluster ({@link PretrainBench}); default: the tiny preset on the bundled sample corpus;</li>
 *   <li>{@code quantizer}: the float64-exact quantizer on 8 × 125 tokens ({@link QuantizerBench});</li>
 *   <li>{@code extract [--seconds S]}: extraction (decode, featurize, encoder, write) for the Small and Large
 *       presets ({@link org.nestspark.bench.ExtractBench}).</li>
 * </ul>
 */
final class BenchCommand {
  private BenchCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("bench", args, Set.of("seconds", "batches", "master", "config", "inner-steps"), Set.of("skip-local"));
    if (cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("usage: nest bench featurize|train|pretrain|quantizer|extract [args]");
    }
    List<String> rest = new ArrayList<>(cl.positional.subList(1, cl.positional.size()));
    switch (cl.positional.get(0)) {
      case "featurize":
        int seconds = Integer.parseInt(cl.optional("seconds") == null ? "10" : cl.optional("seconds"));
        out.println(FeaturizeBench.run(seconds));
        return 0;
      case "train":
        NestGraphBench.main(rest.toArray(new String[0]));
        return 0;
      case "pretrain":
        int batches = Integer.parseInt(cl.optional("batches") == null ? "28" : cl.optional("batches"));
        try {
          PretrainBench.run(cl.all("config").isEmpty() ? List.of("conf/nest-tiny.conf", "conf/sample-data.conf") : cl.all("config"), cl.overrides,
              batches, cl.optional("master"), cl.optional("inner-steps") == null ? Math.max(1, batches / 4) : Integer.parseInt(cl.optional("inner-steps")),
              !cl.flag("skip-local"), out);
        } catch (Exception e) {
          err.println("nest bench pretrain: " + e);
          return 1;
        }
        return 0;
      case "extract":
        int s = Integer.parseInt(cl.optional("seconds") == null ? "20" : cl.optional("seconds"));
        try {
          out.println(org.nestspark.bench.ExtractBench.run(s, 8, 10.0));
        } catch (java.io.IOException e) {
          err.println("nest bench extract: " + e.getMessage());
          return 1;
        }
        return 0;
      case "quantizer":
        QuantizerBench.main(rest.toArray(new String[0]));
        return 0;
      default:
        throw new CommandLine.UsageException("unknown benchmark '" + cl.positional.get(0) + "': featurize, train, pretrain, quantizer or extract");
    }
  }
}
