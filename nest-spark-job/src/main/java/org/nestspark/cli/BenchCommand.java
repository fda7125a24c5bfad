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
 * {@code nest bench featurize|train|pretrain|quantizer|extract|flac}: prints throughput figures measured on this machine.
 * <ul>
 *   <li>{@code featurize [--seconds S]}: log-mel featurization, 1 and all threads ({@link FeaturizeBench});</li>
 *   <li>{@code train [ITERATIONS [THREADS [BATCH [SECONDS]]]]}: the Small NEST graph, batch 8 × 10 s:
 *       forward, forward+backward, fit step, ND4J sgemm GFLOP/s in the same run, and the fit step's wall time and
 *       GFLOP/s per part ({@link NestGraphBench});</li>
 *   <li>{@code pretrain [--batches N] [--master spark://H:P] [--config F]... [key=value ...]}: the same batches
 *       trained in one process, on Spark local[2] with parameter averaging, and optionally on a standalone
 *       cluster ({@link PretrainBench}); default: the tiny preset on the bundled sample corpus;</li>
 *   <li>{@code quantizer}: the float64-exact quantizer on 8 × 125 tokens ({@link QuantizerBench});</li>
 *   <li>{@code extract [--seconds S]}: extraction (decode, featurize, encoder, write) for the Small and Large
 *       presets ({@link org.nestspark.bench.ExtractBench});</li>
 *   <li>{@code flac [--segments N] [--whole-segments N] [--seconds S] [--file F]}: N segments of a 1-hour FLAC
 *       recording (made with sox and flac unless {@code --file}), whole-file decode vs seeking
 *       ({@link org.nestspark.bench.FlacSeekBench}).</li>
 * </ul>
 */
final class BenchCommand {
  private BenchCommand() {}

  private static int intOr(String v, int dflt) {
    return v == null ? dflt : Integer.parseInt(v);
  }

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("bench", args, Set.of("seconds", "batches", "master", "config", "inner-steps", "file", "segments", "whole-segments"), Set.of("skip-local"));
    if (cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("usage: nest bench featurize|train|pretrain|quantizer|extract|flac [args]");
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
      case "flac":
        try {
          org.nestspark.bench.FlacSeekBench.run(cl.optional("file"), intOr(cl.optional("segments"), 100), intOr(cl.optional("whole-segments"), 5),
              cl.optional("seconds") == null ? 10.0 : Double.parseDouble(cl.optional("seconds")), out);
        } catch (Exception e) {
          err.println("nest bench flac: " + e);
          return 1;
        }
        return 0;
      case "quantizer":
        QuantizerBench.main(rest.toArray(new String[0]));
        return 0;
      default:
        throw new CommandLine.UsageException("unknown benchmark '" + cl.positional.get(0) + "': featurize, train, pretrain, quantizer, extract or flac");
    }
  }
}
