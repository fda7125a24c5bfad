package org.nestspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.nestspark.nemo.NemoFormatException;
import org.nestspark.nemo.NemoYaml;

/**
 * A NeMo training config as NeMo ships it (e.g. {@code examples/asr/conf/ssl/nest/nest_fast-conformer.yaml}:
 * {@code name}, {@code model}, {@code trainer}, {@code exp_manager}, OmegaConf {@code ${...}} interpolations)
 * given to {@code --config}. See {@code docs/nemo-yaml-configs.md} for the key mapping.
 *
 * <p><b>Reading</b> ({@link #read}): the YAML ({@link NemoYaml}) becomes a Typesafe tree in which every
 * interpolation is a substitution, so that it is resolved once, after the command line's settings: as in
 * NeMo, {@code model.encoder.subsampling_factor=4} also changes {@code model.quantizer.combine_time_steps:
 * ${model.encoder.subsampling_factor}}. Absolute ({@code ${model.sample_rate}}), relative ({@code ${.x}},
 * {@code ${..x}}) and string interpolations ({@code '${name}--{step}'}) are supported; resolvers
 * ({@code ${oc.env:X}}) are not. {@code ???} (OmegaConf's mandatory value) must be set by a later file or
 * setting. Numbers such as {@code 1e-3}, which YAML 1.1 reads as strings, are numbers, as OmegaConf reads them.
 *
 * <p><b>Mapping</b> ({@link #map}, on the tree after the settings): a key reference.conf has is taken;
 * NeMo's {@code trainer.gradient_clip_val} becomes {@code model.optim.gradient_clip_val}; a key of the
 * model's modules that nest-spark does not have is checked as for a {@code .nemo} ({@link NemoConfigs}:
 * {@code _target_}s must be NeMo's NEST classes, fixed-value keys must hold the value nest-spark implements);
 * a few settings nest-spark cannot honour stop the run (e.g. {@code use_lhotse: true}, a
 * W&amp;B logger); every other key is ignored and listed.
 */
public final class NemoTrainingConfig {
  /** OmegaConf's marker of a mandatory value. */
  static final String MISSING = "???";

  private static final Pattern OMEGACONF_FLOAT =
      Pattern.compile("[-+]?(\\d[\\d_]*)?(\\.\\d*)?([eE][-+]?\\d+)?");
  private static final Pattern INTERPOLATION_PATH =
      Pattern.compile("\\.*[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

  /** NeMo keys that nest-spark has under another name. */
  static final Map<String, String> RENAMED =
      Map.of("trainer.gradient_clip_val", "model.optim.gradient_clip_val");

  /** NeMo keys nest-spark cannot honour unless they hold an accepted value: key → (accepted?, why). */
  private static final Map<String, Refusal> REFUSED = refused();

  private record Refusal(Predicate<Object> accepted, String why) {}

  private NemoTrainingConfig() {}

  private static Map<String, Refusal> refused() {
    Predicate<Object> falseOrNull = v -> v == null || Boolean.FALSE.equals(v);
    Predicate<Object> isNull = v -> v == null;
    Map<String, Refusal> m = new LinkedHashMap<>();
    for (String ds : List.of("model.train_ds.", "model.validation_ds.")) {
      m.put(
          ds + "use_lhotse",
          new Refusal(
              falseOrNull,
              "Lhotse data loading is not supported; nest-spark reads NeMo manifests"));
      m.put(
          ds + "is_concat",
          new Refusal(
              falseOrNull,
              "concatenated datasets with sampling are not supported; list the manifests in manifest_filepath"));
      m.put(ds + "trim_silence", new Refusal(falseOrNull, "silence trimming is not implemented"));
    }
    m.put(
        "exp_manager.create_checkpoint_callback",
        new Refusal(
            v -> v == null || Boolean.TRUE.equals(v),
            "nest-spark always writes checkpoints (exp_manager.checkpoint_callback_params)"));
    m.put(
        "exp_manager.create_wandb_logger",
        new Refusal(falseOrNull, "Weights & Biases logging is not supported"));
    m.put(
        "exp_manager.create_mlflow_logger",
        new Refusal(falseOrNull, "MLflow logging is not supported"));
    m.put(
        "init_from_nemo_model",
        new Refusal(isNull, "use init_from_pretrained.path (a .nemo or a checkpoint)"));
    m.put(
        "init_from_pretrained_model",
        new Refusal(isNull, "pretrained models are not downloaded; use init_from_pretrained.path"));
    m.put(
        "init_from_ptl_ckpt",
        new Refusal(isNull, "use init_from_pretrained.path (a .nemo or a nest-spark checkpoint)"));
    return m;
  }

  /** True for a {@code --config} file that is a NeMo YAML config. */
  public static boolean isYaml(String file) {
    String f = file.toLowerCase(java.util.Locale.ROOT);
    return f.endsWith(".yaml") || f.endsWith(".yml");
  }

  /** A NeMo YAML config as an unresolved tree, and the paths of its leaves. */
  public record Read(Config config, Set<String> leaves) {}

  /**
   * Reads a NeMo training config (see the class description).
   *
   * @param file how to name the file in messages
   * @throws NestConfigException for invalid YAML or an interpolation nest-spark cannot read
   */
  public static Read read(String text, String file) {
    Map<String, Object> yaml;
    try {
      yaml = NemoYaml.load(text, file, null);
    } catch (NemoFormatException e) {
      throw new NestConfigException("--config " + file + ": " + e.getMessage());
    }
    StringBuilder hocon = new StringBuilder();
    Set<String> leaves = new LinkedHashSet<>();
    List<String> problems = new ArrayList<>();
    object(yaml, List.of(), hocon, leaves, problems);
    if (!problems.isEmpty()) {
      List<String> msgs = new ArrayList<>();
      for (String p : problems) {
        msgs.add("--config " + file + ": " + p);
      }
      throw new NestConfigException(msgs);
    }
    try {
      Config c =
          ConfigFactory.parseString(
              hocon.toString(),
              ConfigParseOptions.defaults()
                  .setSyntax(ConfigSyntax.CONF)
                  .setOriginDescription(file));
      return new Read(c, leaves);
    } catch (ConfigException e) {
      throw new NestConfigException("--config " + file + ": " + e.getMessage());
    }
  }

  private static void object(
      Map<?, ?> map,
      List<String> path,
      StringBuilder out,
      Set<String> leaves,
      List<String> problems) {
    out.append("{\n");
    for (Map.Entry<?, ?> e : map.entrySet()) {
      List<String> child = new ArrayList<>(path);
      child.add(String.valueOf(e.getKey()));
      out.append(ConfigUtil.quoteString(String.valueOf(e.getKey()))).append(" : ");
      value(e.getValue(), child, out, leaves, problems);
      out.append('\n');
    }
    out.append("}");
  }

  private static void value(
      Object v, List<String> path, StringBuilder out, Set<String> leaves, List<String> problems) {
    if (v instanceof Map && !((Map<?, ?>) v).isEmpty()) {
      object((Map<?, ?>) v, path, out, leaves, problems);
      return;
    }
    leaves.add(ConfigUtil.joinPath(path));
    if (v instanceof Map) {
      out.append("{}");
    } else if (v instanceof List) {
      out.append('[');
      boolean first = true;
      for (Object o : (List<?>) v) {
        out.append(first ? "" : ", ");
        first = false;
        if (o instanceof Map || o instanceof List) {
          out.append(ConfigValueFactory.fromAnyRef(o).render(ConfigRenderOptions.concise()));
        } else {
          scalar(o, path, out, problems);
        }
      }
      out.append(']');
    } else {
      scalar(v, path, out, problems);
    }
  }

  private static void scalar(
      Object v, List<String> path, StringBuilder out, List<String> problems) {
    if (v instanceof String s) {
      if (s.contains("${")) {
        interpolation(s, path, out, problems);
        return;
      }
      if (s.matches(".*\\d.*") && OMEGACONF_FLOAT.matcher(s).matches()) {
        out.append(Double.toString(Double.parseDouble(s.replace("_", ""))));
        return;
      }
      out.append(ConfigUtil.quoteString(s));
    } else if (v instanceof Double d && !Double.isFinite(d)) {
      out.append(ConfigUtil.quoteString(d.toString()));
    } else if (v == null) {
      out.append("null");
    } else {
      out.append(v); // Integer, Long, BigInteger, Double, Boolean
    }
  }

  /** {@code ${a.b}}, {@code '${a}-x-${.b}'} → HOCON substitutions (a concatenation when there is text around). */
  private static void interpolation(
      String s, List<String> path, StringBuilder out, List<String> problems) {
    String key = ConfigUtil.joinPath(path);
    List<String> parts = new ArrayList<>();
    int i = 0;
    StringBuilder literal = new StringBuilder();
    while (i < s.length()) {
      if (s.startsWith("\\${", i)) {
        literal.append("${");
        i += 3;
      } else if (s.startsWith("${", i)) {
        int end = s.indexOf('}', i);
        String ref = end < 0 ? "" : s.substring(i + 2, end);
        if (end < 0 || ref.contains("${")) {
          problems.add(
              key + ": nested or unterminated interpolation in '" + s + "' is not supported");
          return;
        }
        if (ref.contains(":")) {
          problems.add(
              key + ": the resolver ${" + ref + "} is not supported; give the value directly");
          return;
        }
        if (!INTERPOLATION_PATH.matcher(ref).matches()) {
          problems.add(key + ": interpolation ${" + ref + "} is not a config key");
          return;
        }
        String absolute = absolute(ref, path);
        if (absolute == null) {
          problems.add(
              key + ": relative interpolation ${" + ref + "} goes above the top of the config");
          return;
        }
        if (literal.length() > 0) {
          parts.add(ConfigUtil.quoteString(literal.toString()));
          literal.setLength(0);
        }
        List<String> elements = ConfigUtil.splitPath(absolute);
        StringBuilder sub = new StringBuilder("${");
        for (int k = 0; k < elements.size(); k++) {
          sub.append(k == 0 ? "" : ".").append(ConfigUtil.quoteString(elements.get(k)));
        }
        parts.add(sub.append('}').toString());
        i = end + 1;
      } else {
        literal.append(s.charAt(i++));
      }
    }
    if (literal.length() > 0) {
      parts.add(ConfigUtil.quoteString(literal.toString()));
    }
    out.append(String.join("", parts));
  }

  /** OmegaConf's {@code ${.x}} is a sibling of the node, {@code ${..x}} a sibling of its parent. */
  private static String absolute(String ref, List<String> path) {
    int dots = 0;
    while (dots < ref.length() && ref.charAt(dots) == '.') {
      dots++;
    }
    if (dots == 0) {
      return ref;
    }
    int keep = path.size() - dots; // the node's container is path minus its last element
    if (keep < 0) {
      return null;
    }
    List<String> base = new ArrayList<>(path.subList(0, keep));
    base.addAll(ConfigUtil.splitPath(ref.substring(dots)));
    return ConfigUtil.joinPath(base);
  }

  /** nest-spark's keys of a NeMo config, and the NeMo keys it ignores (in document order). */
  public record Mapped(Config config, List<String> ignored) {}

  /**
   * Resolves the user tree (files and settings; interpolations may point at reference.conf's defaults) and
   * maps it to nest-spark's keys (see the class description).
   *
   * @param user the merged files and settings, unresolved
   * @param reference reference.conf, unresolved
   * @param yamlLeaves leaf paths of the NeMo YAML files read into {@code user}
   * @throws NestConfigException naming every key that cannot be honoured, or an interpolation that does not resolve
   */
  public static Mapped map(Config user, Config reference, Set<String> yamlLeaves) {
    Config resolved;
    try {
      resolved = user.withFallback(reference).resolve();
    } catch (ConfigException e) {
      throw new NestConfigException("NeMo config: " + e.getMessage());
    }
    Config typed = reference.resolve();
    Config out = ConfigFactory.empty();
    List<String> ignored = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Map<String, ConfigValue> leaves = new LinkedHashMap<>();
    for (String p : paths(user.root(), "")) {
      ConfigValue v =
          resolved.hasPath(p) ? resolved.getValue(p) : ConfigValueFactory.fromAnyRef(null);
      expand(p, v, leaves);
    }
    for (Map.Entry<String, ConfigValue> e : leaves.entrySet()) {
      String key = e.getKey();
      ConfigValue v = e.getValue();
      Object raw = v.unwrapped();
      boolean fromYaml = fromYaml(key, yamlLeaves);
      if (MISSING.equals(raw) && (typed.hasPathOrNull(key) || RENAMED.containsKey(key))) {
        problems.add(
            key
                + ": ??? (a mandatory value the NeMo config leaves to the command line): give "
                + key
                + "=...");
        continue;
      }
      if (typed.hasPathOrNull(key) || !fromYaml) {
        out = out.withValue(key, v); // nest-spark's key (or a typo the validator names)
        continue;
      }
      if (RENAMED.containsKey(key)) {
        String ours = RENAMED.get(key);
        if (leaves.containsKey(ours)
            && !java.util.Objects.equals(leaves.get(ours).unwrapped(), raw)) {
          problems.add(
              key
                  + ": "
                  + raw
                  + " conflicts with "
                  + ours
                  + " = "
                  + leaves.get(ours).unwrapped()
                  + " (the same setting)");
        } else if (!leaves.containsKey(ours)) {
          out = out.withValue(ours, v);
        }
        continue;
      }
      Refusal r = REFUSED.get(key);
      if (r != null) {
        if (!r.accepted().test(raw)) {
          problems.add(key + ": " + raw + " cannot be honoured: " + r.why());
        } else {
          ignored.add(key);
        }
        continue;
      }
      if (key.startsWith("model.")) {
        String problem = NemoConfigs.trainingKeyProblem(key.substring("model.".length()), raw);
        if (problem == NemoConfigs.IGNORED) {
          ignored.add(key);
        } else if (problem != null) {
          problems.add(key + ": " + problem);
        }
        continue;
      }
      ignored.add(key);
    }
    if (!problems.isEmpty()) {
      throw new NestConfigException(problems);
    }
    List<String> order = new ArrayList<>(yamlLeaves);
    ignored.sort(java.util.Comparator.comparingInt(k -> documentIndex(k, order)));
    return new Mapped(out, ignored);
  }

  /** Where the key (or the interpolated object above it) stands in the YAML files, for document order. */
  private static int documentIndex(String key, List<String> order) {
    for (String k = key; ; k = k.substring(0, k.lastIndexOf('.'))) {
      int i = order.indexOf(k);
      if (i >= 0 || !k.contains(".")) {
        return i < 0 ? order.size() : i;
      }
    }
  }

  /** True when the key, or an interpolated object above it, is a leaf of a NeMo YAML file. */
  private static boolean fromYaml(String key, Set<String> yamlLeaves) {
    String k = key;
    while (true) {
      if (yamlLeaves.contains(k)) {
        return true;
      }
      int dot = k.lastIndexOf('.');
      if (dot < 0) {
        return false;
      }
      k = k.substring(0, dot);
    }
  }

  /** Paths of the user tree's values without touching unresolved ones (an object is walked, anything else is a path). */
  private static List<String> paths(ConfigObject obj, String prefix) {
    List<String> out = new ArrayList<>();
    for (String k : obj.keySet()) {
      String p = prefix.isEmpty() ? ConfigUtil.joinPath(k) : prefix + "." + ConfigUtil.joinPath(k);
      ConfigValue v = obj.get(k);
      if (v instanceof ConfigObject child && !child.isEmpty()) {
        out.addAll(paths(child, p));
      } else {
        out.add(p);
      }
    }
    return out;
  }

  private static void expand(String path, ConfigValue v, Map<String, ConfigValue> leaves) {
    if (v.valueType() == ConfigValueType.OBJECT && !((ConfigObject) v).isEmpty()) {
      for (Map.Entry<String, ConfigValue> e : ((ConfigObject) v).entrySet()) {
        expand(path + "." + ConfigUtil.joinPath(e.getKey()), e.getValue(), leaves);
      }
    } else {
      leaves.put(path, v);
    }
  }
}
