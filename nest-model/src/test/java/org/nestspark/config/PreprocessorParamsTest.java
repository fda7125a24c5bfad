package org.nestspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class PreprocessorParamsTest {
  @Test
  void nemoDefaultsAndDerivedValues() {
    PreprocessorParams p = PreprocessorParams.defaults();
    assertEquals(16000, p.sampleRate());
    assertEquals(400, p.winLength());
    assertEquals(160, p.hopLength());
    assertEquals(512, p.nFft());
    assertEquals(257, p.numBins());
    assertEquals(80, p.features());
    assertEquals(0.0, p.lowFreq());
    assertEquals(8000.0, p.highFreq());
    assertEquals(0.97, p.preemph());
    assertEquals(1e-5, p.dither());
    assertEquals(Math.pow(2, -24), p.logZeroGuardValue());
    assertEquals(5.9604645e-8, p.logZeroGuardValue(), 1e-15);
    assertEquals("add", p.logZeroGuardType());
    assertEquals("per_feature", p.normalize());
    assertEquals(16, p.padTo());
    assertEquals(0.0, p.padValue());
    assertEquals(2.0, p.magPower());
    assertEquals("hann", p.window());
    assertEquals("slaney", p.melNorm());
    assertTrue(p.log());
    assertEquals(p, p.toBuilder().build());
    assertEquals(p.hashCode(), PreprocessorParams.builder().build().hashCode());
    assertNotEquals(p, p.toBuilder().dither(0).build());
  }

  @Test
  void nullNFftIsNextPowerOfTwoOfWindow() {
    assertEquals(512, PreprocessorParams.builder().nFft(null).build().nFft());
    assertEquals(1024, PreprocessorParams.builder().nFft(null).windowSize(0.05).build().nFft());
    assertEquals(4000.0, PreprocessorParams.builder().sampleRate(8000).build().highFreq());
    assertEquals("none", PreprocessorParams.builder().normalize(null).build().normalize());
    assertEquals("none", PreprocessorParams.builder().normalize("null").build().normalize());
  }

  @Test
  void impossibleValuesNameTheNemoKey() {
    expectKey("n_fft", b -> b.nFft(256));
    expectKey("sample_rate", b -> b.sampleRate(0));
    expectKey("window_size", b -> b.windowSize(-0.025));
    expectKey("window_size", b -> b.windowSize(1e-6));
    expectKey("window_stride", b -> b.windowStride(0));
    expectKey("features", b -> b.features(0));
    expectKey("lowfreq", b -> b.lowFreq(-1));
    expectKey("highfreq", b -> b.lowFreq(9000));
    expectKey("highfreq", b -> b.highFreq(100.0).lowFreq(200));
    expectKey("dither", b -> b.dither(-1e-5));
    expectKey("normalize", b -> b.normalize("per_utterance"));
    expectKey("pad_to", b -> b.padTo(-1));
    expectKey("mag_power", b -> b.magPower(0));
    expectKey("window", b -> b.window("kaiser"));
    expectKey("log_zero_guard_value", b -> b.logZeroGuardValue(0));
    expectKey("log_zero_guard_type", b -> b.logZeroGuardType("max"));
    expectKey("mel_norm", b -> b.melNorm("htk"));
    expectKey("preemph", b -> b.preemph(Double.NaN));
  }

  private static void expectKey(String key, UnaryOperator<PreprocessorParams.Builder> edit) {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class, () -> edit.apply(PreprocessorParams.builder()).build());
    assertTrue(
        e.getMessage().startsWith("model.preprocessor." + key + " "),
        "message should name model.preprocessor." + key + ": " + e.getMessage());
  }
}
