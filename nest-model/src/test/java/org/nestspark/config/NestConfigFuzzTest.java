package org.nestspark.config;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;

/**
 * Fuzz target of configuration loading (Jazzer; see {@code org.nestspark.audio.AudioFuzzTest} for the two
 * modes): the input up to its first NUL byte is a preset file (HOCON, or a NeMo training YAML when the
 * input starts with {@code #yaml}), each further NUL-separated part a {@code key=value} / {@code ++key=value}
 * / {@code ~key} override, all loaded, resolved and validated by {@link NestConfig#load}. It may refuse
 * any input with a {@link NestConfigException}; anything else is a finding.
 */
class NestConfigFuzzTest {
  private static final Configuration HADOOP = new Configuration(false);

  @FuzzTest(maxDuration = "30s")
  void config(byte[] data) throws IOException {
    String text = new String(data, StandardCharsets.UTF_8);
    String[] parts = text.split("\0", -1);
    boolean yaml = parts[0].startsWith("#yaml");
    Path preset = Files.createTempFile("fuzz-preset", yaml ? ".yaml" : ".conf");
    try {
      Files.writeString(preset, parts[0], StandardCharsets.UTF_8);
      List<String> overrides = new ArrayList<>(List.of(parts).subList(1, parts.length));
      NestConfig.load(List.of(preset.toString()), overrides, HADOOP);
    } catch (NestConfigException expected) {
      // refused with a reason
    } finally {
      Files.deleteIfExists(preset);
    }
  }
}
