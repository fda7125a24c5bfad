package org.nestspark.nemo;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.representer.Represent;
import org.yaml.snakeyaml.representer.Representer;

/**
 * {@code model_config.yaml} of a {@code .nemo} (docs/nest-numerics.md §11: the OmegaConf model section with every
 * interpolation resolved, plus {@code target} and {@code nemo_version}) to and from a
 * {@code Map<String, Object>}.
 *
 * <p>Loading uses snakeyaml's {@link SafeConstructor} (no Java classes are ever instantiated) with
 * limits: at most 50 aliases per collection, nesting depth 100, 16 MiB of text, no duplicate keys (as
 * OmegaConf refuses them), and timestamps kept as strings (OmegaConf has no date type). Values are
 * String, Integer/Long/BigInteger, Double, Boolean, null, List and LinkedHashMap, in document order.
 *
 * <p>Dumping writes block style with 2-space indentation and unindented sequences, as OmegaConf's
 * {@code to_yaml} (PyYAML) does, and floats the way PyYAML writes Python floats ({@code 1.0e-05},
 * {@code 5.0}, {@code 1.0e+16}, {@code .inf}); snakeyaml's own {@code 1.0E10} would be read back as a
 * string by PyYAML. The golden config dumps back byte-identical.
 */
public final class NemoYaml {
  public static final int MAX_CHARS = 16 << 20;

  private NemoYaml() {}

  /**
   * Parses a config; the document must be a mapping with string keys at the top level.
   *
   * @throws NemoFormatException on invalid YAML or a non-mapping document
   */
  public static Map<String, Object> load(String text, String archive, String member)
      throws NemoFormatException {
    LoaderOptions opts = new LoaderOptions();
    opts.setMaxAliasesForCollections(50);
    opts.setNestingDepthLimit(100);
    opts.setCodePointLimit(MAX_CHARS);
    opts.setAllowDuplicateKeys(false);
    opts.setAllowRecursiveKeys(false);
    Object doc;
    try {
      doc = new Yaml(new StringTimestampsConstructor(opts)).load(text);
    } catch (YAMLException | IllegalArgumentException e) {
      // IllegalArgumentException: a scalar SnakeYAML's resolver takes for a number but cannot
      // parse, e.g. a
      // 70-digit octal-looking int (found by fuzzing, NemoFuzzTest#yaml)
      throw new NemoFormatException(archive, member, "invalid YAML: " + e.getMessage(), e);
    }
    if (!(doc instanceof Map)) {
      throw new NemoFormatException(
          archive,
          member,
          "the config is not a YAML mapping but "
              + (doc == null ? "empty" : doc instanceof List ? "a sequence" : "a scalar"));
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) doc).entrySet()) {
      if (!(e.getKey() instanceof String)) {
        throw new NemoFormatException(
            archive, member, "top-level config key " + e.getKey() + " is not a string");
      }
      out.put((String) e.getKey(), e.getValue());
    }
    return freeze(out);
  }

  /** Block-style YAML of a config, as OmegaConf/PyYAML would write it. */
  public static String dump(Map<String, Object> config) {
    DumperOptions d = new DumperOptions();
    d.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
    d.setIndent(2);
    d.setIndicatorIndent(0);
    d.setAllowUnicode(true);
    d.setWidth(80);
    d.setLineBreak(DumperOptions.LineBreak.UNIX);
    return new Yaml(new PyRepresenter(d), d).dump(config);
  }

  /** A deep unmodifiable copy (maps keep their order). */
  @SuppressWarnings("unchecked")
  public static <T> T freeze(T value) {
    if (value instanceof Map) {
      Map<Object, Object> m = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
        m.put(e.getKey(), freeze(e.getValue()));
      }
      return (T) Collections.unmodifiableMap(m);
    }
    if (value instanceof List) {
      List<Object> l = new ArrayList<>();
      for (Object o : (List<?>) value) {
        l.add(freeze(o));
      }
      return (T) Collections.unmodifiableList(l);
    }
    return value;
  }

  /**
   * Python's {@code repr(float)} as PyYAML writes it: the shortest digits that read back to the same
   * double, positional notation for decimal exponents -4..15, else {@code d.ddde±XX}, always with a
   * {@code .} in the mantissa.
   */
  public static String pythonFloat(double v) {
    if (Double.isNaN(v)) {
      return ".nan";
    }
    if (Double.isInfinite(v)) {
      return v > 0 ? ".inf" : "-.inf";
    }
    if (v == 0) {
      return (1 / v < 0) ? "-0.0" : "0.0";
    }
    BigDecimal exact = new BigDecimal(Math.abs(v));
    BigDecimal shortest = null;
    for (int p = 1; p <= 17; p++) {
      BigDecimal r = exact.round(new MathContext(p, RoundingMode.HALF_EVEN));
      if (r.doubleValue() == Math.abs(v)) {
        shortest = r;
        break;
      }
    }
    if (shortest == null) {
      shortest = exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }
    shortest = shortest.stripTrailingZeros();
    String digits = shortest.unscaledValue().toString();
    int exp10 = digits.length() - 1 - shortest.scale();
    StringBuilder s = new StringBuilder(v < 0 ? "-" : "");
    if (exp10 >= -4 && exp10 < 16) {
      if (exp10 >= 0) {
        if (digits.length() <= exp10 + 1) {
          s.append(digits).append("0".repeat(exp10 + 1 - digits.length())).append(".0");
        } else {
          s.append(digits, 0, exp10 + 1).append('.').append(digits.substring(exp10 + 1));
        }
      } else {
        s.append("0.").append("0".repeat(-exp10 - 1)).append(digits);
      }
    } else {
      s.append(digits.charAt(0))
          .append('.')
          .append(digits.length() > 1 ? digits.substring(1) : "0");
      s.append('e').append(exp10 < 0 ? '-' : '+');
      int a = Math.abs(exp10);
      s.append(a < 10 ? "0" : "").append(a);
    }
    return s.toString();
  }

  /** SafeConstructor that keeps {@code !!timestamp} scalars as strings. */
  private static final class StringTimestampsConstructor extends SafeConstructor {
    StringTimestampsConstructor(LoaderOptions opts) {
      super(opts);
      this.yamlConstructors.put(Tag.TIMESTAMP, new ConstructYamlStr());
    }
  }

  /** Representer that writes floats as PyYAML does. */
  private static final class PyRepresenter extends Representer {
    PyRepresenter(DumperOptions d) {
      super(d);
      Represent floats =
          data -> representScalar(Tag.FLOAT, pythonFloat(((Number) data).doubleValue()));
      this.representers.put(Double.class, floats);
      this.representers.put(Float.class, floats);
    }
  }
}
