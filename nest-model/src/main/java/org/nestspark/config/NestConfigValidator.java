package org.nestspark.config;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Checks a configuration before any data moves: every user key must exist in {@code reference.conf}
 * (with a "did you mean" hint), have the type of its default, and every value must be possible
 * ({@code n_fft} at least the window, positive batch sizes, probabilities in [0, 1], ...). All problems
 * are collected and reported at once, each as {@code key: what is wrong}.
 */
final class NestConfigValidator {
  private NestConfigValidator() {}

  /** Unknown keys and type mismatches of the user's tree against the (resolved) reference. */
  static List<String> checkKeysAndTypes(Config user, Config reference) {
    List<String> problems = new ArrayList<>();
    List<String> known = new ArrayList<>();
    leaves(reference.root(), "", (k, v) -> known.add(k));
    leaves(
        user.root(),
        "",
        (key, value) -> {
          String root = key.contains(".") ? key.substring(0, key.indexOf('.')) : key;
          if (!NestConfig.ROOTS.contains(root) || !reference.hasPathOrNull(key)) {
            // a user object where the reference has a leaf (or nothing) is unknown too
            problems.add(key + ": unknown key" + suggestion(key, known));
            return;
          }
          if (value == null || reference.getIsNull(key)) {
            return; // null is allowed everywhere; a null default accepts any type
          }
          ConfigValue ref = reference.getValue(key);
          if (ref.valueType() == ConfigValueType.OBJECT) {
            problems.add(key + ": is a section, not a value");
            return;
          }
          String wrong = typeProblem(ref, value);
          if (wrong != null) {
            problems.add(key + ": " + wrong);
          }
        });
    return problems;
  }

  private static String typeProblem(ConfigValue ref, ConfigValue value) {
    ConfigValueType want = ref.valueType();
    ConfigValueType got = value.valueType();
    if (want == got) {
      return null;
    }
    String shown = value.render(ConfigRenderOptions.concise());
    if (want == ConfigValueType.NUMBER && got == ConfigValueType.STRING) {
      try {
        Double.parseDouble(((String) value.unwrapped()).strip());
        return null;
      } catch (NumberFormatException e) {
        return "expected a number, got " + shown;
      }
    }
    if (want == ConfigValueType.BOOLEAN && got == ConfigValueType.STRING) {
      String s = ((String) value.unwrapped()).strip().toLowerCase(Locale.ROOT);
      if (Set.of("true", "false", "yes", "no", "on", "off").contains(s)) {
        return null;
      }
      return "expected true or false, got " + shown;
    }
    if (want == ConfigValueType.STRING
        && (got == ConfigValueType.NUMBER || got == ConfigValueType.BOOLEAN)) {
      return null; // HOCON reads unquoted 123 as a number; a string key takes its text
    }
    return "expected " + name(want) + ", got " + name(got) + " " + shown;
  }

  private static String name(ConfigValueType t) {
    switch (t) {
      case NUMBER:
        return "a number";
      case BOOLEAN:
        return "true or false";
      case STRING:
        return "a string";
      case LIST:
        return "a list";
      case OBJECT:
        return "a section";
      default:
        return t.name().toLowerCase(Locale.ROOT);
    }
  }

  private static String suggestion(String key, List<String> known) {
    String best = null;
    int bestD = Integer.MAX_VALUE;
    for (String k : known) {
      int d = levenshtein(key, k);
      if (d < bestD) {
        bestD = d;
        best = k;
      }
    }
    String last = key.substring(key.lastIndexOf('.') + 1);
    for (String k : known) { // same leaf name in another section, e.g. model.batch_size
      if (k.endsWith("." + last) && bestD > 2) {
        best = k;
        bestD = 0;
        break;
      }
    }
    return best != null && bestD <= Math.max(3, key.length() / 4)
        ? " (did you mean " + best + "?)"
        : "";
  }

  static int levenshtein(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int c = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + c);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** Visits every leaf (including nulls and lists) with its dotted path. */
  static void leaves(ConfigObject obj, String prefix, BiConsumer<String, ConfigValue> visit) {
    for (Map.Entry<String, ConfigValue> e : obj.entrySet()) {
      String key =
          prefix.isEmpty() ? quoteIfNeeded(e.getKey()) : prefix + "." + quoteIfNeeded(e.getKey());
      ConfigValue v = e.getValue();
      if (v != null && v.valueType() == ConfigValueType.OBJECT) {
        leaves((ConfigObject) v, key, visit);
      } else {
        visit.accept(key, v == null || v.valueType() == ConfigValueType.NULL ? null : v);
      }
    }
  }

  /** The key as one element of a path expression: plain, or a JSON-escaped quoted string (any character). */
  private static String quoteIfNeeded(String k) {
    return k.matches("[A-Za-z0-9_-]+") ? k : com.typesafe.config.ConfigUtil.quoteString(k);
  }

  /** Impossible values in the resolved tree. Throws with every problem found. */
  static void checkValues(Config c) {
    Checks k = new Checks(c);
    k.positiveInt("model.sample_rate");
    k.positiveInt("model.num_classes");
    k.positiveInt("model.num_books");
    k.positiveInt("model.code_dim");
    k.oneOf("model.mask_position", "pre_conv");
    k.autoOrPositiveInt("trainer.batch_slices");
    k.bool("trainer.sync_batchnorm");
    k.oneOf("model.kernels", "auto", "java", "nd4j");
    for (String ds : List.of("model.train_ds", "model.validation_ds")) {
      k.positiveInt(ds + ".sample_rate");
      k.positiveInt(ds + ".batch_size");
      k.positiveOrNull(ds + ".batch_duration");
      k.positiveInt(ds + ".num_buckets");
      k.positiveOrNull(ds + ".quadratic_duration");
      k.bool(ds + ".shuffle");
      k.bool(ds + ".drop_last");
      k.nonNegative(ds + ".min_duration");
      k.nonNegative(ds + ".max_duration");
      k.ordered(ds + ".min_duration", ds + ".max_duration");
      k.nonNegative(ds + ".min_audio_len_secs");
      k.oneOf(ds + ".pad_audio_mode", "repeat", "zero");
      k.bool(ds + ".is_tarred");
      k.nonNegativeInt(ds + ".shuffle_n");
      k.oneOf(ds + ".tarred_shard_strategy", "scatter", "replicate");
      k.tarred(ds);
      String a = ds + ".batch_augmentor";
      k.probability(a + ".prob");
      k.probability(a + ".noise_ratio");
      k.ordered(a + ".min_r_speech", a + ".max_r_speech");
      k.ordered(a + ".min_r_noise", a + ".max_r_noise");
      k.probability(a + ".min_mix_rate");
      k.probability(a + ".max_mix_rate");
      k.ordered(a + ".min_mix_rate", a + ".max_mix_rate");
      k.positiveInt(a + ".min_num_segments");
      k.ordered(a + ".min_num_segments", a + ".max_num_segments");
      k.positiveInt(a + ".min_num_speakers");
      k.ordered(a + ".min_num_speakers", a + ".max_num_speakers");
      k.oneOf(a + ".skipped_rows", "clean", "raw_noise");
    }
    String p = "model.preprocessor";
    k.positiveInt(p + ".sample_rate");
    k.equal(p + ".sample_rate", "model.sample_rate");
    k.oneOf(p + ".normalize", "per_feature", "all_features", "none");
    k.positive(p + ".window_size");
    k.positive(p + ".window_stride");
    k.oneOf(p + ".window", "hann", "hamming", "blackman", "bartlett", "none");
    k.positiveInt(p + ".features");
    k.positiveInt(p + ".n_fft");
    k.bool(p + ".log");
    k.oneOfInt(p + ".frame_splicing", 1);
    k.nonNegative(p + ".dither");
    k.nonNegativeInt(p + ".pad_to");
    k.range(p + ".preemph", 0.0, 1.0);
    k.nonNegative(p + ".lowfreq");
    k.positive(p + ".mag_power");
    k.oneOf(p + ".log_zero_guard_type", "add", "clamp");
    k.positive(p + ".log_zero_guard_value");
    if (k.ok(p + ".sample_rate", p + ".window_size", p + ".n_fft", p + ".window_stride")) {
      int sr = c.getInt(p + ".sample_rate");
      int win = (int) (c.getDouble(p + ".window_size") * sr);
      int hop = (int) (c.getDouble(p + ".window_stride") * sr);
      if (c.getInt(p + ".n_fft") < win) {
        k.add(
            p + ".n_fft",
            c.getInt(p + ".n_fft")
                + " is smaller than the window ("
                + p
                + ".window_size = "
                + win
                + " samples)");
      }
      if (hop < 1) {
        k.add(p + ".window_stride", "is shorter than one sample");
      }
      if (c.hasPath(p + ".highfreq") && k.ok(p + ".highfreq", p + ".lowfreq")) {
        double hi = k.number(p + ".highfreq");
        if (hi <= c.getDouble(p + ".lowfreq") || hi > sr / 2.0) {
          k.add(
              p + ".highfreq",
              hi + " must be above lowfreq and at most sample_rate / 2 = " + sr / 2.0);
        }
      }
    }
    String m = "model.masking";
    k.positiveInt(m + ".block_size");
    k.probability(m + ".mask_prob");
    k.positiveInt(m + ".feat_in");
    k.equal(m + ".feat_in", p + ".features");
    k.bool(m + ".allow_overlap");
    k.range(m + ".max_mask_ratio", 0.0, 1.0);
    String q = "model.quantizer";
    k.oneOf(q + ".dist_fn", "l2");
    k.positiveInt(q + ".combine_time_steps");
    k.equal(q + ".feat_in", p + ".features");
    String e = "model.encoder";
    k.positiveInt(e + ".n_layers");
    k.positiveInt(e + ".d_model");
    k.positiveInt(e + ".n_heads");
    if (k.ok(e + ".d_model", e + ".n_heads")
        && c.getInt(e + ".n_heads") > 0
        && c.getInt(e + ".d_model") % c.getInt(e + ".n_heads") != 0) {
      k.add(
          e + ".n_heads",
          c.getInt(e + ".n_heads") + " does not divide d_model " + c.getInt(e + ".d_model"));
    }
    k.equal(e + ".feat_in", p + ".features");
    k.oneOf(e + ".subsampling", "dw_striding");
    k.oneOfInt(e + ".subsampling_factor", 2, 4, 8, 16);
    k.equal(q + ".combine_time_steps", e + ".subsampling_factor");
    k.equal("model.loss.combine_time_steps", e + ".subsampling_factor");
    k.positiveInt(e + ".subsampling_conv_channels");
    k.positiveInt(e + ".ff_expansion_factor");
    k.oneOf(e + ".self_attention_model", "rel_pos");
    k.positiveInt(e + ".conv_kernel_size");
    if (k.ok(e + ".conv_kernel_size") && c.getInt(e + ".conv_kernel_size") % 2 == 0) {
      k.add(e + ".conv_kernel_size", "must be odd, got " + c.getInt(e + ".conv_kernel_size"));
    }
    k.oneOf(e + ".conv_norm_type", "batch_norm", "layer_norm");
    for (String d : List.of("dropout", "dropout_pre_encoder", "dropout_emb", "dropout_att")) {
      k.range(e + "." + d, 0.0, 1.0);
    }
    k.range(e + ".stochastic_depth_drop_prob", 0.0, 0.0);
    // settings NeMo has that nest-spark supports in one form only (the graph is built without them)
    if (c.getBoolean(e + ".causal_downsampling")) {
      k.add(e + ".causal_downsampling", "only false is supported");
    }
    if (!c.getBoolean(e + ".untie_biases")) {
      k.add(e + ".untie_biases", "only true (per-layer pos_bias_u/v) is supported");
    }
    if (c.getInt(e + ".feat_out") != -1) {
      k.add(e + ".feat_out", "only -1 (no output projection) is supported");
    }
    List<Integer> ctx = c.getIntList(e + ".att_context_size");
    if (ctx.size() != 2 || ctx.get(0) != -1 || ctx.get(1) != -1) {
      k.add(e + ".att_context_size", "only [-1, -1] (full attention) is supported");
    }
    String dec = "model.decoder";
    if (c.getInt(dec + ".feat_in") != c.getInt(e + ".d_model")) {
      k.add(
          dec + ".feat_in",
          c.getInt(dec + ".feat_in")
              + " must equal model.encoder.d_model "
              + c.getInt(e + ".d_model"));
    }
    if (c.getInt(dec + ".num_classes") != c.getInt("model.num_classes")) {
      k.add(dec + ".num_classes", "must equal model.num_classes");
    }
    if (c.getInt(dec + ".num_decoders") != c.getInt("model.num_books")) {
      k.add(dec + ".num_decoders", "must equal model.num_books");
    }
    k.range("model.loss.mask_threshold", 0.0, 1.0);
    String o = "model.optim";
    k.oneOf(o + ".name", "adamw");
    k.positive(o + ".lr");
    k.positive(o + ".eps");
    k.nonNegative(o + ".weight_decay");
    k.nonNegative(o + ".gradient_clip_val");
    k.betas(o + ".betas");
    k.oneOf(o + ".sched.name", "NoamAnnealing");
    k.nonNegativeInt(o + ".sched.warmup_steps");
    k.nonNegative(o + ".sched.min_lr");
    if (c.hasPath(o + ".sched.warmup_ratio")) {
      double ratio = c.getDouble(o + ".sched.warmup_ratio");
      if (!(ratio >= 0 && ratio <= 1)) {
        k.add(o + ".sched.warmup_ratio", "must be in [0, 1], got " + ratio);
      } else if (c.getLong("trainer.max_steps") <= 0) {
        k.add(
            o + ".sched.warmup_ratio",
            "needs trainer.max_steps > 0, got " + c.getLong("trainer.max_steps"));
      }
    }
    k.minusOneOrPositive("trainer.max_epochs");
    k.minusOneOrPositive("trainer.max_steps");
    k.positiveInt("trainer.val_check_interval");
    k.positiveInt("trainer.log_every_n_steps");
    k.oneOfInt("trainer.accumulate_grad_batches", 1);
    k.oneOfInt("trainer.precision", 32);
    k.bool("exp_manager.resume_if_exists");
    k.oneOf("exp_manager.checkpoint_callback_params.mode", "min", "max");
    k.nonNegativeInt("exp_manager.checkpoint_callback_params.save_top_k");
    k.nonNegativeInt("exp_manager.checkpoint_callback_params.every_n_train_steps");
    k.nonNegativeInt("exp_manager.checkpoint_callback_params.save_last_k");
    if (c.hasPath("exp_manager.max_time_per_run")) {
      try {
        MaxTimePerRun.parse(c.getValue("exp_manager.max_time_per_run").unwrapped().toString());
      } catch (IllegalArgumentException bad) {
        k.add("exp_manager.max_time_per_run", bad.getMessage());
      }
    }
    k.oneOf("pretrain.strategy", "parameter_averaging", "diloco");
    k.nonNegativeInt("pretrain.num_workers");
    k.positiveInt("pretrain.averaging_frequency");
    k.bool("pretrain.average_updater_state");
    k.positiveInt("pretrain.diloco.inner_steps");
    k.range("pretrain.diloco.outer_lr", 1.0e-6, 10.0);
    k.range("pretrain.diloco.outer_momentum", 0.0, 0.999);
    k.bool("pretrain.diloco.nesterov");
    k.oneOf("pretrain.diloco.delta_dtype", "float32", "bfloat16", "float16");
    k.nonNegativeInt("pretrain.prefetch_batches");
    k.nonNegativeInt("pretrain.worker_slots");
    k.positiveInt("pretrain.bucket_batches");
    k.positiveInt("pretrain.lock_ttl_seconds");
    k.positiveInt("pretrain.lock_heartbeat_seconds");
    k.ordered("pretrain.lock_heartbeat_seconds", "pretrain.lock_ttl_seconds");
    k.oneOf("data.on_error", "skip", "fail");
    k.bool("data.downmix");
    k.bool("data.resample");
    k.positiveInt("data.tar_buffer_mb");
    k.nonNegativeInt("featurize.num_partitions");
    k.bool("featurize.overwrite");
    k.nonNegativeInt("featurize.progress_interval_seconds");
    k.oneOf("featurize.format", "npy", "tar");
    k.oneOf("extract.format", "npy", "parquet");
    k.positiveInt("extract.batch_size");
    k.nonNegativeInt("extract.num_partitions");
    k.bool("extract.overwrite");
    k.nonNegativeInt("extract.progress_interval_seconds");
    k.oneOf("model.targets", "quantizer", "labels");
    if (k.ok("model.targets")
        && "labels".equals(c.getString("model.targets"))
        && k.ok("model.num_books")
        && c.getInt("model.num_books") != 1) {
      k.add(
          "model.num_books",
          "must be 1 with model.targets = labels (one label sequence per utterance), got "
              + c.getInt("model.num_books"));
    }
    k.oneOf("kmeans.features", "mfcc", "logmel", "layer");
    k.integer("kmeans.layer");
    k.positiveInt("kmeans.num_clusters");
    k.positiveInt("kmeans.max_iter");
    k.positiveInt("kmeans.init_steps");
    k.nonNegative("kmeans.tol");
    k.range("kmeans.sample_fraction", 0.0, 1.0);
    if (k.ok("kmeans.sample_fraction") && c.getDouble("kmeans.sample_fraction") == 0.0) {
      k.add("kmeans.sample_fraction", "must be above 0 (no frame would be sampled)");
    }
    k.positiveInt("kmeans.fit_partitions");
    k.positiveInt("kmeans.batch_size");
    k.nonNegativeInt("kmeans.num_partitions");
    k.bool("kmeans.overwrite");
    k.nonNegativeInt("kmeans.progress_interval_seconds");
    if (!k.problems.isEmpty()) {
      throw new NestConfigException(k.problems);
    }
  }

  /** Small typed checks that record "key: problem" instead of throwing. */
  private static final class Checks {
    final Config c;
    final List<String> problems = new ArrayList<>();
    final Set<String> bad = new java.util.HashSet<>();

    Checks(Config c) {
      this.c = c;
    }

    void add(String key, String problem) {
      problems.add(key + ": " + problem);
      bad.add(key);
    }

    boolean ok(String... keys) {
      for (String key : keys) {
        if (bad.contains(key)) {
          return false;
        }
      }
      return true;
    }

    Double number(String key) {
      if (!c.hasPathOrNull(key) || c.getIsNull(key)) {
        add(key, "must be set");
        return null;
      }
      try {
        return c.getDouble(key);
      } catch (ConfigException.WrongType e) {
        add(key, "expected a number, got " + c.getValue(key).render(ConfigRenderOptions.concise()));
        return null;
      }
    }

    Integer integer(String key) {
      Double d = number(key);
      if (d == null) {
        return null;
      }
      if (d != Math.rint(d) || Math.abs(d) > Integer.MAX_VALUE) {
        add(key, "expected a whole number, got " + d);
        return null;
      }
      return d.intValue();
    }

    void positiveInt(String key) {
      Integer v = integer(key);
      if (v != null && v <= 0) {
        add(key, "must be positive, got " + v);
      }
    }

    void nonNegativeInt(String key) {
      Integer v = integer(key);
      if (v != null && v < 0) {
        add(key, "must not be negative, got " + v);
      }
    }

    void minusOneOrPositive(String key) {
      Integer v = integer(key);
      if (v != null && v != -1 && v <= 0) {
        add(key, "must be -1 (no limit) or positive, got " + v);
      }
    }

    void positive(String key) {
      Double v = number(key);
      if (v != null && !(v > 0) || v != null && v.isInfinite()) {
        add(key, "must be positive and finite, got " + v);
      }
    }

    /** Unset/null, or a positive finite number (e.g. batch_duration). */
    void positiveOrNull(String key) {
      if (!c.hasPathOrNull(key) || c.getIsNull(key)) {
        return;
      }
      positive(key);
    }

    void nonNegative(String key) {
      Double v = number(key);
      if (v != null && !(v >= 0) || v != null && v.isInfinite()) {
        add(key, "must not be negative, got " + v);
      }
    }

    void probability(String key) {
      range(key, 0.0, 1.0);
    }

    void range(String key, double lo, double hi) {
      Double v = number(key);
      if (v != null && !(v >= lo && v <= hi)) {
        add(key, "must be in [" + lo + ", " + hi + "], got " + v);
      }
    }

    void ordered(String lo, String hi) {
      if (!ok(lo, hi) || !c.hasPath(lo) || !c.hasPath(hi)) {
        return;
      }
      try {
        if (c.getDouble(lo) > c.getDouble(hi)) {
          add(hi, "must be at least " + lo + " (" + c.getDouble(lo) + "), got " + c.getDouble(hi));
        }
      } catch (ConfigException.WrongType e) {
        // reported by the individual checks
      }
    }

    void equal(String key, String other) {
      if (!ok(key, other) || !c.hasPath(key) || !c.hasPath(other)) {
        return;
      }
      try {
        if (c.getDouble(key) != c.getDouble(other)) {
          add(
              key,
              "must equal "
                  + other
                  + " ("
                  + c.getValue(other).unwrapped()
                  + "), got "
                  + c.getValue(key).unwrapped());
        }
      } catch (ConfigException.WrongType e) {
        add(key, "expected a number");
      }
    }

    void autoOrPositiveInt(String key) {
      if (!c.hasPath(key)) {
        add(key, "must be set (auto or a positive integer)");
        return;
      }
      String v = c.getValue(key).unwrapped().toString().strip();
      if (v.equals("auto")) {
        return;
      }
      try {
        if (Integer.parseInt(v) >= 1) {
          return;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      add(key, "'" + v + "' is not supported; expected auto or a positive integer");
    }

    void oneOf(String key, String... allowed) {
      if (!c.hasPath(key)) {
        add(key, "must be set (one of " + String.join(", ", allowed) + ")");
        return;
      }
      String v = c.getValue(key).unwrapped().toString();
      for (String a : allowed) {
        if (a.equals(v)) {
          return;
        }
      }
      add(key, "'" + v + "' is not supported; expected one of " + String.join(", ", allowed));
    }

    void oneOfInt(String key, int... allowed) {
      Integer v = integer(key);
      if (v == null) {
        return;
      }
      StringBuilder sb = new StringBuilder();
      for (int a : allowed) {
        if (a == v) {
          return;
        }
        sb.append(sb.length() == 0 ? "" : ", ").append(a);
      }
      add(key, v + " is not supported; expected " + sb);
    }

    /** {@code is_tarred} needs shards and manifests, and does not combine with {@code batch_duration}. */
    void tarred(String ds) {
      if (!ok(ds + ".is_tarred")
          || !c.hasPath(ds + ".is_tarred")
          || !c.getBoolean(ds + ".is_tarred")) {
        return;
      }
      if (!c.hasPath(ds + ".tarred_audio_filepaths")) {
        add(ds + ".tarred_audio_filepaths", "must be set when " + ds + ".is_tarred is true");
      }
      if (c.hasPath(ds + ".batch_duration")) {
        add(
            ds + ".batch_duration",
            "duration-based batches are not supported for tarred data (is_tarred=true): use batch_size");
      }
    }

    void bool(String key) {
      try {
        c.getBoolean(key);
      } catch (ConfigException e) {
        add(key, "expected true or false");
      }
    }

    void betas(String key) {
      try {
        List<Double> b = c.getDoubleList(key);
        if (b.size() != 2 || !(b.get(0) >= 0 && b.get(0) < 1 && b.get(1) >= 0 && b.get(1) < 1)) {
          add(key, "expected two values in [0, 1), got " + b);
        }
      } catch (ConfigException e) {
        add(key, "expected a list of two numbers");
      }
    }
  }
}
