package org.nestspark.restore;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.config.InitFromPretrainedSettings;
import org.nestspark.config.NestConfig;
import org.nestspark.io.NestPaths;
import org.nestspark.io.NpyArray;
import org.nestspark.model.NemoKeys;
import org.nestspark.model.NemoStateDict;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointException;
import org.nestspark.train.CheckpointIO;

/**
 * Starts a new run from other weights: NeMo's {@code maybe_init_from_pretrained_checkpoint} with the dict
 * form {@code {path, include, exclude}} (docs/nest-numerics.md §10), configured by {@code init_from_pretrained.*}.
 *
 * <p>The source is a {@code .nemo} archive or a nest-spark checkpoint ({@code .ckpt}). A key is loaded iff
 * some {@code include} string is a substring of it and no {@code exclude} string is; then NeMo's
 * {@code strict=False}: keys present in both are copied, keys missing on either side are ignored (and
 * reported), and a shape mismatch is an error listing every such key, before anything is copied.
 * Optimizer state, step and schedule are not taken (a new run starts at step 0).
 *
 * <p>The frozen modules ({@code quantizer.codebooks}, {@code quantizer.proj.weight},
 * {@code mask_processor.mask_embedding}) follow the same rule, as in NeMo, where they are state-dict entries
 * like the weights: selected and present in the source (a {@code .nemo}, or a checkpoint of schema ≥ 2),
 * they become the new run's ({@link Report#frozenModules}), so pretraining continues against the source's
 * codebook; otherwise the run draws its own from {@code data.seed}.
 */
public final class InitFromPretrained {
  private InitFromPretrained() {}

  /** What was loaded. */
  public record Report(
      String source,
      List<String> loaded,
      List<String> notInSource,
      List<String> notInGraph,
      List<String> filteredOut,
      Map<String, NpyArray> frozen) {
    public Report {
      frozen = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(frozen));
    }

    public String summary() {
      return "initialised "
          + loaded.size()
          + " tensors from "
          + source
          + " ("
          + filteredOut.size()
          + " left out by include/exclude, "
          + notInSource.size()
          + " graph tensors not in the source, "
          + notInGraph.size()
          + " source tensors not in the graph); frozen modules: "
          + (frozen.isEmpty()
              ? "none taken"
              : String.join(", ", frozen.keySet()) + " from the source");
    }

    /**
     * The new run's frozen modules: those taken from the source, the others drawn from {@code data.seed}.
     *
     * @throws NemoStateDictException when a taken tensor does not fit the configuration
     */
    public FrozenModules frozenModules(NestConfig c) {
      if (frozen.isEmpty()) {
        return FrozenModules.drawn(c.settings());
      }
      String origin =
          frozen.size() == FrozenModules.KEYS.size()
              ? source
              : source
                  + " ("
                  + String.join(", ", frozen.keySet())
                  + "; the others "
                  + FrozenModules.drawnOrigin(c.settings())
                  + ")";
      try {
        return FrozenModules.of(c.settings(), frozen, FrozenModules.drawn(c.settings()), origin);
      } catch (IllegalArgumentException e) {
        throw new NemoStateDictException(List.of(e.getMessage()));
      }
    }
  }

  /**
   * Applies {@code init_from_pretrained.*} of {@code cfg} to {@code graph}; null when {@code path} is not set.
   * The frozen modules taken are checked against {@code cfg} before any weight is copied.
   */
  public static Report apply(NestConfig cfg, ComputationGraph graph, Configuration conf)
      throws IOException {
    InitFromPretrainedSettings s = cfg.settings().initFromPretrained();
    if (!s.enabled()) {
      return null;
    }
    String path = s.path();
    NemoStateDict source = read(path, conf);
    List<String> include = s.include();
    List<String> exclude = s.exclude();
    new Report(
            path,
            List.of(),
            List.of(),
            List.of(),
            List.of(),
            frozenSelected(source, include, exclude))
        .frozenModules(cfg);
    return apply(path, source, graph, include, exclude);
  }

  private static Map<String, NpyArray> frozenSelected(
      NemoStateDict source, List<String> include, List<String> exclude) {
    Map<String, NpyArray> m = new LinkedHashMap<>();
    for (String k : FrozenModules.KEYS) {
      if (source.contains(k) && selected(k, include, exclude)) {
        m.put(k, source.get(k));
      }
    }
    return m;
  }

  /** The source's tensors by NeMo key (a checkpoint's frozen modules included, when it stores them). */
  public static NemoStateDict read(String path, Configuration conf) throws IOException {
    Path p = NestPaths.fromUserString(path);
    if (p.getName().endsWith(".nemo")) {
      NemoModel m = NemoArchive.read(p, conf);
      NemoStateDict sd = new NemoStateDict();
      for (Map.Entry<String, NemoTensor> e : m.stateDict().entrySet()) {
        sd.put(e.getKey(), e.getValue().toNpy());
      }
      return sd;
    }
    try {
      Checkpoint ckpt = CheckpointIO.load(p, conf);
      NemoStateDict sd = NemoStateDict.fromGraph(ckpt.model());
      if (ckpt.frozen() != null) {
        for (Map.Entry<String, NpyArray> e : ckpt.frozen().tensors().entrySet()) {
          sd.put(e.getKey(), e.getValue());
        }
      }
      return sd;
    } catch (CheckpointException e) {
      throw new IOException("init_from_pretrained.path: " + e.getMessage(), e);
    }
  }

  /** Copies the selected tensors of {@code source} into {@code graph} (NeMo's strict=False load). */
  public static Report apply(
      String name,
      NemoStateDict source,
      ComputationGraph graph,
      List<String> include,
      List<String> exclude) {
    Map<String, NemoKeys.Binding> byKey = new LinkedHashMap<>();
    for (NemoKeys.Binding b : NemoKeys.bindings(graph)) {
      byKey.put(b.nemoKey(), b);
    }
    List<String> loaded = new ArrayList<>();
    List<String> filtered = new ArrayList<>();
    List<String> notInGraph = new ArrayList<>();
    List<String> problems = new ArrayList<>();
    for (String key : source.keys()) {
      if (!selected(key, include, exclude)) {
        filtered.add(key);
        continue;
      }
      NemoKeys.Binding b = byKey.get(key);
      if (b == null) {
        if (!FrozenModules.KEYS.contains(key)) {
          notInGraph.add(key);
        }
        continue;
      }
      NpyArray t = source.get(key);
      INDArray p = graph.getParam(b.graphParam());
      boolean fits =
          b.isCounter()
              ? t.size() == 1
              : Arrays.equals(
                  Arrays.stream(p.shape()).mapToInt(Math::toIntExact).toArray(), t.shape());
      if (!fits) {
        problems.add(
            "wrong shape for "
                + key
                + ": "
                + Arrays.toString(t.shape())
                + " in "
                + name
                + ", the graph expects "
                + Arrays.toString(p.shape()));
      } else {
        loaded.add(key);
      }
    }
    if (!problems.isEmpty()) {
      throw new NemoStateDictException(problems);
    }
    for (String key : loaded) {
      NemoKeys.Binding b = byKey.get(key);
      INDArray p = graph.getParam(b.graphParam());
      p.assign(NemoStateDict.toINDArray(source.get(key), p.dataType()).reshape('c', p.shape()));
    }
    List<String> notInSource = new ArrayList<>();
    for (String key : byKey.keySet()) {
      if (!source.contains(key)) {
        notInSource.add(key);
      }
    }
    return new Report(
        name, loaded, notInSource, notInGraph, filtered, frozenSelected(source, include, exclude));
  }

  /** NeMo's rule: some include string is a substring of the key and no exclude string is. */
  public static boolean selected(String key, List<String> include, List<String> exclude) {
    boolean in = false;
    for (String s : include) {
      in |= key.contains(s);
    }
    if (!in) {
      return false;
    }
    for (String s : exclude) {
      if (key.contains(s)) {
        return false;
      }
    }
    return true;
  }
}
