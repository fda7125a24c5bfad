package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;
import org.nestspark.io.RunLock;
import org.nestspark.job.pretrain.Preemption;
import org.nestspark.job.pretrain.PretrainExit;
import org.nestspark.job.pretrain.PretrainJob;
import org.nestspark.job.pretrain.PretrainReport;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.labels.LabelTargets;
import org.nestspark.manifest.ManifestException;
import org.nestspark.model.NemoStateDictException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code nest pretrain [--config F]... [key=value ...]}: see {@link PretrainJob}. The configuration is
 * validated (keys, types, values, and that a training manifest and {@code exp_manager.exp_dir} are set)
 * before Spark starts. Exit codes ({@link PretrainExit}): 0 when the run reached
 * {@code max_steps}/{@code max_epochs}, 1 when a manifest or the run folder could not be used, 2 for bad usage
 * or configuration, 3 when SIGTERM or {@code exp_manager.max_time_per_run} stopped it after a round with a
 * checkpoint ({@link Preemption}), 75 when a live attempt holds the run folder's lock.
 */
@Command(
    name = "pretrain",
    description = {
      "NEST pretraining on Spark (needs model.train_ds.manifest_filepath and exp_manager.exp_dir)",
      "Trains in rounds on persistent workers (pretrain.strategy: parameter_averaging or diloco), "
          + "validates, keeps checkpoints and metrics in <exp_manager.exp_dir>/<exp_manager.name>, and "
          + "resumes from the newest valid checkpoint. Exit 0 when the run reached trainer.max_steps / "
          + "max_epochs, 1 when a manifest or the run folder could not be used, 2 for bad usage or "
          + "configuration, 3 when SIGTERM or exp_manager.max_time_per_run stopped it after a round with a "
          + "checkpoint (run again to resume), 75 when a live attempt holds the run folder's lock."
    })
final class PretrainCommand extends NestCommand {
  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    NestConfig config = cl.load(err);
    try {
      PretrainJob.checkConfig(config);
      // model.targets = labels: labels manifests with a label file per entry and k = num_classes,
      // before Spark starts
      LabelTargets.check(config, new org.apache.hadoop.conf.Configuration());
    } catch (IllegalArgumentException e) {
      err.println("nest pretrain: " + e.getMessage());
      return 2;
    }
    // the command line as given (cmd-args.log): the config files, then the settings
    List<String> commandLine = new ArrayList<>(List.of("nest", "pretrain"));
    for (String f : cl.configFiles()) {
      commandLine.add("--config");
      commandLine.add(f);
    }
    commandLine.addAll(cl.settings);
    Preemption preemption = Preemption.fromConfig(config);
    try (JavaSparkContext sc = SparkContexts.create(config, "pretrain");
        AutoCloseable sigterm = preemption.onSigterm(err)) {
      PretrainReport report = PretrainJob.run(sc, config, out, commandLine, preemption);
      return (report.stopped() ? PretrainExit.STOPPED : PretrainExit.FINISHED).code;
    } catch (RunLock.RunLockException e) {
      err.println("nest pretrain: " + e.getMessage());
      return PretrainExit.LOCKED.code;
    } catch (ManifestException | IOException | NemoStateDictException e) {
      err.println("nest pretrain: " + e.getMessage());
      return PretrainExit.FAILED.code;
    } catch (Exception e) {
      throw e instanceof RuntimeException r
          ? r
          : new IllegalStateException(e); // only the SIGTERM handle's close, which does not throw
    }
  }
}
