package org.nestspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A NeMo training YAML given to --config: conf/nemo/nest_fast-conformer-tiny.yaml has the sections, keys and
 * interpolations of NeMo's examples/asr/conf/ssl/nest/nest_fast-conformer.yaml (with the tiny model).
 */
class NemoTrainingConfigTest {
  static final String YAML =
      Path.of(System.getProperty("user.dir"))
          .getParent()
          .resolve("conf/nemo/nest_fast-conformer-tiny.yaml")
          .toString();
  static final List<String> DATA =
      List.of(
          "model.train_ds.manifest_filepath=/data/train.json",
          "model.validation_ds.manifest_filepath=/data/dev.json");

  static NestConfig load(List<String> files, String... overrides) {
    List<String> all = new ArrayList<>(DATA);
    all.addAll(List.of(overrides));
    return NestConfig.load(files, all, new Configuration(false));
  }

  @Test
  void takesTheKeysNestSparkImplementsWithInterpolationsResolved() {
    NestConfig c = load(List.of(YAML));
    assertEquals(64, c.getInt("model.encoder.d_model"));
    assertEquals(2, c.getInt("model.encoder.n_layers"));
    assertEquals(256, c.getInt("model.num_classes"));
    assertEquals(256, c.getInt("model.decoder.num_classes"), "${model.num_classes}");
    assertEquals(64, c.getInt("model.decoder.feat_in"), "${model.encoder.d_model}");
    assertEquals(64, c.getInt("model.optim.sched.d_model"));
    assertEquals(
        8, c.getInt("model.quantizer.combine_time_steps"), "${model.encoder.subsampling_factor}");
    assertEquals(0.4, c.getDouble("model.train_ds.batch_augmentor.prob"));
    assertEquals(
        1e-3,
        c.getDouble("model.optim.weight_decay"),
        0.0,
        "1e-3 is a number, as OmegaConf reads it");
    assertEquals(1e-5, c.getDouble("model.optim.sched.min_lr"), 0.0);
    assertEquals(
        1.0, c.getDouble("model.optim.gradient_clip_val"), 0.0, "trainer.gradient_clip_val");
    assertEquals(60, c.getInt("trainer.max_steps"));
    assertEquals(20, c.getInt("trainer.val_check_interval"));
    assertEquals("NEST-FastConformer-tiny", c.getString("exp_manager.name"), "${name}");
    assertEquals(List.of("/data/train.json"), c.getStringList("model.train_ds.manifest_filepath"));
    assertEquals(4, c.getInt("model.train_ds.batch_size"));
  }

  @Test
  void settingsApplyBeforeInterpolationsResolveAsInHydra() {
    NestConfig c =
        load(
            List.of(YAML),
            "model.encoder.subsampling_factor=4",
            "++model.num_classes=128",
            "+model.sample_rate=8000");
    assertEquals(4, c.getInt("model.quantizer.combine_time_steps"));
    assertEquals(4, c.getInt("model.loss.combine_time_steps"));
    assertEquals(128, c.getInt("model.decoder.num_classes"));
    assertEquals(8000, c.getInt("model.train_ds.sample_rate"));
    assertEquals(8000, c.getInt("model.preprocessor.sample_rate"));
  }

  @Test
  void listsEveryIgnoredKeyOnceInDocumentOrder() {
    NestConfig c = load(List.of(YAML));
    assertEquals(
        List.of(
            "name",
            "model.train_ds.pin_memory",
            "model.train_ds.use_start_end_token",
            "model.train_ds.trim_silence",
            "model.train_ds.is_concat",
            "model.train_ds.concat_sampling_technique",
            "model.train_ds.concat_sampling_temperature",
            "model.train_ds.bucketing_strategy",
            "model.train_ds.bucketing_batch_size",
            "model.validation_ds.pin_memory",
            "model.validation_ds.use_start_end_token",
            "model.spec_augment._target_",
            "model.spec_augment.freq_masks",
            "model.spec_augment.time_masks",
            "model.spec_augment.freq_width",
            "model.spec_augment.time_width",
            "model.encoder.stochastic_depth_mode",
            "model.encoder.stochastic_depth_start_layer",
            "trainer.accelerator",
            "trainer.strategy",
            "trainer.enable_progress_bar",
            "trainer.check_val_every_n_epoch",
            "trainer.enable_checkpointing",
            "trainer.logger",
            "trainer.benchmark",
            "exp_manager.create_tensorboard_logger",
            "exp_manager.create_checkpoint_callback",
            "exp_manager.checkpoint_callback_params.filename",
            "exp_manager.resume_ignore_no_checkpoint",
            "exp_manager.create_wandb_logger",
            "exp_manager.wandb_logger_kwargs.name",
            "exp_manager.wandb_logger_kwargs.project"),
        c.ignoredNemoKeys());
    NestConfig fewer = load(List.of(YAML), "~trainer.strategy", "~exp_manager.wandb_logger_kwargs");
    assertTrue(
        !fewer.ignoredNemoKeys().contains("trainer.strategy")
            && !fewer.ignoredNemoKeys().contains("exp_manager.wandb_logger_kwargs.name"),
        fewer.ignoredNemoKeys().toString());
    assertEquals(
        List.of(),
        NestConfig.load(List.of(), List.of(), new Configuration(false)).ignoredNemoKeys());
  }

  @Test
  void mandatoryValuesMustBeGiven() {
    NestConfigException e =
        assertThrows(
            NestConfigException.class,
            () -> NestConfig.load(List.of(YAML), List.of(), new Configuration(false)));
    assertTrue(
        e.getMessage()
            .contains(
                "model.train_ds.manifest_filepath: ??? (a mandatory value the NeMo config leaves to the command line)"),
        e.getMessage());
    // ~key drops a mandatory value: no validation set, as nest-spark's default
    NestConfig c =
        NestConfig.load(
            List.of(YAML),
            List.of(DATA.get(0), "~model.validation_ds.manifest_filepath"),
            new Configuration(false));
    assertEquals(List.of(), c.getStringList("model.validation_ds.manifest_filepath"));
  }

  @Test
  void refusesWhatNestSparkCannotHonourNamingTheKey(@TempDir Path dir) throws Exception {
    String text = Files.readString(Path.of(YAML));
    Path other = dir.resolve("other-encoder.yaml");
    Files.writeString(
        other,
        text.replace(
                "_target_: nemo.collections.asr.modules.ConformerEncoder",
                "_target_: nemo.collections.asr.modules.SqueezeformerEncoder")
            .replace("    is_tarred: false", "    is_tarred: false\n    use_lhotse: true"));
    NestConfigException e =
        assertThrows(NestConfigException.class, () -> load(List.of(other.toString())));
    assertTrue(
        e.getMessage()
            .contains(
                "model.encoder._target_: nemo.collections.asr.modules.SqueezeformerEncoder is not supported"
                    + " (nest-spark implements NeMo's ConformerEncoder)"),
        e.getMessage());
    assertTrue(
        e.getMessage()
            .contains(
                "model.train_ds.use_lhotse: true cannot be honoured: Lhotse data loading is not supported"),
        e.getMessage());
    NestConfigException sdpa =
        assertThrows(
            NestConfigException.class,
            () -> load(List.of(YAML), "model.encoder.att_context_style=chunked_limited"));
    assertTrue(
        sdpa.getMessage()
            .contains(
                "model.encoder.att_context_style: value chunked_limited is not supported (nest-spark implements regular)"),
        sdpa.getMessage());
    NestConfigException wandb =
        assertThrows(
            NestConfigException.class,
            () -> load(List.of(YAML), "exp_manager.create_wandb_logger=true"));
    assertTrue(
        wandb.getMessage().contains("exp_manager.create_wandb_logger: true cannot be honoured"),
        wandb.getMessage());
  }

  @Test
  void aTypoOnTheCommandLineIsStillAnUnknownKey() {
    NestConfigException e =
        assertThrows(
            NestConfigException.class, () -> load(List.of(YAML), "model.train_ds.batch_sise=4"));
    assertTrue(
        e.getMessage()
            .contains(
                "model.train_ds.batch_sise: unknown key (did you mean model.train_ds.batch_size?)"),
        e.getMessage());
  }

  @Test
  void interpolationForms(@TempDir Path dir) throws Exception {
    Path y = dir.resolve("forms.yaml");
    Files.writeString(
        y,
        String.join(
            "\n",
            "name: run",
            "model:",
            "  encoder:",
            "    d_model: 96",
            "    n_heads: 4",
            "  decoder:",
            "    feat_in: ${..encoder.d_model}",
            "  optim:",
            "    sched:",
            "      warmup_steps: 10",
            "      min_lr: 1.5e-6",
            "exp_manager:",
            "  name: ${name}-x${model.encoder.n_heads}-\\${literal}",
            "trainer:",
            "  max_steps: ${model.optim.sched.warmup_steps}",
            ""));
    NestConfig c = NestConfig.load(List.of(y.toString()), List.of(), new Configuration(false));
    assertEquals(96, c.getInt("model.decoder.feat_in"), "relative ${..encoder.d_model}");
    assertEquals("run-x4-${literal}", c.getString("exp_manager.name"));
    assertEquals(10, c.getInt("trainer.max_steps"));
    assertEquals(
        96,
        c.getInt("model.optim.sched.d_model"),
        "reference.conf's own interpolation follows the YAML's d_model");
    Path bad = dir.resolve("resolver.yaml");
    Files.writeString(bad, "exp_manager:\n  exp_dir: ${oc.env:HOME}\n");
    NestConfigException e =
        assertThrows(
            NestConfigException.class,
            () -> NestConfig.load(List.of(bad.toString()), List.of(), new Configuration(false)));
    assertTrue(
        e.getMessage()
            .contains("exp_manager.exp_dir: the resolver ${oc.env:HOME} is not supported"),
        e.getMessage());
    Path dangling = dir.resolve("dangling.yaml");
    Files.writeString(dangling, "model:\n  decoder:\n    feat_in: ${model.nothing_here}\n");
    NestConfigException d =
        assertThrows(
            NestConfigException.class,
            () ->
                NestConfig.load(List.of(dangling.toString()), List.of(), new Configuration(false)));
    assertTrue(d.getMessage().contains("model.nothing_here"), d.getMessage());
  }
}
