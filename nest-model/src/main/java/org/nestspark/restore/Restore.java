package org.nestspark.restore;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigRenderOptions;
import com.typesafe.config.ConfigSyntax;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.NestConfig;
import org.nestspark.config.NestConfigException;
import org.nestspark.io.NestPaths;
import org.nestspark.model.NestGraph;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointException;
import org.nestspark.train.CheckpointIO;
import org.nestspark.train.Provenance;
import org.nestspark.train.TrainStep;

/**
 * The model behind a {@code --model} argument: a {@code .nemo} archive (a file whose name ends in
 * {@code .nemo}, or an extracted {@code .nemo} folder; see {@link NemoImport}), one of nest-spark's
 * checkpoints ({@code step-NNNNNN.ckpt}, {@link CheckpointIO}) or a folder of checkpoints (the newest one
 * that verifies). The model's own settings ({@code model.*} and {@code data.seed}) win over presets;
 * the user's {@code key=value} overrides are applied last.
 */
public final class Restore {
  private Restore() {}

  /**
   * Loads a model.
   *
   * @throws IOException the path cannot be read, or is neither a {@code .nemo} nor a checkpoint (the
   *     message names the path and the reason)
   */
  public static NemoImport.Imported load(
      String path, Configuration conf, List<String> configFiles, List<String> overrides)
      throws IOException {
    Path p = NestPaths.fromUserString(path);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw new FileNotFoundException(path + ": no such file or folder");
    }
    FileStatus st = fs.getFileStatus(p);
    if (NemoImport.isNemoPath(path)
        || (st.isDirectory() && fs.exists(new Path(p, "model_config.yaml")))) {
      return NemoImport.read(p, conf, configFiles, overrides);
    }
    Checkpoint ckpt;
    if (st.isDirectory()) {
      List<String> warnings = new ArrayList<>();
      ckpt =
          CheckpointIO.loadNewestValid(p, conf, warnings::add)
              .orElseThrow(
                  () ->
                      new IOException(
                          path
                              + ": no usable checkpoint (step-NNNNNN.ckpt) in this folder"
                              + (warnings.isEmpty() ? "" : ": " + String.join("; ", warnings))));
    } else {
      try {
        ckpt = CheckpointIO.load(p, conf);
      } catch (CheckpointException e) {
        throw new IOException(
            "not a .nemo (by name) and not a nest-spark checkpoint: " + e.getMessage(), e);
      }
    }
    List<String> all = new ArrayList<>(modelOverrides(ckpt.config()));
    all.addAll(overrides);
    NestConfig c;
    try {
      c = NestConfig.load(configFiles, all, conf);
    } catch (NestConfigException e) {
      throw new NestConfigException(
          path + ": the checkpoint's configuration does not load: " + e.getMessage());
    }
    ComputationGraph g = ckpt.model();
    if (NestGraph.numLayers(g) != c.settings().encoder().nLayers()) {
      throw new NestConfigException(
          path
              + ": the checkpoint's graph has "
              + NestGraph.numLayers(g)
              + " layers but model.encoder.n_layers is "
              + c.settings().encoder().nLayers()
              + " (model settings cannot be overridden for a trained model)");
    }
    List<String> notes = new ArrayList<>();
    FrozenModules frozen = ckpt.frozenModules(c, w -> notes.add(path + ": " + w));
    return new NemoImport.Imported(c, g, Map.of(), notes, frozen);
  }

  /** {@code key=value} overrides of every {@code model.*} leaf and {@code data.seed} of a rendered configuration. */
  public static List<String> modelOverrides(String rendered) {
    Config cfg =
        ConfigFactory.parseString(
                rendered, ConfigParseOptions.defaults().setSyntax(ConfigSyntax.CONF))
            .resolve();
    List<String> out = new ArrayList<>();
    for (Map.Entry<String, ConfigValue> e : cfg.entrySet()) {
      String k = e.getKey();
      if (k.startsWith("model.") || k.equals("data.seed")) {
        ConfigValue v = e.getValue();
        String text =
            v.valueType() == ConfigValueType.STRING
                ? (String) v.unwrapped()
                : v.render(ConfigRenderOptions.concise());
        out.add(k + "=" + text);
      }
    }
    // entrySet() leaves out nulls: a model key that is null in the checkpoint must stay null
    for (String k : NestConfig.referenceKeys().keySet()) {
      if (k.startsWith("model.") && cfg.hasPathOrNull(k) && cfg.getIsNull(k)) {
        out.add(k + "=null");
      }
    }
    return out;
  }

  /** A fresh checkpoint (step 0, fresh updater state) of a model, e.g. one imported from a {@code .nemo}, with its frozen modules. */
  public static Checkpoint checkpointOf(NemoImport.Imported m) {
    NestConfig c = m.config();
    return new Checkpoint(
        m.graph(),
        m.graph().getIterationCount(),
        m.graph().getEpochCount(),
        "0",
        c.settings().seed(),
        TrainStep.Counters.ZERO,
        c.render(),
        Provenance.capture(c, Map.of()),
        m.frozenModules());
  }
}
