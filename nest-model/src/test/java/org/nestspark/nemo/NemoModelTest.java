package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The {@link NemoModel} holder: naming, immutability, config validation. */
class NemoModelTest {

  @Test
  void storesTensorsUnderTheirKeysAndKeepsOrder() {
    LinkedHashMap<String, NemoTensor> sd = new LinkedHashMap<>();
    sd.put("z.last", NemoTensor.of("whatever", new int[] {1}, new float[] {1}));
    sd.put("a.first", NemoTensor.of("a.first", new int[] {1}, new float[] {2}));
    NemoModel m = NemoModel.of(Map.of("target", "x.Y"), sd);
    assertEquals(List.of("z.last", "a.first"), List.copyOf(m.stateDict().keySet()));
    assertEquals("z.last", m.tensor("z.last").name());
    assertEquals(Optional.of("x.Y"), m.target());
    assertEquals(Optional.empty(), m.nemoVersion());
    assertEquals("target: x.Y\n", m.configYaml());
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> m.tensor("missing.key"));
    assertTrue(e.getMessage().contains("missing.key"));
    assertThrows(UnsupportedOperationException.class, () -> m.stateDict().clear());
    assertThrows(UnsupportedOperationException.class, () -> m.config().clear());
    sd.clear();
    assertEquals(2, m.stateDict().size(), "the model copied the map");
    NemoModel m2 =
        m.withStateDict(Map.of("only", NemoTensor.of("", new int[] {}, new double[] {1})))
            .withConfig(Map.of("nemo_version", "2.6.0rc0"));
    assertEquals(List.of("only"), List.copyOf(m2.stateDict().keySet()));
    assertEquals(Optional.of("2.6.0rc0"), m2.nemoVersion());
  }

  @Test
  void refusesConfigValuesYamlCannotHold() {
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("encoder", Map.of("file", new java.io.File("/x")));
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> NemoModel.of(cfg, Map.of()));
    assertTrue(e.getMessage().startsWith("encoder.file is a java.io.File"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class, () -> NemoModel.of(Map.of("m", Map.of(1, 2)), Map.of()));
    assertThrows(
        IllegalArgumentException.class,
        () -> NemoModel.of(Map.of(), Map.of("", NemoTensor.of("", new int[] {}, new long[] {1}))));
  }
}
