package org.nestspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** The typed settings read once by {@link NestConfig#load}, and the rules that moved into validation. */
class NestSettingsTest {
  private static NestConfig load(String... overrides) {
    return NestConfig.load(List.of(), List.of(overrides), new Configuration(false));
  }

  private static String rejected(String... overrides) {
    return assertThrows(NestConfigException.class, () -> load(overrides)).getMessage();
  }

  @Test
  void recordsCarryTheConfiguredValues() {
    NestSettings s =
        load(
                "model.encoder.d_model=176",
                "model.encoder.n_heads=4",
                "model.encoder.n_layers=3",
                "model.masking.block_size=20",
                "model.masking.mask_prob=0.05",
                "model.optim.lr=2.0",
                "model.optim.betas=[0.8, 0.95]",
                "model.train_ds.batch_augmentor.prob=0.25",
                "model.validation_ds.batch_augmentor.prob=0.75",
                "data.seed=7",
                "data.tar_buffer_mb=3",
                "model.preprocessor.n_fft=1024",
                "model.train_ds.min_audio_len_secs=2.5",
                "model.validation_ds.pad_audio_mode=zero",
                "trainer.batch_slices=3",
                "trainer.sync_batchnorm=false",
                "model.optim.gradient_clip_val=1.5")
            .settings();
    assertEquals(176, s.encoder().dModel());
    assertEquals(4, s.encoder().nHeads());
    assertEquals(3, s.encoder().nLayers());
    assertEquals(176, s.decoder().featIn(), "decoder.feat_in follows d_model by reference");
    assertEquals(20, s.masking().blockSize());
    assertEquals(0.05, s.masking().maskProb());
    assertEquals(80, s.quantizer().featIn());
    assertEquals(8192, s.quantizer().numClasses());
    assertEquals(8, s.loss().combineTimeSteps());
    assertEquals(0.8, s.loss().maskThreshold());
    assertEquals(2.0, s.optim().lr());
    assertEquals(0.8, s.optim().beta1());
    assertEquals(0.95, s.optim().beta2());
    assertEquals(176, s.optim().schedDModel());
    assertEquals(25000, s.optim().warmupSteps());
    assertEquals(0.25, s.augmentor("model.train_ds").prob());
    assertEquals(0.25, s.augmentor("model.train_ds.batch_augmentor").prob());
    assertEquals(0.75, s.augmentor("model.validation_ds.batch_augmentor.").prob());
    assertEquals("auto", s.kernels());
    assertEquals(7L, s.seed());
    assertEquals(7L, s.data().seed());
    assertEquals(3L << 20, s.data().tarBufferBytes());
    assertTrue(s.data().onErrorSkip());
    assertEquals(1024, s.preprocessor().nFft());
    assertEquals(16000, s.sampleRate());
    assertEquals(2.5, s.dataset("model.train_ds").minAudioLenSecs());
    assertEquals("zero", s.dataset("model.validation_ds").padAudioMode());
    assertEquals("repeat", s.trainDs().padAudioMode());
    assertEquals(3, s.trainer().batchSlices());
    assertFalse(s.trainer().syncBatchnorm());
    assertEquals(1.5, s.trainer().gradientClipVal());
    assertFalse(s.labelTargets());
    assertFalse(s.initFromPretrained().enabled());
    InitFromPretrainedSettings init =
        load(
                "init_from_pretrained.path=/models/nest.nemo",
                "init_from_pretrained.include=[encoder, quantizer]",
                "init_from_pretrained.exclude=[decoder]")
            .settings()
            .initFromPretrained();
    assertTrue(init.enabled());
    assertEquals("/models/nest.nemo", init.path());
    assertEquals(List.of("encoder", "quantizer"), init.include());
    assertEquals(List.of("decoder"), init.exclude());
    assertEquals(
        0, load().settings().trainer().batchSlices(), "auto is 0, resolved where the step runs");
  }

  @Test
  void warmupRatioIsResolvedAgainstMaxSteps() {
    NestSettings s =
        load("model.optim.sched.warmup_ratio=0.1", "trainer.max_steps=1005").settings();
    assertEquals(100, s.optim().warmupSteps(), "NeMo's int(0.1 * 1005)");
  }

  @Test
  void settingsSurviveSerialization() throws Exception {
    NestConfig c = load("model.encoder.n_layers=2", "model.masking.block_size=12");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(c);
    }
    NestConfig back;
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
      back = (NestConfig) in.readObject();
    }
    assertEquals(c.settings(), back.settings());
    assertEquals(2, back.settings().encoder().nLayers());
  }

  @Test
  void unsupportedEncoderFormsAreRejectedWhenLoading() {
    String m =
        rejected(
            "model.encoder.causal_downsampling=true",
            "model.encoder.untie_biases=false",
            "model.encoder.feat_out=256",
            "model.encoder.att_context_size=[64, 64]");
    assertTrue(m.contains("model.encoder.causal_downsampling: only false is supported"), m);
    assertTrue(m.contains("model.encoder.untie_biases: only true"), m);
    assertTrue(m.contains("model.encoder.feat_out: only -1"), m);
    assertTrue(m.contains("model.encoder.att_context_size: only [-1, -1]"), m);
  }

  @Test
  void decoderSizesMustMatchTheEncoderAndTheQuantizer() {
    String m =
        rejected(
            "model.decoder.feat_in=128",
            "model.decoder.num_classes=100",
            "model.decoder.num_decoders=2");
    assertTrue(m.contains("model.decoder.feat_in: 128 must equal model.encoder.d_model 512"), m);
    assertTrue(m.contains("model.decoder.num_classes: must equal model.num_classes"), m);
    assertTrue(m.contains("model.decoder.num_decoders: must equal model.num_books"), m);
  }

  @Test
  void warmupRatioNeedsABoundedRun() {
    String m = rejected("model.optim.sched.warmup_ratio=0.1", "trainer.max_steps=-1");
    assertTrue(m.contains("model.optim.sched.warmup_ratio: needs trainer.max_steps > 0"), m);
    m = rejected("model.optim.sched.warmup_ratio=1.5", "trainer.max_steps=100");
    assertTrue(m.contains("model.optim.sched.warmup_ratio: must be in [0, 1]"), m);
    assertFalse(
        load("model.optim.sched.warmup_ratio=0.0", "trainer.max_steps=100")
            .settings()
            .toString()
            .isEmpty());
  }
}
