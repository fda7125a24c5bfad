package org.nestspark.cli;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;

import org.apache.hadoop.conf.Configuration;

import org.nestspark.config.NestConfig;

/** {@code nest config}: prints the resolved, validated configuration (HOCON, or JSON with --json). */
final class ConfigCommand {
  private ConfigCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("config", args, Set.of("config"), Set.of("json"));
    if (!cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("unexpected argument '" + cl.positional.get(0) + "'");
    }
    NestConfig c = NestConfig.load(cl.all("config"), cl.overrides, new Configuration());
    out.println(cl.flag("json") ? c.renderJson() : c.render());
    return 0;
  }
}
