package org.nestspark.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

import org.nestspark.config.NestConfigException;
import org.nestspark.io.NestPaths;

/**
 * The {@code nest} command line: the same entry point for {@code bin/nest} (Spark {@code local[*]}
 * embedded) and {@code spark-submit --class org.nestspark.cli.NestCli <jar> <command> ...}.
 *
 * <p>Exit codes: 0 done (skipped inputs are reported, not failures), 1 the job could not run (unreadable
 * manifest, {@code data.on_error=fail} with bad input, I/O error), 2 bad usage or configuration; pretrain
 * also 3 (stopped early with a checkpoint) and 75 (run folder locked), see
 * {@link org.nestspark.pretrain.PretrainExit}.
 */
public final class NestCli {
  static final String USAGE = String.join("\n",
      "usage: nest <command> [options] [--config FILE]... [key=value]...",
      "",
      "commands:",
      "  pretrain [key=value ...]                    NEST pretraining on Spark (needs model.train_ds.manifest_filepath, exp_manager.exp_dir)",
      "  featurize --manifest M[,M2...] --out DIR    log-mel features of every utterance as .npy + features.json",
      "  extract --model M --input I --output O     per-layer encoder features (.npy [L, D, T] or parquet) of a manifest, folder or file",
      "  import-nemo --model X.nemo --out DIR|F.ckpt  a NeMo NEST .nemo as a nest-spark checkpoint",
      "  export-nemo --checkpoint C --out X.nemo    a nest-spark checkpoint as a .nemo for NeMo's restore_from",
      "  bench featurize|train|quantizer|extract     throughput on this machine (featurizer, Small graph step, quantizer, extraction)",
      "  config                                      print the resolved configuration",
      "  doctor [--expect-gpu]                       ND4J backend, devices, BLAS, threads, versions; one tiny training step",
      "  help                                        this text",
      "",
      "Every command takes --config FILE (a preset such as conf/nest-tiny.conf; repeatable, later wins) and",
      "key=value overrides of reference.conf keys, e.g. model.preprocessor.dither=0 data.on_error=fail.",
      "Paths may be local or any Hadoop URI (file://, hdfs://, s3a://).",
      "",
      "Exit codes: 0 done, 1 the job could not run, 2 bad usage or configuration; pretrain also:",
      "  3   stopped early by SIGTERM or exp_manager.max_time_per_run after finishing its round and saving a checkpoint (run again to resume)",
      "  75  refused: another live attempt holds the run folder's lock (<exp_dir>/<name>/.lock); nothing done");

  private NestCli() {}

  public static void main(String[] args) {
    int code = run(Arrays.asList(args), System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Runs one command and returns its exit code (tests call this directly). */
  public static int run(List<String> args, PrintStream out, PrintStream err) {
    if (args.isEmpty() || List.of("help", "-h", "--help").contains(args.get(0))) {
      (args.isEmpty() ? err : out).println(USAGE);
      return args.isEmpty() ? 2 : 0;
    }
    if (!NestPaths.jvmCanOpenNonAsciiNames()) {
      err.println("warning: this JVM runs with file name encoding " + System.getProperty("sun.jnu.encoding")
          + "; files with non-ASCII names cannot be opened. Run with LC_ALL=C.UTF-8 (bin/nest does this).");
    }
    String command = args.get(0);
    List<String> rest = args.subList(1, args.size());
    try {
      switch (command) {
        case "pretrain":
          return PretrainCommand.run(rest, out, err);
        case "featurize":
          return FeaturizeCommand.run(rest, out, err);
        case "extract":
          return ExtractCommand.run(rest, out, err);
        case "import-nemo":
          return ImportNemoCommand.run(rest, out, err);
        case "export-nemo":
          return ExportNemoCommand.run(rest, out, err);
        case "bench":
          return BenchCommand.run(rest, out, err);
        case "config":
          return ConfigCommand.run(rest, out, err);
        case "doctor":
          return DoctorCommand.run(rest, out, err);
        default:
          err.println("unknown command '" + command + "'\n\n" + USAGE);
          return 2;
      }
    } catch (CommandLine.UsageException e) {
      err.println("nest " + command + ": " + e.getMessage());
      return 2;
    } catch (NestConfigException e) {
      err.println("nest " + command + ": " + e.getMessage());
      return 2;
    }
  }
}
