package org.nestspark.nemo;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Fuzz targets of the {@code .nemo} parsers (Jazzer; see {@code org.nestspark.audio.AudioFuzzTest} for the
 * two modes): the YAML model config and the restricted unpickler of {@code model_weights.ckpt}'s
 * {@code data.pkl}. Each may refuse any input with an {@link IOException} ({@link NemoFormatException});
 * anything else is a finding.
 */
class NemoFuzzTest {
  @FuzzTest(maxDuration = "30s")
  void yaml(byte[] data) {
    try {
      NemoYaml.load(new String(data, StandardCharsets.UTF_8), "fuzz.nemo", "model_config.yaml");
    } catch (NemoFormatException expected) {
      // refused with a reason
    }
  }

  @FuzzTest(maxDuration = "30s")
  void pickle(byte[] data) {
    try {
      new RestrictedUnpickler(
              "fuzz.nemo",
              "data.pkl",
              data,
              (key, dtype, numel) -> {
                throw new NemoFormatException(
                    "fuzz.nemo", "data.pkl", "no tensor storages in a fuzzed pickle");
              })
          .load();
    } catch (IOException expected) {
      // refused with a reason
    }
  }
}
