package org.nestspark.job.cli;

import java.io.PrintStream;
import org.nestspark.config.NestConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code nest config}: prints the resolved, validated configuration (HOCON, or JSON with --json). */
@Command(
    name = "config",
    description = {
      "print the resolved, validated configuration",
      "reference.conf, then the --config files, then the settings; HOCON, or one line of JSON with --json."
    })
final class ConfigCommand extends NestCommand {
  @Option(names = "--json", description = "one line of JSON (stable key order) instead of HOCON")
  boolean json;

  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    NestConfig c = cl.load(err);
    out.println(json ? c.renderJson() : c.render());
    return 0;
  }
}
