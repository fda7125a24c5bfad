package org.nestspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueFactory;
import com.typesafe.config.ConfigValueType;
import java.util.List;

/**
 * Parses {@code key=value} overrides the way NeMo users write Hydra overrides on the command line:
 * {@code model.optim.lr=0.001 model.train_ds.manifest_filepath=hdfs://nn/corpus/train.json}.
 *
 * <p>The value is read according to the type of the key's default: keys whose default is a string (or
 * null) take the text literally, so paths with {@code //}, {@code :}, {@code #} or spaces need no quoting;
 * numbers, booleans and lists ({@code [0.9,0.98]}) are parsed as HOCON values. {@code null} sets a key to
 * null, and a value in {@code [...]} is a list for any key.
 *
 * <p>Hydra's forms are accepted: {@code +key=value} (add) and {@code ++key=value} (add or override) set the key
 * like {@code key=value} (every reference.conf key exists, so adding and overriding are the same here), and
 * {@code ~key} deletes the key from the configuration built so far (the presets, a NeMo YAML, earlier
 * overrides): a reference.conf key goes back to its default, a key of a NeMo YAML is dropped (so it is neither
 * used nor reported as ignored). Overrides apply in order.
 *
 * <p>Limits: a key has at most 64 dotted parts and a parsed value nests at most 64 levels ({@link ConfigDepth}).
 */
public final class ConfigOverrides {
  private ConfigOverrides() {}

  private static final String KEY = "[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*";

  /** The settings alone (no deletions allowed), as a tree. */
  public static Config parse(List<String> overrides, Config reference) {
    return apply(overrides, reference, ConfigFactory.empty());
  }

  /**
   * Applies the overrides in order to {@code user} (the configuration read so far).
   *
   * @param reference the resolved reference (for the type of each key's value)
   */
  public static Config apply(List<String> overrides, Config reference, Config user) {
    Config out = user;
    for (String raw : overrides) {
      if (raw.startsWith("~")) {
        String key = raw.substring(1).strip();
        ConfigDepth.checkKey(key, "override '" + abbreviate(raw) + "'");
        if (key.contains("=")) {
          throw new NestConfigException(
              "override '"
                  + raw
                  + "': ~key=value is not supported, write ~"
                  + key.substring(0, key.indexOf('=')));
        }
        if (!key.matches(KEY)) {
          throw new NestConfigException("override '" + raw + "': '" + key + "' is not a valid key");
        }
        if (!out.hasPathOrNull(key) && !reference.hasPathOrNull(key)) {
          throw new NestConfigException(
              "override '" + raw + "': " + key + " is not in the configuration, nothing to delete");
        }
        out = out.withoutPath(key);
        continue;
      }
      String arg =
          raw.startsWith("++") ? raw.substring(2) : raw.startsWith("+") ? raw.substring(1) : raw;
      int eq = arg.indexOf('=');
      if (eq <= 0) {
        throw new NestConfigException("override '" + raw + "': expected key=value");
      }
      String key = arg.substring(0, eq).strip();
      String text = arg.substring(eq + 1).strip();
      ConfigDepth.checkKey(key, "override '" + abbreviate(raw) + "'");
      if (!key.matches(KEY)) {
        throw new NestConfigException("override '" + raw + "': '" + key + "' is not a valid key");
      }
      out = out.withValue(key, value(key, text, reference));
    }
    return out;
  }

  private static ConfigValue value(String key, String text, Config reference) {
    if (text.equals("null")) {
      return ConfigValueFactory.fromAnyRef(null);
    }
    ConfigValueType type = reference.hasPath(key) ? reference.getValue(key).valueType() : null;
    boolean literal = type == null || type == ConfigValueType.STRING;
    if (literal && !(text.startsWith("[") && text.endsWith("]"))) {
      if (text.length() >= 2 && text.startsWith("\"") && text.endsWith("\"")) {
        text = text.substring(1, text.length() - 1);
      }
      return ConfigValueFactory.fromAnyRef(text);
    }
    ConfigDepth.check(text, key);
    try {
      Config c =
          ConfigFactory.parseString(
              "v = " + text, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF));
      return c.getValue("v");
    } catch (ConfigException e) {
      throw new NestConfigException(key + ": cannot parse value '" + text + "'");
    }
  }

  /** The start of a long override, for messages. */
  private static String abbreviate(String raw) {
    return raw.length() <= 80 ? raw : raw.substring(0, 80) + "...";
  }
}
