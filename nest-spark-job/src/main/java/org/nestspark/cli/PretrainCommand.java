package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.Set;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;

import org.nestspark.config.NestConfig;
import org.nestspark.manifest.ManifestException;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.pretrain.PretrainJob;
import org.nestspark.spark.SparkContexts;

/**
 * {@code nest pretrain [--config F]... [key=value ...]}: see {@link PretrainJob}. The configuration is
 * validated (keys, types, values, and that a training manifest and {@code exp_manager.exp_dir} are set)
 * before Spark starts. Exit 0 when the run reached {@code max_steps}/{@code max_epochs}, 1 when a manifest
 * or the run folder could not be used, 2 for bad usage or configuration.
 */
final class PretrainCommand {
  private PretrainCommand() {}

  static int run(java.util.List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("pretrain", args, Set.of("config"), Set.of());
    if (!cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("unexpected argument '" + cl.positional.get(0) + "' (settings are key=value)");
    }
    NestConfig config = NestConfig.load(cl.all("config"), cl.overrides, new Configuration());
    try {
      PretrainJob.checkConfig(config);
    } catch (IllegalArgumentException e) {
      err.println("nest pretrain: " + e.getMessage());
      return 2;
    }
    try (JavaSparkContext sc = SparkContexts.create(config, "pretrain")) {
      PretrainJob.run(sc, config, out);
      return 0;
    } catch (ManifestException | IOException | NemoStateDictException e) {
      err.println("nest pretrain: " + e.getMessage());
      return 1;
    }
  }
}
