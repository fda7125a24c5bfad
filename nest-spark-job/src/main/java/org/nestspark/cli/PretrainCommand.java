package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;

import org.nestspark.config.NestConfig;
import org.nestspark.manifest.ManifestException;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.io.RunLock;
import org.nestspark.pretrain.Preemption;
import org.nestspark.pretrain.PretrainExit;
import org.nestspark.pretrain.PretrainJob;
import org.nestspark.pretrain.PretrainReport;
import org.nestspark.spark.SparkContexts;

/**
 * {@code nest pretrain [--config F]... [key=value ...]}: see {@link PretrainJob}. The configuration is
 * validated (keys, types, values, and that a training manifest and {@code exp_manager.exp_dir} are set)
 * before Spark starts. Exit codes ({@link PretrainExit}): 0 when the run reached
 * {@code max_steps}/{@code max_epochs}, 1 when a manifest or the run folder could not be used, 2 for bad usage
 * or configuration, 3 when SIGTERM or {@code exp_manager.max_time_per_run} stopped it after a round with a
 * checkpoint ({@link Preemption}), 75 when a live attempt holds the run folder's lock.
 */
final class PretrainCommand {
  private PretrainCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
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
    List<String> commandLine = new ArrayList<>(List.of("nest", "pretrain"));
    commandLine.addAll(args);
    Preemption preemption = Preemption.fromConfig(config);
    try (JavaSparkContext sc = SparkContexts.create(config, "pretrain"); AutoCloseable sigterm = preemption.onSigterm(err)) {
      PretrainReport report = PretrainJob.run(sc, config, out, commandLine, preemption);
      return (report.stopped() ? PretrainExit.STOPPED : PretrainExit.FINISHED).code;
    } catch (RunLock.RunLockException e) {
      err.println("nest pretrain: " + e.getMessage());
      return PretrainExit.LOCKED.code;
    } catch (ManifestException | IOException | NemoStateDictException e) {
      err.println("nest pretrain: " + e.getMessage());
      return PretrainExit.FAILED.code;
    } catch (Exception e) {
      throw e instanceof RuntimeException r ? r : new IllegalStateException(e); // only the SIGTERM handle's close, which does not throw
    }
  }
}
