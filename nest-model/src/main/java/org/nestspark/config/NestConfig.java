package org.nestspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.NestPaths;

/**
 * The one configuration tree of nest-spark: {@code reference.conf} (every default, NeMo's key names),
 * then presets ({@code --config FILE}, later files win), then {@code key=value} overrides as NeMo users
 * pass Hydra overrides. The result is resolved and validated before any work starts
 * ({@link NestConfigValidator}): an unknown key, a value of the wrong type or an impossible value throws a
 * {@link NestConfigException} that names each key and what is wrong.
 *
 * <p>Instances are immutable and serializable (the rendered tree travels to Spark executors).
 */
public final class NestConfig implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Top-level sections that belong to nest-spark; a user key outside them is unknown. */
  static final Set<String> ROOTS =
      Set.of(
          "model",
          "trainer",
          "exp_manager",
          "data",
          "featurize",
          "extract",
          "kmeans",
          "spark",
          "pretrain",
          "init_from_pretrained");

  private final String rendered;
  private final List<String> ignoredNemoKeys;
  private transient Config config;
  private transient NestSettings settings;

  /** {@code resolved} has passed {@link NestConfigValidator}; its typed settings are read here, once. */
  private NestConfig(Config resolved, List<String> ignoredNemoKeys) {
    this.config = resolved;
    this.rendered = resolved.root().render(ConfigRenderOptions.concise());
    this.ignoredNemoKeys = List.copyOf(ignoredNemoKeys);
    this.settings = NestSettings.read(resolved);
  }

  /** The defaults alone (reference.conf), resolved and validated. */
  public static NestConfig defaults() {
    return load(List.of(), List.of(), new Configuration(false));
  }

  /**
   * Loads presets and overrides on top of the reference, resolves and validates.
   *
   * @param configFiles preset files (HOCON, or NeMo training configs {@code *.yaml}: {@link NemoTrainingConfig};
   *     local paths or Hadoop URIs), later ones win
   * @param overrides {@code key=value}, {@code ++key=value} and {@code ~key} strings as Hydra takes them
   *     ({@link ConfigOverrides}), applied in order after the files
   * @param hadoopConf used to read the config files
   */
  public static NestConfig load(
      List<String> configFiles, List<String> overrides, Configuration hadoopConf) {
    Config reference = reference();
    Config typed = reference.resolve();
    Config user = ConfigFactory.empty();
    Set<String> yamlLeaves = new java.util.LinkedHashSet<>();
    for (String f : configFiles) {
      if (NemoTrainingConfig.isYaml(f)) {
        NemoTrainingConfig.Read yaml = NemoTrainingConfig.read(readText(f, hadoopConf), f);
        user = yaml.config().withFallback(user);
        yamlLeaves.addAll(yaml.leaves());
      } else {
        user = readFile(f, hadoopConf).withFallback(user);
      }
    }
    user = ConfigOverrides.apply(overrides, typed, user);
    List<String> ignored = List.of();
    if (!yamlLeaves.isEmpty()) {
      NemoTrainingConfig.Mapped mapped = NemoTrainingConfig.map(user, reference, yamlLeaves);
      user = mapped.config();
      ignored = mapped.ignored();
    }
    List<String> problems = new ArrayList<>(NestConfigValidator.checkKeysAndTypes(user, typed));
    if (!problems.isEmpty()) {
      throw new NestConfigException(problems);
    }
    Config resolved;
    try {
      resolved =
          user.withFallback(reference)
              .resolve(ConfigResolveOptions.defaults().setAllowUnresolved(false));
    } catch (ConfigException e) {
      throw new NestConfigException(e.getMessage());
    }
    NestConfigValidator.checkValues(resolved);
    return new NestConfig(resolved, ignored);
  }

  /** The unresolved reference tree (nest-spark's own reference.conf, not other libraries'). */
  static Config reference() {
    return Reference.TREE;
  }

  /** reference.conf, parsed once per JVM (a Config is immutable). */
  private static final class Reference {
    static final Config TREE = parse();
  }

  private static Config parse() {
    URL url = NestConfig.class.getResource("/reference.conf");
    Config all =
        ConfigFactory.parseURL(
            url, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setAllowMissing(false));
    // In a shaded jar reference.conf files of several libraries are concatenated: keep our
    // sections.
    Config ours = ConfigFactory.empty();
    for (String root : ROOTS) {
      if (all.hasPath(root)) {
        ours = ours.withValue(root, all.getValue(root));
      }
    }
    return ours;
  }

  private static String readText(String file, Configuration hadoopConf) {
    Path path = NestPaths.fromUserString(file);
    try {
      FileSystem fs = path.getFileSystem(hadoopConf);
      if (!fs.exists(path)) {
        throw new NestConfigException("--config " + file + ": no such file");
      }
      try (InputStream in = fs.open(path)) {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
    } catch (IOException e) {
      throw new NestConfigException("--config " + file + ": cannot read: " + e.getMessage());
    }
  }

  private static Config readFile(String file, Configuration hadoopConf) {
    Path path = NestPaths.fromUserString(file);
    try {
      FileSystem fs = path.getFileSystem(hadoopConf);
      if (!fs.exists(path)) {
        throw new NestConfigException("--config " + file + ": no such file");
      }
      String text;
      try (InputStream in = fs.open(path)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      ConfigDepth.check(text, "--config " + file);
      return ConfigFactory.parseString(
          text,
          ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF).setOriginDescription(file));
    } catch (ConfigException e) {
      throw new NestConfigException("--config " + file + ": " + e.getMessage());
    } catch (IOException e) {
      throw new NestConfigException("--config " + file + ": cannot read: " + e.getMessage());
    }
  }

  /**
   * The typed settings of the model's components (encoder, decoder, masking, quantizer, loss, optimiser,
   * augmentors), validated with the rest when this configuration was loaded.
   */
  public NestSettings settings() {
    if (settings == null) {
      settings = NestSettings.read(config());
    }
    return settings;
  }

  /** The resolved Typesafe tree. */
  public Config config() {
    if (config == null) {
      config =
          ConfigFactory.parseString(
              rendered, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.JSON));
    }
    return config;
  }

  /** A copy with more values set on the resolved tree (validated again; references such as model.optim.sched.d_model are not re-applied). */
  public NestConfig with(Map<String, Object> values) {
    Config c = config();
    for (Map.Entry<String, Object> e : values.entrySet()) {
      c = c.withValue(e.getKey(), ConfigValueFactory.fromAnyRef(e.getValue()));
    }
    List<String> problems = NestConfigValidator.checkKeysAndTypes(c, reference().resolve());
    if (!problems.isEmpty()) {
      throw new NestConfigException(problems);
    }
    NestConfigValidator.checkValues(c);
    return new NestConfig(c, ignoredNemoKeys);
  }

  /**
   * Keys of the NeMo YAML configs given to {@link #load} that nest-spark does not use (e.g.
   * {@code trainer.strategy}, {@code model.train_ds.pin_memory}), in document order; empty without a YAML.
   * The command line prints them on one warning line.
   */
  public List<String> ignoredNemoKeys() {
    return ignoredNemoKeys;
  }

  public int getInt(String key) {
    return config().getInt(key);
  }

  public long getLong(String key) {
    return config().getLong(key);
  }

  public double getDouble(String key) {
    return config().getDouble(key);
  }

  public boolean getBoolean(String key) {
    return config().getBoolean(key);
  }

  public String getString(String key) {
    return config().getString(key);
  }

  /** True when the key is present and not null. */
  public boolean isSet(String key) {
    return config().hasPath(key);
  }

  /**
   * A value NeMo lets be a string with commas or a list of strings (e.g. {@code manifest_filepath}):
   * the list of non-empty items, empty when the key is null.
   */
  public List<String> getStringList(String key) {
    Config c = config();
    if (!c.hasPath(key)) {
      return List.of();
    }
    ConfigValue v = c.getValue(key);
    List<String> out = new ArrayList<>();
    if (v.valueType() == ConfigValueType.LIST) {
      for (String s : c.getStringList(key)) {
        addCommaSeparated(out, s);
      }
    } else {
      addCommaSeparated(out, c.getString(key));
    }
    return out;
  }

  private static void addCommaSeparated(List<String> out, String s) {
    for (String part : s.split(",")) {
      String t = part.strip();
      if (!t.isEmpty()) {
        out.add(t);
      }
    }
  }

  /** The resolved tree as pretty HOCON, for run folders and provenance. */
  public String render() {
    return config()
        .root()
        .render(ConfigRenderOptions.defaults().setOriginComments(false).setJson(false));
  }

  /** The resolved tree as one-line JSON (stable key order). */
  public String renderJson() {
    return canonical(config().root());
  }

  /** SHA-256 of the canonical JSON form: equal configurations hash equal whatever the key order. */
  public String sha256() {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return HexFormat.of().formatHex(md.digest(renderJson().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String canonical(ConfigValue v) {
    if (v instanceof ConfigObject) {
      Map<String, ConfigValue> sorted = new TreeMap<>(((ConfigObject) v));
      StringBuilder sb = new StringBuilder("{");
      boolean first = true;
      for (Map.Entry<String, ConfigValue> e : sorted.entrySet()) {
        if (!first) {
          sb.append(',');
        }
        first = false;
        sb.append(ConfigValueFactory.fromAnyRef(e.getKey()).render(ConfigRenderOptions.concise()))
            .append(':')
            .append(canonical(e.getValue()));
      }
      return sb.append('}').toString();
    }
    return v.render(ConfigRenderOptions.concise());
  }

  /** Every leaf key of the reference with its default rendered, in file order (for docs and `nest config`). */
  public static Map<String, String> referenceKeys() {
    Map<String, String> out = new LinkedHashMap<>();
    NestConfigValidator.leaves(
        reference().resolve().root(),
        "",
        (k, v) -> out.put(k, v == null ? "null" : v.render(ConfigRenderOptions.concise())));
    return out;
  }

  @Override
  public String toString() {
    return render();
  }
}
