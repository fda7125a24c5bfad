package org.nestspark.job.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.nestspark.job.bench.FeaturizeBench;
import org.nestspark.job.bench.PretrainBench;
import org.nestspark.model.bench.NestGraphBench;
import org.nestspark.ssl.QuantizerBench;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code nest bench featurize|train|pretrain|quantizer|extract|flac|shards}: prints throughput figures measured on this machine.
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
 *       presets ({@link org.nestspark.job.bench.ExtractBench});</li>
 *   <li>{@code flac [--segments N] [--whole-segments N] [--seconds S] [--file F]}: N segments of a 1-hour FLAC
 *       recording (made with sox and flac unless {@code --file}), whole-file decode vs seeking
 *       ({@link org.nestspark.job.bench.FlacSeekBench});</li>
 *   <li>{@code shards [N]}: N one-second utterances on a MiniDFSCluster, single files vs 32 tar shards
 *       ({@link org.nestspark.job.bench.ShardsBench}).</li>
 * </ul>
 */
@Command(
    name = "bench",
    description =
        "throughput on this machine (featurizer, Small graph step, pretraining rounds, quantizer, extraction, FLAC seeking, tar shards on HDFS)",
    subcommands = {
      BenchCommand.Featurize.class,
      BenchCommand.Train.class,
      BenchCommand.Pretrain.class,
      BenchCommand.Quantizer.class,
      BenchCommand.Extract.class,
      BenchCommand.Flac.class,
      BenchCommand.Shards.class
    })
final class BenchCommand extends NestCommand {
  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    throw new UsageException(
        "usage: nest bench featurize|train|pretrain|quantizer|extract|flac|shards [args]");
  }

  @Command(
      name = "featurize",
      description = "featurization throughput, one thread and all threads, batches of 8 x 10 s")
  static final class Featurize extends NestCommand {
    @Option(
        names = "--seconds",
        paramLabel = "S",
        description = "seconds to measure each setting (default ${DEFAULT-VALUE})")
    int seconds = 10;

    @Override
    int run(PrintStream out, PrintStream err) {
      out.println(FeaturizeBench.run(seconds));
      return 0;
    }
  }

  @Command(
      name = "train",
      description = {
        "the Small graph, batch 8 x 10 s, at each thread count and model.kernels value: forward, forward + backward,",
        "fit step (and above 1 thread the step with one batch slice per thread), sgemm GFLOP/s, and the fit step's",
        "time and GFLOP/s per part."
      })
  static final class Train extends NestCommand {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "ITERATIONS",
        description = "timed iterations (default 3)")
    Integer iterations;

    @Parameters(
        index = "1",
        arity = "0..1",
        paramLabel = "THREADS",
        description = "comma-separated thread counts (default 1,2)")
    String threads;

    @Parameters(
        index = "2",
        arity = "0..1",
        paramLabel = "BATCH",
        description = "utterances per batch (default 8)")
    Integer batch;

    @Parameters(
        index = "3",
        arity = "0..1",
        paramLabel = "SECONDS",
        description = "seconds per utterance (default 10)")
    Double seconds;

    @Parameters(
        index = "4",
        arity = "0..1",
        paramLabel = "KERNELS",
        description = "comma-separated model.kernels values, e.g. java,nd4j (default auto)")
    String kernels;

    @Override
    int run(PrintStream out, PrintStream err) throws UsageException {
      if (threads != null && !threads.matches("[1-9][0-9]*(,[1-9][0-9]*)*")) {
        throw new UsageException(
            "THREADS " + threads + ": expected comma-separated positive integers, e.g. 1,2");
      }
      if (kernels != null && !kernels.matches("(auto|java|nd4j)(,(auto|java|nd4j))*")) {
        throw new UsageException(
            "KERNELS " + kernels + ": expected comma-separated auto, java or nd4j");
      }
      List<String> args = new ArrayList<>();
      for (Object a : new Object[] {iterations, threads, batch, seconds, kernels}) {
        if (a == null) {
          break;
        }
        args.add(a.toString());
      }
      NestGraphBench.main(args.toArray(new String[0]));
      return 0;
    }
  }

  @Command(
      name = "pretrain",
      description = {
        "the same N batches in one process vs 2 workers on local[2] (and on a standalone cluster with --master)",
        "Parameter averaging every 1, 4, 16 steps and DiLoCo with H inner steps: audio-s/s, speed-up, "
            + "time shares, MB per round and per step. Default configuration: conf/nest-tiny.conf + "
            + "conf/sample-data.conf."
      })
  static final class Pretrain extends NestCommand {
    @Option(
        names = "--batches",
        paramLabel = "N",
        description = "training batches per setting (default ${DEFAULT-VALUE})")
    int batches = 28;

    @Option(
        names = "--inner-steps",
        paramLabel = "H",
        description = "DiLoCo inner steps (default: batches / 4)")
    Integer innerSteps;

    @Option(
        names = "--master",
        paramLabel = "spark://H:P",
        description = "also run on this standalone cluster")
    String master;

    @Option(names = "--skip-local", description = "skip the local[2] runs")
    boolean skipLocal;

    @Mixin ConfigArgs cl;

    @Override
    int run(PrintStream out, PrintStream err) throws UsageException {
      List<String> overrides = cl.overrides();
      try {
        PretrainBench.run(
            cl.configFiles().isEmpty()
                ? List.of("conf/nest-tiny.conf", "conf/sample-data.conf")
                : cl.configFiles(),
            overrides,
            batches,
            master,
            innerSteps == null ? Math.max(1, batches / 4) : innerSteps,
            !skipLocal,
            out);
      } catch (Exception e) {
        err.println("nest bench pretrain: " + e);
        return 1;
      }
      return 0;
    }
  }

  @Command(name = "quantizer", description = "the float64-exact quantizer on 8 x 125 tokens")
  static final class Quantizer extends NestCommand {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "ITERATIONS",
        description = "timed iterations of the fast path (default 50)")
    Integer iterations;

    @Parameters(
        index = "1",
        arity = "0..1",
        paramLabel = "SLOW_ITERATIONS",
        description = "timed iterations of the reference path (default 3)")
    Integer slowIterations;

    @Override
    int run(PrintStream out, PrintStream err) {
      List<String> args = new ArrayList<>();
      if (iterations != null) {
        args.add(iterations.toString());
        if (slowIterations != null) {
          args.add(slowIterations.toString());
        }
      }
      QuantizerBench.main(args.toArray(new String[0]));
      return 0;
    }
  }

  @Command(
      name = "extract",
      description =
          "extraction throughput (decode, featurize, encoder, write) for the Small and Large presets")
  static final class Extract extends NestCommand {
    @Option(
        names = "--seconds",
        paramLabel = "S",
        description = "seconds to measure each preset (default ${DEFAULT-VALUE})")
    int seconds = 20;

    @Override
    int run(PrintStream out, PrintStream err) {
      try {
        out.println(org.nestspark.job.bench.ExtractBench.run(seconds, 8, 10.0));
      } catch (java.io.IOException e) {
        err.println("nest bench extract: " + e.getMessage());
        return 1;
      }
      return 0;
    }
  }

  @Command(
      name = "flac",
      description = {
        "N segments of a 1-hour FLAC recording (made with sox and flac unless --file): whole-file decode vs seeking,",
        "with and without a SEEKTABLE, parity checked."
      })
  static final class Flac extends NestCommand {
    @Option(
        names = "--file",
        paramLabel = "F",
        description = "a FLAC file to read instead of the generated recording")
    String file;

    @Option(
        names = "--segments",
        paramLabel = "N",
        description = "segments read by seeking (default ${DEFAULT-VALUE})")
    int segments = 100;

    @Option(
        names = "--whole-segments",
        paramLabel = "N",
        description = "segments read by decoding the whole file (default ${DEFAULT-VALUE})")
    int wholeSegments = 5;

    @Option(
        names = "--seconds",
        paramLabel = "S",
        description = "seconds per segment (default ${DEFAULT-VALUE})")
    double seconds = 10.0;

    @Override
    int run(PrintStream out, PrintStream err) {
      try {
        org.nestspark.job.bench.FlacSeekBench.run(file, segments, wholeSegments, seconds, out);
      } catch (Exception e) {
        err.println("nest bench flac: " + e);
        return 1;
      }
      return 0;
    }
  }

  @Command(
      name = "shards",
      description = {
        "N one-second utterances on a MiniDFSCluster as single WAV files vs 32 tar shards: read + decode and featurize",
        "(npy files or tar shards out) throughput and NameNode RPCs for each (local only: the mini cluster runs in this",
        "JVM); --flac: then bench flac's 100 segments of a 1-hour file in the same run."
      })
  static final class Shards extends NestCommand {
    @Parameters(
        index = "0",
        arity = "0..1",
        paramLabel = "N",
        description = "utterances (default 20000)")
    Integer n;

    @Option(
        names = "--rows",
        paramLabel = "R,...",
        split = ",",
        description =
            "rows to measure, in this order: read-files, read-shards, files, shards-npy, shards-tar (default all)")
    List<String> rows;

    @Option(
        names = "--flac",
        description = "also run bench flac (defaults) after the shards, in the same run")
    boolean flac;

    @Override
    int run(PrintStream out, PrintStream err) throws UsageException {
      int count = n == null ? 20000 : n;
      if (count < org.nestspark.job.bench.ShardsBench.SHARDS) {
        throw new UsageException(
            "N "
                + count
                + ": at least "
                + org.nestspark.job.bench.ShardsBench.SHARDS
                + " (one utterance per shard)");
      }
      java.util.Set<org.nestspark.job.bench.ShardsBench.Row> which =
          java.util.EnumSet.noneOf(org.nestspark.job.bench.ShardsBench.Row.class);
      try {
        if (rows == null) {
          which.addAll(java.util.EnumSet.allOf(org.nestspark.job.bench.ShardsBench.Row.class));
        } else {
          for (String r : rows) {
            which.add(org.nestspark.job.bench.ShardsBench.Row.of(r.trim()));
          }
        }
      } catch (IllegalArgumentException e) {
        throw new UsageException("--rows: " + e.getMessage());
      }
      try {
        org.nestspark.job.bench.ShardsBench.run(count, which, out, err);
        if (flac) {
          out.println();
          org.nestspark.job.bench.FlacSeekBench.run(null, 100, 5, 10.0, out);
        }
      } catch (Exception e) {
        err.println("nest bench shards: " + e);
        return 1;
      }
      return 0;
    }
  }
}
