package org.nestspark.job.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import org.nestspark.config.NestConfigException;
import org.nestspark.io.NestPaths;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * The {@code nest} command line (picocli): the same entry point for {@code bin/nest} (Spark {@code local[*]}
 * embedded) and {@code spark-submit --class org.nestspark.job.cli.NestCli <jar> <command> ...}.
 *
 * <p>Exit codes: 0 done (skipped inputs are reported, not failures), 1 the job could not run (unreadable
 * manifest, {@code data.on_error=fail} with bad input, I/O error), 2 bad usage or configuration (an unknown
 * option, a malformed number, an invalid key or value: {@code nest <command>: <reason>}); pretrain also 3
 * (stopped early with a checkpoint) and 75 (run folder locked), see {@link org.nestspark.job.pretrain.PretrainExit}.
 */
@Command(
    name = "nest",
    mixinStandardHelpOptions = true,
    versionProvider = NestVersion.class,
    sortOptions = false,
    description =
        "NeMo's NEST self-supervised speech pretraining (FastConformer, masked-token prediction) as Apache Spark jobs.",
    subcommands = {
      PretrainCommand.class,
      FeaturizeCommand.class,
      ShardCommand.class,
      ExtractCommand.class,
      KMeansCommand.class,
      ImportNemoCommand.class,
      ExportNemoCommand.class,
      BenchCommand.class,
      ConfigCommand.class,
      DoctorCommand.class,
      CompletionCommand.class,
      CommandLine.HelpCommand.class
    },
    footer = {
      "",
      "Every job command takes --config FILE (a preset such as conf/nest-tiny.conf, or a NeMo training YAML; "
          + "repeatable, later wins) and Hydra-style settings of reference.conf keys: key=value, ++key=value, ~key, "
          + "e.g. model.preprocessor.dither=0 data.on_error=fail. Paths may be local or any Hadoop URI (file://, "
          + "hdfs://, s3a://). 'nest COMMAND --help' describes a command.",
      "",
      "Exit codes: 0 done, 1 the job could not run, 2 bad usage or configuration; pretrain also:",
      "  3   stopped early by SIGTERM or exp_manager.max_time_per_run after finishing its round and saving a checkpoint (run again to resume)",
      "  75  refused: another live attempt holds the run folder's lock (<exp_dir>/<name>/.lock); nothing done"
    })
public final class NestCli implements Callable<Integer> {
  final PrintStream out;
  final PrintStream err;

  @Spec CommandSpec spec;

  private NestCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** {@code nest} without a command: the usage on stderr, exit 2. */
  @Override
  public Integer call() {
    err.print(spec.commandLine().getUsageMessage());
    return 2;
  }

  public static void main(String[] args) {
    int code = run(Arrays.asList(args), System.out, System.err);
    if (code != 0) {
      System.exit(code);
    }
  }

  /** Runs one command and returns its exit code (tests call this directly). */
  public static int run(List<String> args, PrintStream out, PrintStream err) {
    if (!args.isEmpty()
        && !List.of("help", "-h", "--help", "-V", "--version", "completion").contains(args.get(0))
        && !NestPaths.jvmCanOpenNonAsciiNames()) {
      err.println(
          "warning: this JVM runs with file name encoding "
              + System.getProperty("sun.jnu.encoding")
              + "; files with non-ASCII names cannot be opened. Run with LC_ALL=C.UTF-8 (bin/nest does this).");
    }
    return commandLine(out, err).execute(args.toArray(new String[0]));
  }

  /** The command tree with nest's parsing rules and error handling, printing to {@code out} and {@code err}. */
  static CommandLine commandLine(PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new NestCli(out, err));
    cl.setOut(new PrintWriter(new java.io.OutputStreamWriter(out, StandardCharsets.UTF_8), true));
    cl.setErr(new PrintWriter(new java.io.OutputStreamWriter(err, StandardCharsets.UTF_8), true));
    cl.setUsageHelpWidth(100);
    cl.setExpandAtFiles(false); // a path may start with @
    cl.setOverwrittenOptionsAllowed(true); // --out A --out B: the last wins, as before
    cl.getHelpSectionMap()
        .put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, new CommandTable());
    cl.setParameterExceptionHandler(NestCli::usageError);
    cl.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          if (e instanceof UsageException || e instanceof NestConfigException) {
            line.getErr().println(line.getCommandSpec().qualifiedName() + ": " + e.getMessage());
            return 2;
          }
          throw e;
        });
    return cl;
  }

  /** A malformed command line: the reason (naming the option and value), a hint, exit 2. */
  private static int usageError(ParameterException e, String[] args) {
    CommandLine line = e.getCommandLine();
    PrintWriter w = line.getErr();
    w.println(line.getCommandSpec().qualifiedName() + ": " + e.getMessage());
    UnmatchedArgumentException.printSuggestions(e, w);
    w.println("Try '" + line.getCommandSpec().qualifiedName() + " --help' for more information.");
    return 2;
  }
}
