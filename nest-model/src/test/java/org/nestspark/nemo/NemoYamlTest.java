package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code model_config.yaml} parsing limits and PyYAML-compatible dumping. */
class NemoYamlTest {

  private static Map<String, Object> load(String yaml) throws NemoFormatException {
    return NemoYaml.load(yaml, "t.nemo", "./model_config.yaml");
  }

  @Test
  void floatsAreWrittenAsPythonReprThroughPyYaml() {
    // expected strings are what yaml.dump(float) writes in Python 3 (repr, then '.0' before 'e')
    String[][] cases = {
      {"5.0", "5.0"},
      {"1e-05", "1.0e-05"},
      {"0.0001", "0.0001"},
      {"1e16", "1.0e+16"},
      {"1.5e16", "1.5e+16"},
      {"1e15", "1000000000000000.0"},
      {"123456789012345.6", "123456789012345.6"},
      {"0.1", "0.1"},
      {"0.3333333333333333", "0.3333333333333333"},
      {"1e22", "1.0e+22"},
      {"4.9e-324", "5.0e-324"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"-0.0", "-0.0"},
      {"-2.5e-7", "-2.5e-07"},
      {"100.0", "100.0"},
      {"0.98", "0.98"},
    };
    for (String[] c : cases) {
      assertEquals(c[1], NemoYaml.pythonFloat(Double.parseDouble(c[0])), c[0]);
    }
    assertEquals(".nan", NemoYaml.pythonFloat(Double.NaN));
    assertEquals("-.inf", NemoYaml.pythonFloat(Double.NEGATIVE_INFINITY));
    // every dumped float reads back as the same double
    java.util.SplittableRandom r = new java.util.SplittableRandom(3);
    for (int i = 0; i < 20_000; i++) {
      double d = Double.longBitsToDouble(r.nextLong());
      if (Double.isNaN(d)) {
        continue;
      }
      assertEquals(d, Double.parseDouble(NemoYaml.pythonFloat(d).replace(".inf", "Infinity")));
    }
  }

  @Test
  void dumpsBlockStyleAndReadsBackTheSameValues() throws NemoFormatException {
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("lr", 5.0);
    cfg.put("min_lr", 1e-6);
    cfg.put("big", 1e10);
    cfg.put("betas", List.of(0.9, 0.98));
    cfg.put("looks_like_number", "1.0");
    cfg.put("looks_like_bool", "true");
    cfg.put("none", null);
    Map<String, Object> sub = new LinkedHashMap<>();
    sub.put("_target_", "nemo.collections.asr.modules.ConformerEncoder");
    sub.put("att_context_size", List.of(-1, -1));
    cfg.put("encoder", sub);
    String y = NemoYaml.dump(cfg);
    assertEquals(
        "lr: 5.0\nmin_lr: 1.0e-06\nbig: 10000000000.0\nbetas:\n- 0.9\n- 0.98\nlooks_like_number: '1.0'\n"
            + "looks_like_bool: 'true'\nnone: null\nencoder:\n  _target_: nemo.collections.asr.modules.ConformerEncoder\n"
            + "  att_context_size:\n  - -1\n  - -1\n",
        y);
    assertEquals(cfg, load(y));
  }

  @Test
  void refusesAliasBombsDuplicateKeysAndNonMappings() {
    StringBuilder bomb = new StringBuilder("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (char c = 'b'; c <= 'j'; c++) {
      bomb.append(c).append(": &").append(c).append(" [");
      for (int i = 0; i < 10; i++) {
        bomb.append(i == 0 ? "" : ", ").append('*').append((char) (c - 1));
      }
      bomb.append("]\n");
    }
    NemoFormatException e = assertThrows(NemoFormatException.class, () -> load(bomb.toString()));
    assertTrue(e.reason().startsWith("invalid YAML"), e.getMessage());
    assertTrue(
        assertThrows(NemoFormatException.class, () -> load("a: 1\na: 2\n"))
            .reason()
            .contains("duplicate"));
    assertTrue(
        assertThrows(NemoFormatException.class, () -> load("just a string"))
            .reason()
            .contains("not a YAML mapping"));
    assertTrue(
        assertThrows(NemoFormatException.class, () -> load("a: [unclosed"))
            .reason()
            .startsWith("invalid YAML"));
    assertTrue(
        assertThrows(NemoFormatException.class, () -> load("a: !!java.io.File /etc\n"))
            .reason()
            .startsWith("invalid YAML"));
  }

  @Test
  void keepsTimestampsAsStringsAndFreezesTheResult() throws NemoFormatException {
    Map<String, Object> m = load("when: 2024-01-02\nlist: [1, 2]\n");
    assertEquals("2024-01-02", m.get("when"));
    assertThrows(UnsupportedOperationException.class, () -> m.put("x", 1));
    assertThrows(UnsupportedOperationException.class, () -> ((List<?>) m.get("list")).clear());
  }
}
