package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;

import org.apache.spark.api.java.JavaSparkContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

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
@Command(name = "pretrain", description = {
    "NEST pretraining on Spark (needs model.train_ds.manifest_filepath and exp_manager.exp_dir)",
    "Trains in rounds on persistent workers (pretrain.strategy: parameter_averaging or diloco), "
        + "validates, keeps checkpoints and metrics in <exp_manager.exp_dir>/<exp_manager.name>, and "
        + "resumes from the newest valid checkpoint. Exit 0 when the run reached trainer.max_steps / "
        + "max_epochs, 1 when a manifest or the run folder could not be used, 2 for bad usage or "
        + "configuration."})
final class PretrainCommand extends NestCommand {
  @Mixin
  ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    NestConfig config = cl.load(err);
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
