package org.nestspark.job.cli;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.config.NestConfig;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The configuration arguments every job command takes (a picocli mixin): {@code --config FILE} (HOCON
 * presets such as {@code conf/nest-tiny.conf}, or a NeMo training YAML; repeatable, later files win) and
 * Hydra-style settings of reference.conf keys: {@code key=value}, {@code ++key=value} (add or override),
 * {@code +key=value}, {@code ~key} (delete: back to the default), applied in order.
 */
final class ConfigArgs {
  @Option(
      names = "--config",
      paramLabel = "FILE",
      description =
          "a preset (.conf, HOCON) or a NeMo training config (.yaml); repeatable, later files win")
  List<String> files = new ArrayList<>();

  @Parameters(
      paramLabel = "key=value",
      description =
          "settings of reference.conf keys, as Hydra overrides: key=value, ++key=value, ~key (back to the default)")
  List<String> settings = new ArrayList<>();

  List<String> configFiles() {
    return files;
  }

  /** The settings; anything else among the positional arguments is a usage error. */
  List<String> overrides() throws UsageException {
    for (String s : settings) {
      boolean setting = s.contains("=") && !s.startsWith("=");
      boolean delete = s.startsWith("~") && s.length() > 1;
      if (!setting && !delete) {
        throw new UsageException("unexpected argument '" + s + "' (settings are key=value)");
      }
    }
    return settings;
  }

  /**
   * The validated configuration: {@code extraOverrides} first, then the user's settings (which win). The keys
   * of NeMo YAML configs that nest-spark ignores are printed on one warning line to {@code err}.
   */
  NestConfig load(List<String> extraOverrides, PrintStream err) throws UsageException {
    List<String> all = new ArrayList<>(extraOverrides);
    all.addAll(overrides());
    NestConfig c = NestConfig.load(files, all, new Configuration());
    warnIgnored(c, err);
    return c;
  }

  NestConfig load(PrintStream err) throws UsageException {
    return load(List.of(), err);
  }

  /** One warning line listing the keys of NeMo YAML configs that nest-spark does not use. */
  static void warnIgnored(NestConfig c, PrintStream err) {
    if (!c.ignoredNemoKeys().isEmpty()) {
      err.println(
          "warning: "
              + c.ignoredNemoKeys().size()
              + " NeMo config key(s) nest-spark does not use were ignored: "
              + String.join(", ", c.ignoredNemoKeys()));
    }
  }
}
