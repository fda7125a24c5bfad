package org.nestspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoYaml;

/**
 * Translates between a {@code .nemo}'s {@code model_config.yaml} (docs/nest-numerics.md §11: the model section of NeMo's
 * training config, {@code ${…}} resolved, {@code _target_} class paths kept) and nest-spark's
 * {@code model.*} configuration keys, which carry NeMo's names (reference.conf).
 *
 * <p><b>NeMo → nest-spark</b> ({@link #toOverrides}): every YAML leaf {@code a.b.c} whose key
 * {@code model.a.b.c} exists in reference.conf becomes an override of that key. The modules that make up
 * the model ({@code preprocessor}, {@code encoder}, {@code decoder}, {@code masking}, {@code quantizer},
 * {@code loss}) are checked strictly: their {@code _target_} must be NeMo's NEST class, and a key
 * nest-spark does not have is accepted only with the one value nest-spark implements (e.g.
 * {@code encoder.use_bias: true}, {@code preprocessor.exact_pad: false}); anything else is an error naming
 * the key and the value. Keys of the data, optimiser and augmentation sections that nest-spark does not
 * use (e.g. {@code train_ds.pin_memory}) are ignored and reported as notes, and so are the dataset paths
 * ({@code manifest_filepath}, {@code noise_manifest}: they name files on the machine that trained the model). The map {@code nest_spark}
 * (written by {@link #fromConfig}) carries nest-spark's own keys back.
 *
 * <p><b>nest-spark → NeMo</b> ({@link #fromConfig}): the structure, order and {@code _target_}s of NeMo's
 * NEST config (a copy of the golden {@code tiny_model_config.yaml}, resource
 * {@code nest_model_config_template.yaml}) with every value nest-spark has replaced by the resolved one;
 * keys NeMo's classes accept but the template lacks (e.g. {@code preprocessor.preemph},
 * {@code masking.max_mask_ratio}, {@code optim.eps}) are added to their section; nest-spark's other keys
 * (e.g. {@code batch_augmentor.skipped_rows}) and {@code data.seed} (which draws the frozen quantizer and
 * mask embedding, see {@link org.nestspark.ssl.SslModules}) go into a top-level {@code nest_spark} map of
 * {@code key: value}, which NeMo keeps but does not read.
 */
public final class NemoConfigs {
  /** The NeMo model class of NEST. */
  public static final String TARGET =
      "nemo.collections.asr.models.ssl_models.EncDecDenoiseMaskedTokenPredModel";

  /** The model classes whose state dict and config NEST's graph can take. */
  static final Set<String> TARGETS =
      Set.of(TARGET, "nemo.collections.asr.models.ssl_models.EncDecMaskedTokenPredModel");

  /** Top-level YAML map of nest-spark's own keys. */
  public static final String NEST_SPARK = "nest_spark";

  /** Sections that define the model: checked strictly, with the class their {@code _target_} must name. */
  private static final Map<String, String> MODULES =
      Map.of(
          "preprocessor", "AudioToMelSpectrogramPreprocessor",
          "encoder", "ConformerEncoder",
          "decoder", "MultiSoftmaxDecoder",
          "masking", "RandomBlockMasking",
          "quantizer", "RandomProjectionVectorQuantizer",
          "loss", "MultiMLMLoss");

  /**
   * NeMo keys of the model sections that nest-spark does not have as keys but implements with one value:
   * key → the accepted value ({@link #ANY} = any value is fine, the setting has no effect here).
   */
  private static final Object ANY = new Object();

  private static final Map<String, Object> FIXED = fixed();

  /** NeMo-accepted keys that the template lacks, added to their section on export. */
  private static final Map<String, List<String>> EXTRA_NEMO_KEYS =
      Map.of(
          "preprocessor",
              List.of(
                  "preemph",
                  "lowfreq",
                  "highfreq",
                  "mag_power",
                  "log_zero_guard_type",
                  "log_zero_guard_value"),
          "masking", List.of("max_mask_ratio"),
          "optim", List.of("eps"),
          "train_ds", List.of("min_audio_len_secs", "pad_audio_mode"),
          "validation_ds", List.of("drop_last", "min_audio_len_secs", "pad_audio_mode"));

  private NemoConfigs() {}

  /** reference.conf's leaf keys with their rendered defaults (parsed once). */
  private static final class Ref {
    static final Map<String, String> KEYS = NestConfig.referenceKeys();

    /** Keys whose default in reference.conf is a floating-point number. */
    static final Set<String> FLOATS = floats();

    /**
     * Typesafe Config reads {@code 0.0} as an int, so the float-ness of a default is taken from the text of
     * its line in reference.conf ({@code key = 0.0}).
     */
    private static Set<String> floats() {
      java.net.URL url = NestConfig.class.getResource("/reference.conf");
      Config ref = com.typesafe.config.ConfigFactory.parseURL(url).resolve();
      List<String> lines;
      try (InputStream in = url.openStream()) {
        lines = List.of(new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      java.util.regex.Pattern floatValue =
          java.util.regex.Pattern.compile(
              "^\\s*[A-Za-z_0-9]+\\s*=\\s*-?[0-9]+(\\.[0-9]*([eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)\\s*(#.*)?$");
      Set<String> out = new java.util.HashSet<>();
      for (String k : KEYS.keySet()) {
        if (!ref.hasPath(k)) {
          continue;
        }
        int line = ref.getValue(k).origin().lineNumber();
        if (line >= 1
            && line <= lines.size()
            && floatValue.matcher(lines.get(line - 1)).matches()) {
          out.add(k);
        }
      }
      return out;
    }
  }

  private static Map<String, Object> fixed() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("encoder.use_bias", true);
    m.put("encoder.att_context_style", "regular");
    m.put("encoder.conv_context_size", null);
    m.put("encoder.stochastic_depth_mode", ANY);
    m.put("encoder.stochastic_depth_start_layer", ANY);
    m.put("encoder.sync_max_audio_length", ANY);
    m.put("encoder.use_pytorch_sdpa", ANY);
    m.put("encoder.use_pytorch_sdpa_backends", ANY);
    m.put("encoder.reduction", null);
    m.put("encoder.reduction_position", ANY);
    m.put("encoder.reduction_factor", ANY);
    m.put("encoder.global_tokens", 0);
    m.put("encoder.global_tokens_spacing", ANY);
    m.put("encoder.global_attn_separate", ANY);
    m.put("preprocessor.exact_pad", false);
    m.put("preprocessor.stft_exact_pad", false);
    m.put("preprocessor.stft_conv", false);
    m.put("preprocessor.mel_norm", "slaney");
    m.put("preprocessor.use_torchaudio", false);
    m.put("preprocessor.nb_augmentation_prob", 0.0);
    m.put("preprocessor.nb_max_freq", ANY);
    m.put("preprocessor.rng", ANY);
    m.put("preprocessor.n_window_size", null);
    m.put("preprocessor.n_window_stride", null);
    m.put("masking.mask_value", null);
    m.put("quantizer.time_ahead", false);
    return m;
  }

  /** The result of reading a NeMo config: nest-spark overrides plus notes about what was ignored. */
  public record Mapping(List<String> overrides, List<String> notes) {}

  /**
   * The {@code key=value} overrides of nest-spark's configuration that describe the model of a
   * {@code model_config.yaml}.
   *
   * @param where how to name the config in messages (archive and member)
   * @throws NestConfigException listing every key that is unsupported (with its value and why)
   */
  public static Mapping toOverrides(Map<String, Object> yaml, String where) {
    Map<String, String> reference = Ref.KEYS;
    List<String> overrides = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    Object target = yaml.get("target");
    if (target == null) {
      problems.add("target: missing (expected " + TARGET + ")");
    } else if (!TARGETS.contains(target.toString())) {
      problems.add("target: " + target + " is not a NEST model (expected " + TARGET + ")");
    }
    for (String section : MODULES.keySet()) {
      if (!(yaml.get(section) instanceof Map)) {
        if (!section.equals("loss") && !section.equals("masking") && !section.equals("quantizer")) {
          problems.add(section + ": missing section");
        }
      }
    }
    for (Map.Entry<String, Object> e : yaml.entrySet()) {
      String k = e.getKey();
      if (k.equals("target") || k.equals("nemo_version")) {
        continue;
      }
      if (k.equals(NEST_SPARK)) {
        nestSpark(e.getValue(), reference, overrides, problems);
        continue;
      }
      walk(k, e.getValue(), reference, overrides, notes, problems);
    }
    if (!problems.isEmpty()) {
      List<String> msgs = new ArrayList<>();
      for (String p : problems) {
        msgs.add(where + ": " + p);
      }
      throw new NestConfigException(msgs);
    }
    return new Mapping(overrides, notes);
  }

  private static void nestSpark(
      Object v, Map<String, String> reference, List<String> overrides, List<String> problems) {
    if (!(v instanceof Map)) {
      problems.add(NEST_SPARK + ": expected a map of nest-spark keys");
      return;
    }
    for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
      String key = String.valueOf(e.getKey());
      if (!(key.startsWith("model.") || key.equals("data.seed")) || !reference.containsKey(key)) {
        problems.add(NEST_SPARK + "." + key + ": not a nest-spark model key");
        continue;
      }
      overrides.add(key + "=" + text(e.getValue()));
    }
  }

  private static void walk(
      String path,
      Object v,
      Map<String, String> reference,
      List<String> overrides,
      List<String> notes,
      List<String> problems) {
    String top = path.contains(".") ? path.substring(0, path.indexOf('.')) : path;
    boolean module = MODULES.containsKey(top);
    String ours = "model." + path;
    if (v instanceof Map && !reference.containsKey(ours)) {
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet()) {
        String k = String.valueOf(e.getKey());
        String child = path + "." + k;
        if (k.equals("_target_")) {
          String cls = String.valueOf(e.getValue());
          String want = MODULES.get(path);
          if (want != null && !(cls.equals(want) || cls.endsWith("." + want))) {
            problems.add(
                child
                    + ": "
                    + cls
                    + " is not supported (nest-spark implements NeMo's "
                    + want
                    + ")");
          } else if (want == null
              && !path.endsWith("batch_augmentor")
              && !path.equals("spec_augment")) {
            notes.add("ignored " + child + " = " + cls);
          }
          continue;
        }
        walk(child, e.getValue(), reference, overrides, notes, problems);
      }
      return;
    }
    if (path.endsWith(".manifest_filepath") || path.endsWith(".noise_manifest")) {
      // paths on the machine that trained the model: a run names its own data
      notes.add("ignored " + path + " = " + v);
      return;
    }
    if (reference.containsKey(ours)) {
      overrides.add(ours + "=" + text(v));
      return;
    }
    if (module) {
      if (!FIXED.containsKey(path)) {
        problems.add(path + ": unknown key (value " + v + "); nest-spark does not implement it");
        return;
      }
      Object want = FIXED.get(path);
      if (want != ANY && !sameValue(want, v)) {
        problems.add(
            path + ": value " + v + " is not supported (nest-spark implements " + want + ")");
      }
      return;
    }
    if (path.equals("spec_augment.freq_masks") || path.equals("spec_augment.time_masks")) {
      if (v instanceof Number && ((Number) v).doubleValue() != 0) {
        notes.add(
            "spec_augment."
                + path.substring(path.indexOf('.') + 1)
                + " = "
                + v
                + ": SpecAugment is not applied by nest-spark");
      }
      return;
    }
    if (!path.startsWith("spec_augment.")) {
      notes.add("ignored " + path + " = " + v);
    }
  }

  /** What {@link #trainingKeyProblem} returns for a key that has no effect in nest-spark. */
  static final String IGNORED = new String("ignored");

  /**
   * A key of a NeMo training config's {@code model} section that reference.conf lacks ({@code path} relative
   * to {@code model}), with the same rules as a {@code .nemo}'s config: {@code null} when nest-spark implements
   * the value, {@link #IGNORED} when the key has no effect here (data loader, SpecAugment, settings of
   * features nest-spark does not have at their inactive value), else why the value cannot be honoured.
   */
  static String trainingKeyProblem(String path, Object v) {
    String top = path.contains(".") ? path.substring(0, path.indexOf('.')) : path;
    if (path.endsWith("._target_")) {
      String section = path.substring(0, path.length() - "._target_".length());
      String want = MODULES.get(section);
      if (want == null && section.endsWith("batch_augmentor")) {
        want = "MultiSpeakerNoiseAugmentation";
      }
      if (want == null) {
        return IGNORED;
      }
      String cls = String.valueOf(v);
      return cls.equals(want) || cls.endsWith("." + want)
          ? null
          : cls + " is not supported (nest-spark implements NeMo's " + want + ")";
    }
    if (MODULES.containsKey(top)) {
      if (!FIXED.containsKey(path)) {
        return "unknown key (value " + v + "); nest-spark does not implement it";
      }
      Object want = FIXED.get(path);
      if (want == ANY) {
        return IGNORED;
      }
      return sameValue(want, v)
          ? null
          : "value " + v + " is not supported (nest-spark implements " + want + ")";
    }
    return IGNORED;
  }

  private static boolean sameValue(Object want, Object got) {
    if (want instanceof Number && got instanceof Number) {
      return ((Number) want).doubleValue() == ((Number) got).doubleValue();
    }
    return Objects.equals(want, got);
  }

  /** A YAML value as the text of a key=value override (see {@link org.nestspark.config.ConfigOverrides}). */
  static String text(Object v) {
    if (v == null) {
      return "null";
    }
    if (v instanceof List) {
      List<String> items = new ArrayList<>();
      for (Object o : (List<?>) v) {
        items.add(o instanceof String ? quote((String) o) : text(o));
      }
      return "[" + String.join(", ", items) + "]";
    }
    if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      return Double.isFinite(d) ? Double.toString(d) : "\"" + d + "\"";
    }
    return v.toString();
  }

  private static String quote(String s) {
    return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /**
   * Loads nest-spark's configuration for the model of a {@code .nemo}: presets, then the model's own
   * values ({@link #toOverrides}), then the user's overrides (which win).
   */
  public static NestConfig load(
      NemoModel model,
      String where,
      List<String> configFiles,
      List<String> userOverrides,
      Configuration hadoopConf,
      List<String> notesOut) {
    Mapping m = toOverrides(model.config(), where);
    notesOut.addAll(m.notes());
    List<String> all = new ArrayList<>(m.overrides());
    all.addAll(userOverrides);
    try {
      return NestConfig.load(configFiles, all, hadoopConf);
    } catch (NestConfigException e) {
      throw new NestConfigException(
          where + ": the model's config does not fit nest-spark: " + e.getMessage());
    }
  }

  // ------------------------------------------------------------------ nest-spark -> NeMo

  /** NeMo's {@code model_config.yaml} content for a nest-spark configuration (see the class description). */
  public static Map<String, Object> fromConfig(NestConfig c) {
    Map<String, Object> template = template();
    Config cfg = c.config();
    Set<String> written = new java.util.HashSet<>();
    @SuppressWarnings("unchecked")
    Map<String, Object> out = (Map<String, Object>) fill("", template, cfg, written);
    for (Map.Entry<String, List<String>> e : EXTRA_NEMO_KEYS.entrySet()) {
      @SuppressWarnings("unchecked")
      Map<String, Object> section = (Map<String, Object>) out.get(e.getKey());
      for (String k : e.getValue()) {
        String key = "model." + e.getKey() + "." + k;
        if (section != null && !section.containsKey(k)) {
          section.put(k, value(cfg, key));
          written.add(key);
        }
      }
    }
    Map<String, Object> own = new LinkedHashMap<>();
    for (String key : Ref.KEYS.keySet()) {
      if (key.startsWith("model.") && !written.contains(key)) {
        own.put(key, value(cfg, key));
      }
    }
    own.put("data.seed", value(cfg, "data.seed"));
    // keep NeMo's last two keys last
    Object target = out.remove("target");
    Object version = out.remove("nemo_version");
    out.put(NEST_SPARK, own);
    out.put("target", target);
    out.put("nemo_version", version);
    return out;
  }

  private static Object fill(String path, Object templateValue, Config cfg, Set<String> written) {
    String ours = "model." + path;
    if (!path.isEmpty() && Ref.KEYS.containsKey(ours)) {
      written.add(ours);
      return value(cfg, ours);
    }
    if (templateValue instanceof Map) {
      Map<String, Object> m = new LinkedHashMap<>();
      for (Map.Entry<?, ?> e : ((Map<?, ?>) templateValue).entrySet()) {
        String k = String.valueOf(e.getKey());
        m.put(k, fill(path.isEmpty() ? k : path + "." + k, e.getValue(), cfg, written));
      }
      return m;
    }
    return templateValue;
  }

  /** A resolved value as YAML would hold it (Integer, Long, Double, String, Boolean, List or null). */
  private static Object value(Config cfg, String key) {
    if (!cfg.hasPath(key)) {
      return null;
    }
    ConfigValue v = cfg.getValue(key);
    Object o = yamlValue(v.unwrapped());
    // NestConfig travels as JSON text, where 0.0 reads back as 0: keep floats where reference.conf
    // has a float
    if ((o instanceof Integer || o instanceof Long) && Ref.FLOATS.contains(key)) {
      return ((Number) o).doubleValue();
    }
    return o;
  }

  private static Object yamlValue(Object o) {
    if (o instanceof List) {
      List<Object> l = new ArrayList<>();
      for (Object x : (List<?>) o) {
        l.add(yamlValue(x));
      }
      return l;
    }
    if (o instanceof Float) {
      return ((Float) o).doubleValue();
    }
    return o;
  }

  /** The bundled copy of NeMo's NEST model config (the golden tiny config). */
  static Map<String, Object> template() {
    try (InputStream in =
        NemoConfigs.class.getResourceAsStream("nest_model_config_template.yaml")) {
      if (in == null) {
        throw new IllegalStateException(
            "missing resource org/nestspark/nemo/nest_model_config_template.yaml");
      }
      return NemoYaml.load(
          new String(in.readAllBytes(), StandardCharsets.UTF_8),
          "nest_model_config_template.yaml",
          null);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
