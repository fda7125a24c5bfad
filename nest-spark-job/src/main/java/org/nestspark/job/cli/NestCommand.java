package org.nestspark.job.cli;

import java.io.PrintStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A {@code nest} command: picocli fills its {@code @Option}/{@code @Parameters} fields, then {@link #run}
 * does the work and returns the exit code. Every command has {@code -h/--help}. A new command is one class
 * extending this, annotated {@code @Command(name = ...)}, and listed in {@link NestCli}'s subcommands.
 */
abstract class NestCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(
      names = {"-h", "--help"},
      usageHelp = true,
      description = "print this command's usage and exit")
  boolean helpRequested;

  /** Does the command's work; prints to {@code out} and {@code err}, returns the exit code. */
  abstract int run(PrintStream out, PrintStream err) throws UsageException;

  @Override
  public final Integer call() throws UsageException {
    NestCli root = (NestCli) spec.root().userObject();
    return run(root.out, root.err);
  }

  /** {@code nest <command> [<subcommand>]}, for messages. */
  String name() {
    return spec.qualifiedName();
  }
}
