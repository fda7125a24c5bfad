package org.nestspark.restore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.NemoConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.config.PreprocessorParams;
import org.nestspark.io.NestPaths;
import org.nestspark.io.NpyArray;
import org.nestspark.model.NemoStateDict;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.model.NestGraph;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.AdamW;

/**
 * A NeMo NEST model ({@code .nemo}, docs/nest-numerics.md §11) as a nest-spark graph: the configuration comes from the
 * archive's own {@code model_config.yaml} ({@link NemoConfigs#toOverrides}: layer count, d_model, heads,
 * feed-forward factor, conv kernel, norm type, subsampling, feat_in, num_classes, num_books, the
 * preprocessor, masking and quantizer settings, ...), the graph is built from it and every encoder and
 * decoder tensor is loaded by its NeMo key ({@link NemoStateDict#loadInto}, strict: missing, unexpected
 * and mis-shaped keys are listed). The frozen tensors outside the graph ({@code quantizer.codebooks},
 * {@code quantizer.proj.weight}, {@code mask_processor.mask_embedding},
 * {@code preprocessor.featurizer.window} / {@code fb}) are checked against the configuration's shapes and
 * kept in {@link Imported#frozen()}; the quantizer and mask embedding become the model's
 * {@link Imported#frozenModules()} (NeMo draws them from torch's RNG, so they cannot be recomputed: a
 * checkpoint of the import keeps them, training continues against NeMo's codebook, and {@link NemoExport}
 * writes them back unchanged).
 *
 * <p>The graph gets NEST's AdamW updater from the imported {@code model.optim} (fresh state), so a
 * checkpoint written from it can continue pretraining.
 */
public final class NemoImport {
  private NemoImport() {}

  /**
   * An imported model.
   *
   * @param config nest-spark's configuration (model keys from the archive, then the user's overrides)
   * @param graph the graph with every NeMo tensor loaded
   * @param frozen the NeMo tensors that live outside the graph, by NeMo key, in saved order (empty for a checkpoint)
   * @param notes NeMo settings that were ignored (data-loading options and the like), frozen modules drawn from the seed
   * @param frozenModules the model's quantizer and mask embedding: the archive's (or checkpoint's) own; any it
   *     lacks drawn from {@code data.seed} (and noted)
   */
  public record Imported(
      NestConfig config,
      ComputationGraph graph,
      Map<String, NemoTensor> frozen,
      List<String> notes,
      FrozenModules frozenModules) {
    public Imported {
      frozen = Collections.unmodifiableMap(new LinkedHashMap<>(frozen));
      notes = List.copyOf(notes);
      java.util.Objects.requireNonNull(frozenModules, "frozenModules");
    }
  }

  /** True for a path that names a {@code .nemo} file (by extension) rather than one of our checkpoints. */
  public static boolean isNemoPath(String path) {
    return path.toLowerCase(java.util.Locale.ROOT).endsWith(".nemo");
  }

  /**
   * Reads and imports a {@code .nemo}.
   *
   * @param configFiles presets applied under the model's values (e.g. for spark.* settings)
   * @param overrides the user's {@code key=value} overrides, applied last
   * @throws NemoFormatException when the archive cannot be read
   * @throws org.nestspark.config.NestConfigException when its config holds something nest-spark does not implement
   * @throws NemoStateDictException when its tensors do not fit the graph its config describes
   */
  public static Imported read(
      Path path, Configuration conf, List<String> configFiles, List<String> overrides)
      throws IOException {
    NemoModel m = NemoArchive.read(path, conf);
    return of(m, NestPaths.display(path), configFiles, overrides, conf);
  }

  /**
   * Imports an archive already read.
   *
   * @param source the archive's name in messages and in {@link FrozenModules#origin()}
   */
  public static Imported of(
      NemoModel m,
      String source,
      List<String> configFiles,
      List<String> overrides,
      Configuration conf) {
    List<String> notes = new ArrayList<>();
    NestConfig c =
        NemoConfigs.load(
            m, source + ": " + NemoArchive.CONFIG_MEMBER, configFiles, overrides, conf, notes);
    ComputationGraph graph = NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
    NemoStateDict sd = new NemoStateDict();
    for (Map.Entry<String, NemoTensor> e : m.stateDict().entrySet()) {
      sd.put(e.getKey(), e.getValue().toNpy());
    }
    NemoStateDict frozenKeys = sd.loadInto(graph);
    Map<String, NemoTensor> frozen = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    Map<String, int[]> expected = frozenShapes(c);
    for (String k : frozenKeys.keys()) {
      NemoTensor t = m.stateDict().get(k);
      int[] want = expected.get(k);
      if (want == null) {
        problems.add("unexpected key " + k + " " + Arrays.toString(t.shape()));
      } else if (!Arrays.equals(want, t.shape())) {
        problems.add(
            "wrong shape for "
                + k
                + ": "
                + Arrays.toString(t.shape())
                + ", the config implies "
                + Arrays.toString(want));
      } else {
        frozen.put(k, t);
      }
    }
    if (!problems.isEmpty()) {
      throw new NemoStateDictException(problems);
    }
    Map<String, NpyArray> modules = new LinkedHashMap<>();
    for (String k : expected.keySet()) {
      if (!frozen.containsKey(k)) {
        notes.add(
            "no "
                + k
                + " in the archive; "
                + (FrozenModules.KEYS.contains(k)
                    ? "the model's is " + FrozenModules.drawnOrigin(c.settings())
                    : "nest-spark computes it (bit for bit as torch does)"));
      } else if (FrozenModules.KEYS.contains(k)) {
        modules.put(k, frozen.get(k).toNpy());
      }
    }
    FrozenModules fm;
    if (modules.size() == FrozenModules.KEYS.size()) {
      fm = FrozenModules.of(c.settings(), modules, null, source);
    } else if (modules.isEmpty()) {
      fm = FrozenModules.drawn(c.settings());
    } else {
      fm =
          FrozenModules.of(
              c.settings(),
              modules,
              FrozenModules.drawn(c.settings()),
              source + " (the missing ones " + FrozenModules.drawnOrigin(c.settings()) + ")");
    }
    return new Imported(c, graph, frozen, notes, fm);
  }

  /** NeMo key → shape of every frozen tensor outside the graph, for a configuration (docs/nest-numerics.md §11). */
  public static Map<String, int[]> frozenShapes(NestConfig c) {
    Map<String, int[]> m = new LinkedHashMap<>();
    PreprocessorParams pre = c.settings().preprocessor();
    int win = (int) Math.round(pre.windowSize() * pre.sampleRate());
    m.put("preprocessor.featurizer.window", new int[] {win});
    m.put("preprocessor.featurizer.fb", new int[] {1, pre.features(), pre.nFft() / 2 + 1});
    m.putAll(FrozenModules.shapes(c.settings()));
    return m;
  }
}
