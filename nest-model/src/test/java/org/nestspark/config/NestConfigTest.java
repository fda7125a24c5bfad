package org.nestspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NestConfigTest {
  private static NestConfig load(List<String> files, String... overrides) {
    return NestConfig.load(files, List.of(overrides), new Configuration(false));
  }

  private static NestConfigException fails(String... overrides) {
    return assertThrows(NestConfigException.class, () -> load(List.of(), overrides));
  }

  @Test
  void defaultsAreNemoNestValues() {
    NestConfig c = NestConfig.defaults();
    assertEquals(16000, c.getInt("model.sample_rate"));
    assertEquals(512, c.getInt("model.preprocessor.n_fft"));
    assertEquals(0.97, c.getDouble("model.preprocessor.preemph"));
    assertEquals(
        5.960464477539063e-08, c.getDouble("model.preprocessor.log_zero_guard_value"), 0.0);
    assertEquals(Math.pow(2, -24), c.getDouble("model.preprocessor.log_zero_guard_value"), 0.0);
    assertEquals(17, c.getInt("model.encoder.n_layers"));
    assertEquals(512, c.getInt("model.optim.sched.d_model"), "interpolated from the encoder");
    assertEquals(25000, c.getInt("model.optim.sched.warmup_steps"));
    assertEquals(8, c.getInt("model.train_ds.batch_size"));
    assertFalse(c.isSet("model.train_ds.manifest_filepath"));
    assertEquals(List.of(), c.getStringList("model.train_ds.manifest_filepath"));
  }

  @Test
  void everyReferenceKeyHasAOneLineComment() throws Exception {
    String text =
        new String(
            NestConfig.class.getResourceAsStream("/reference.conf").readAllBytes(),
            java.nio.charset.StandardCharsets.UTF_8);
    for (String line : text.split("\n")) {
      String t = line.strip();
      if (t.contains("=") && !t.startsWith("#")) {
        assertTrue(t.contains("#"), "no comment on: " + t);
      }
    }
    assertTrue(NestConfig.referenceKeys().size() > 100);
  }

  @Test
  void overridesAreTypedByTheirDefault() {
    NestConfig c =
        load(
            List.of(),
            "model.optim.lr=0.001",
            "model.train_ds.batch_size=4",
            "model.train_ds.manifest_filepath=hdfs://nn:8020/corpus/a b#1.json,rel/x.json",
            "+model.optim.betas=[0.8,0.9]",
            "model.preprocessor.highfreq=7600");
    assertEquals(0.001, c.getDouble("model.optim.lr"));
    assertEquals(4, c.getInt("model.train_ds.batch_size"));
    assertEquals(
        List.of("hdfs://nn:8020/corpus/a b#1.json", "rel/x.json"),
        c.getStringList("model.train_ds.manifest_filepath"));
    assertEquals(List.of(0.8, 0.9), c.config().getDoubleList("model.optim.betas"));
    assertEquals(7600.0, c.getDouble("model.preprocessor.highfreq"));
  }

  @Test
  void manifestListsAcceptAListToo() {
    NestConfig c = load(List.of(), "model.train_ds.manifest_filepath=[a.json, \"b.json,c.json\"]");
    assertEquals(
        List.of("a.json", "b.json", "c.json"), c.getStringList("model.train_ds.manifest_filepath"));
  }

  @Test
  void presetFileThenOverridesWin(@TempDir Path dir) throws Exception {
    Path preset = dir.resolve("p.conf");
    Files.writeString(
        preset,
        "model.encoder { d_model = 176, n_heads = 4, n_layers = 16 }\nmodel.optim.weight_decay = 0.0\n");
    NestConfig c = load(List.of(preset.toString()), "model.encoder.n_layers=2");
    assertEquals(176, c.getInt("model.encoder.d_model"));
    assertEquals(176, c.getInt("model.optim.sched.d_model"), "interpolation sees the preset");
    assertEquals(176, c.getInt("model.decoder.feat_in"));
    assertEquals(2, c.getInt("model.encoder.n_layers"));
  }

  @Test
  void misspelledKeyIsNamedWithASuggestion() {
    NestConfigException e = fails("model.train_ds.batch_sise=4");
    assertEquals(1, e.problems().size());
    assertTrue(
        e.problems()
            .get(0)
            .startsWith(
                "model.train_ds.batch_sise: unknown key (did you mean model.train_ds.batch_size?)"),
        e.getMessage());
    assertTrue(fails("modle.optim.lr=1").getMessage().contains("modle.optim.lr: unknown key"));
  }

  @Test
  void misspelledKeyInAPresetIsNamed(@TempDir Path dir) throws Exception {
    Path preset = dir.resolve("p.conf");
    Files.writeString(preset, "model { preprocessor { nfft = 400 } }\n");
    NestConfigException e =
        assertThrows(NestConfigException.class, () -> load(List.of(preset.toString())));
    assertTrue(
        e.getMessage()
            .contains(
                "model.preprocessor.nfft: unknown key (did you mean model.preprocessor.n_fft?)"),
        e.getMessage());
  }

  @Test
  void wrongTypesAreNamed() {
    assertTrue(
        fails("model.train_ds.batch_size=eight")
            .getMessage()
            .contains("model.train_ds.batch_size: expected a number, got \"eight\""));
    assertTrue(
        fails("model.train_ds.shuffle=maybe")
            .getMessage()
            .contains("model.train_ds.shuffle: expected true or false"));
    assertTrue(
        fails("model.optim.betas=0.9").getMessage().contains("model.optim.betas: expected a list"));
    assertTrue(
        fails("featurize.format=zip")
            .getMessage()
            .contains("featurize.format: 'zip' is not supported; expected one of npy, tar"),
        fails("featurize.format=zip").getMessage());
    assertTrue(fails("model.train_ds=3").getMessage().contains("model.train_ds: is a section"));
    assertTrue(
        fails("model.train_ds.batch_size=2.5")
            .getMessage()
            .contains("model.train_ds.batch_size: expected a whole number"));
  }

  @Test
  void impossibleValuesAreNamed() {
    assertTrue(
        fails("model.train_ds.batch_size=-8")
            .getMessage()
            .contains("model.train_ds.batch_size: must be positive, got -8"));
    assertTrue(
        fails("model.preprocessor.n_fft=256")
            .getMessage()
            .contains(
                "model.preprocessor.n_fft: 256 is smaller than the window (model.preprocessor.window_size = 400 samples)"));
    assertTrue(
        fails("model.encoder.n_heads=5")
            .getMessage()
            .contains("model.encoder.n_heads: 5 does not divide d_model 512"));
    assertTrue(
        fails("model.train_ds.min_duration=30", "model.train_ds.max_duration=20")
            .getMessage()
            .contains("model.train_ds.max_duration: must be at least model.train_ds.min_duration"));
    assertTrue(
        fails("data.on_error=ignore")
            .getMessage()
            .contains("data.on_error: 'ignore' is not supported; expected one of skip, fail"));
    assertTrue(
        fails("model.preprocessor.highfreq=9000")
            .getMessage()
            .contains("model.preprocessor.highfreq"));
    assertTrue(
        fails("model.train_ds.batch_augmentor.prob=1.5")
            .getMessage()
            .contains("model.train_ds.batch_augmentor.prob: must be in [0.0, 1.0], got 1.5"));
    // several problems are reported together
    assertEquals(
        2, fails("model.train_ds.batch_size=0", "trainer.log_every_n_steps=0").problems().size());
  }

  @Test
  void trainingStrategyKeysAreChecked() {
    assertTrue(
        fails("pretrain.strategy=allreduce")
            .getMessage()
            .contains(
                "pretrain.strategy: 'allreduce' is not supported; expected one of parameter_averaging, diloco"));
    assertTrue(
        fails("pretrain.diloco.delta_dtype=fp8")
            .getMessage()
            .contains(
                "pretrain.diloco.delta_dtype: 'fp8' is not supported; expected one of float32, bfloat16, float16"));
    assertTrue(
        fails("pretrain.diloco.inner_steps=0")
            .getMessage()
            .contains("pretrain.diloco.inner_steps: must be positive, got 0"));
    assertTrue(
        fails("pretrain.diloco.outer_momentum=1")
            .getMessage()
            .contains("pretrain.diloco.outer_momentum: must be in [0.0, 0.999], got 1"));
    assertTrue(
        fails("pretrain.diloco.outer_lr=0")
            .getMessage()
            .contains("pretrain.diloco.outer_lr: must be in"));
    assertTrue(
        fails("pretrain.rounds_per_fit=8")
            .getMessage()
            .contains("pretrain.rounds_per_fit: unknown key"));
    assertEquals(
        "diloco",
        load(List.of(), "pretrain.strategy=diloco", "pretrain.diloco.delta_dtype=bfloat16")
            .getString("pretrain.strategy"));
  }

  @Test
  void durationBatchKeysAreChecked() {
    assertTrue(
        fails("model.train_ds.batch_duration=-5")
            .getMessage()
            .contains("model.train_ds.batch_duration: must be positive and finite, got -5"));
    assertTrue(
        fails("model.train_ds.batch_duration=lots")
            .getMessage()
            .contains("model.train_ds.batch_duration: expected a number"));
    assertTrue(
        fails("model.validation_ds.quadratic_duration=0")
            .getMessage()
            .contains("model.validation_ds.quadratic_duration: must be positive"));
    assertTrue(
        fails("model.train_ds.num_buckets=0")
            .getMessage()
            .contains("model.train_ds.num_buckets: must be positive, got 0"));
    NestConfig c =
        load(
            List.of(), "model.train_ds.batch_duration=120", "model.train_ds.quadratic_duration=30");
    assertEquals(120.0, c.getDouble("model.train_ds.batch_duration"));
    assertEquals(30.0, c.getDouble("model.train_ds.quadratic_duration"));
    assertFalse(
        c.isSet("model.validation_ds.batch_duration"), "validation stays fixed-count unless set");
    assertFalse(
        NestConfig.defaults().isSet("model.train_ds.batch_duration"),
        "fixed-count batches by default");
  }

  @Test
  void malformedOverride() {
    assertTrue(fails("model.optim.lr").getMessage().contains("expected key=value"));
    assertTrue(fails("model..lr=1").getMessage().contains("is not a valid key"));
  }

  @Test
  void missingPresetIsNamed() {
    NestConfigException e =
        assertThrows(NestConfigException.class, () -> load(List.of("/no/such/preset.conf")));
    assertTrue(e.getMessage().contains("/no/such/preset.conf: no such file"));
  }

  @Test
  void hashIsStableAndSensitive() {
    assertEquals(NestConfig.defaults().sha256(), load(List.of()).sha256());
    assertNotEquals(NestConfig.defaults().sha256(), load(List.of(), "model.optim.lr=1").sha256());
  }

  @Test
  void serializesForSparkExecutors() throws Exception {
    NestConfig c = load(List.of(), "model.optim.lr=0.5");
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.ObjectOutputStream out = new java.io.ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    NestConfig back;
    try (java.io.ObjectInputStream in =
        new java.io.ObjectInputStream(new java.io.ByteArrayInputStream(bytes.toByteArray()))) {
      back = (NestConfig) in.readObject();
    }
    assertEquals(0.5, back.getDouble("model.optim.lr"));
    assertFalse(back.isSet("model.train_ds.manifest_filepath"));
    assertEquals(c.sha256(), back.sha256());
  }

  @Test
  void presetsInConfFolderAreValid() {
    Path conf = Path.of(System.getProperty("user.dir")).getParent().resolve("conf");
    for (String name : List.of("nest-tiny.conf", "nest-small.conf", "nest-large.conf")) {
      NestConfig c = load(List.of(conf.resolve(name).toString()));
      assertTrue(c.getInt("model.encoder.n_layers") > 0, name);
    }
    assertEquals(
        176,
        load(List.of(conf.resolve("nest-small.conf").toString())).getInt("model.encoder.d_model"));
    assertEquals(
        16,
        load(List.of(conf.resolve("nest-small.conf").toString())).getInt("model.encoder.n_layers"));
    assertEquals(
        512,
        load(List.of(conf.resolve("nest-large.conf").toString())).getInt("model.encoder.d_model"));
    assertEquals(
        17,
        load(List.of(conf.resolve("nest-large.conf").toString())).getInt("model.encoder.n_layers"));
  }
}
