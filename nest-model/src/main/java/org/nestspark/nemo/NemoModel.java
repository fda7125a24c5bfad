package org.nestspark.nemo;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The content of a {@code .nemo} archive (docs/nest-numerics.md §11): the model config ({@code model_config.yaml},
 * as text and parsed), the state dict ({@code model_weights.ckpt}) in its saved order, the
 * OrderedDict's {@code _metadata} (module path → {@code {'version': n}}; empty when absent) and the
 * names of any other members (artifacts such as tokenizer files; NEST has none).
 *
 * <p>Immutable. Build one with {@link #of(Map, Map)} to write a new archive; {@link NemoArchive#read}
 * returns one for an existing archive.
 */
public final class NemoModel {
  private final String configYaml;
  private final Map<String, Object> config;
  private final Map<String, NemoTensor> stateDict;
  private final Map<String, Map<String, Object>> metadata;
  private final List<String> artifacts;

  NemoModel(
      String configYaml,
      Map<String, Object> config,
      Map<String, NemoTensor> stateDict,
      Map<String, Map<String, Object>> metadata,
      List<String> artifacts) {
    this.configYaml = Objects.requireNonNull(configYaml);
    checkYamlValue("config", config);
    this.config = NemoYaml.freeze(config);
    LinkedHashMap<String, NemoTensor> sd = new LinkedHashMap<>();
    for (Map.Entry<String, NemoTensor> e : stateDict.entrySet()) {
      String k = Objects.requireNonNull(e.getKey(), "state dict key");
      NemoTensor t = Objects.requireNonNull(e.getValue(), k);
      if (k.isEmpty()) {
        throw new IllegalArgumentException("empty state dict key");
      }
      sd.put(k, t.name().equals(k) ? t : t.withName(k));
    }
    this.stateDict = Collections.unmodifiableMap(sd);
    this.metadata = NemoYaml.freeze(new LinkedHashMap<>(metadata));
    this.artifacts = Collections.unmodifiableList(new ArrayList<>(artifacts));
  }

  /**
   * A model to write: a config (its {@code target} and {@code nemo_version} keys are what NeMo's
   * {@code restore_from} reads; NEST's target is
   * {@code nemo.collections.asr.models.ssl_models.EncDecDenoiseMaskedTokenPredModel}) and a state dict
   * in the order it is to be saved. Tensors are stored under their map keys.
   */
  public static NemoModel of(Map<String, Object> config, Map<String, NemoTensor> stateDict) {
    return new NemoModel(NemoYaml.dump(config), config, stateDict, Map.of(), List.of());
  }

  /** The same model with another state dict (config and metadata kept). */
  public NemoModel withStateDict(Map<String, NemoTensor> newStateDict) {
    return new NemoModel(configYaml, config, newStateDict, metadata, artifacts);
  }

  /** The same model with another config (re-dumped to YAML). */
  public NemoModel withConfig(Map<String, Object> newConfig) {
    return new NemoModel(NemoYaml.dump(newConfig), newConfig, stateDict, metadata, artifacts);
  }

  /**
   * The same model with an OrderedDict {@code _metadata} to save (module path → attributes, e.g.
   * {@code {'version': 2}} for a BatchNorm); an empty map saves none, which {@code load_state_dict}
   * accepts.
   */
  public NemoModel withMetadata(Map<String, Map<String, Object>> newMetadata) {
    return new NemoModel(configYaml, config, stateDict, newMetadata, artifacts);
  }

  /** The YAML text as read from the archive (or as it will be written for a model built here). */
  public String configYaml() {
    return configYaml;
  }

  /** The parsed config (deeply unmodifiable, in document order). */
  public Map<String, Object> config() {
    return config;
  }

  /** The config's {@code target} (the model class NeMo restores), if present. */
  public Optional<String> target() {
    Object t = config.get("target");
    return t == null ? Optional.empty() : Optional.of(t.toString());
  }

  /** The config's {@code nemo_version}, if present. */
  public Optional<String> nemoVersion() {
    Object v = config.get("nemo_version");
    return v == null ? Optional.empty() : Optional.of(v.toString());
  }

  /** The state dict, key → tensor, in saved order (unmodifiable). */
  public Map<String, NemoTensor> stateDict() {
    return stateDict;
  }

  /**
   * One tensor.
   *
   * @throws IllegalArgumentException naming the key when it is absent
   */
  public NemoTensor tensor(String key) {
    NemoTensor t = stateDict.get(key);
    if (t == null) {
      throw new IllegalArgumentException(
          "no tensor '" + key + "' in the state dict (" + stateDict.size() + " keys)");
    }
    return t;
  }

  /** The state dict's {@code _metadata} (empty when absent). */
  public Map<String, Map<String, Object>> metadata() {
    return metadata;
  }

  /** Names of the archive's other regular-file members, as stored; never written back. */
  public List<String> artifacts() {
    return artifacts;
  }

  /** Only what YAML (and OmegaConf) can hold: str, int, float, bool, null, lists and string-keyed maps. */
  private static void checkYamlValue(String where, Object v) {
    if (v == null
        || v instanceof String
        || v instanceof Boolean
        || v instanceof Integer
        || v instanceof Long
        || v instanceof java.math.BigInteger
        || v instanceof Double
        || v instanceof Float) {
      return;
    }
    if (v instanceof List) {
      int i = 0;
      for (Object o : (List<?>) v) {
        checkYamlValue(where + "[" + i++ + "]", o);
      }
      return;
    }
    if (v instanceof Map) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        if (!(e.getKey() instanceof String)) {
          throw new IllegalArgumentException(
              where + ": config key " + e.getKey() + " is not a string");
        }
        checkYamlValue(
            where.equals("config") ? (String) e.getKey() : where + "." + e.getKey(), e.getValue());
      }
      return;
    }
    throw new IllegalArgumentException(
        where
            + " is a "
            + v.getClass().getName()
            + "; a NeMo config holds only str, int, float, bool, null, lists and maps");
  }

  @Override
  public String toString() {
    return "NemoModel(" + target().orElse("?") + ", " + stateDict.size() + " tensors)";
  }
}
