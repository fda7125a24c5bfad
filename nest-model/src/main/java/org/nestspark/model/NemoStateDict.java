package org.nestspark.model;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;

/**
 * A NeMo {@code state_dict}: full key (e.g. {@code encoder.layers.0.conv.batch_norm.running_mean}) →
 * tensor, in insertion order (docs/nest-numerics.md §11). Loaded into a NEST graph by name through {@link NemoKeys}
 * ({@link #loadInto}), strictly: a missing, unexpected or mis-shaped key is an error that lists every
 * such key. Keys of the frozen modules that are not in the graph ({@code quantizer.*},
 * {@code mask_processor.*}, {@code preprocessor.*}) are handed back for their owners. {@link #fromGraph}
 * is the inverse, for export.
 *
 * <p>Sources: a folder of {@code <key>.npy} / {@code <key>.npy.gz} files (the golden data's layout) now;
 * {@code .nemo} archives come later.
 */
public final class NemoStateDict {
  /** Top-level NeMo modules that are frozen and live outside the graph. */
  public static final List<String> FROZEN_PREFIXES =
      List.of("quantizer.", "mask_processor.", "preprocessor.");

  private final Map<String, NpyArray> tensors = new LinkedHashMap<>();

  /** An empty state dict. */
  public NemoStateDict() {}

  /**
   * Reads every {@code <name>.npy} or {@code <name>.npy.gz} of a folder as key {@code prefix + name}
   * (e.g. prefix {@code "encoder."} for the golden {@code encoder_tiny/state_dict/}), in key order.
   */
  public static NemoStateDict readNpyDirectory(Path dir, String prefix) {
    Map<String, Path> files = new TreeMap<>();
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      for (Path p : ds) {
        String f = p.getFileName().toString();
        String name =
            f.endsWith(".npy.gz")
                ? f.substring(0, f.length() - 7)
                : f.endsWith(".npy") ? f.substring(0, f.length() - 4) : null;
        if (name != null && Files.isRegularFile(p)) {
          if (files.put(prefix + name, p) != null) {
            throw new IllegalArgumentException(
                dir + ": " + name + " is there both as .npy and .npy.gz");
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir, e);
    }
    NemoStateDict sd = new NemoStateDict();
    for (Map.Entry<String, Path> e : files.entrySet()) {
      try {
        sd.put(e.getKey(), Npy.read(e.getValue()));
      } catch (IOException ex) {
        throw new UncheckedIOException("cannot read " + e.getValue(), ex);
      }
    }
    return sd;
  }

  /** Adds or replaces one tensor. */
  public NemoStateDict put(String key, NpyArray tensor) {
    tensors.put(key, tensor);
    return this;
  }

  /** Adds every entry of another state dict; a key present in both is an error. */
  public NemoStateDict putAll(NemoStateDict other) {
    for (Map.Entry<String, NpyArray> e : other.tensors.entrySet()) {
      if (tensors.containsKey(e.getKey())) {
        throw new IllegalArgumentException("duplicate key " + e.getKey());
      }
      tensors.put(e.getKey(), e.getValue());
    }
    return this;
  }

  /** The entries whose key starts with {@code prefix} (same tensors, same order). */
  public NemoStateDict withPrefix(String prefix) {
    NemoStateDict sd = new NemoStateDict();
    for (Map.Entry<String, NpyArray> e : tensors.entrySet()) {
      if (e.getKey().startsWith(prefix)) {
        sd.put(e.getKey(), e.getValue());
      }
    }
    return sd;
  }

  /** The entries whose key does not start with {@code prefix} (e.g. drop {@code decoder.} for an encoder-only graph). */
  public NemoStateDict withoutPrefix(String prefix) {
    NemoStateDict sd = new NemoStateDict();
    for (Map.Entry<String, NpyArray> e : tensors.entrySet()) {
      if (!e.getKey().startsWith(prefix)) {
        sd.put(e.getKey(), e.getValue());
      }
    }
    return sd;
  }

  public NpyArray get(String key) {
    return tensors.get(key);
  }

  public boolean contains(String key) {
    return tensors.containsKey(key);
  }

  /** Keys in insertion order. */
  public Set<String> keys() {
    return Collections.unmodifiableSet(tensors.keySet());
  }

  public int size() {
    return tensors.size();
  }

  /** True for keys of modules that are frozen and not in the graph ({@link #FROZEN_PREFIXES}). */
  public static boolean isFrozenModuleKey(String key) {
    for (String p : FROZEN_PREFIXES) {
      if (key.startsWith(p)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Copies every graph parameter from its NeMo key. Strict: every parameter must have its key with
   * exactly the parameter's shape (BatchNorm's 0-d {@code num_batches_tracked} fills the one-element
   * counter), and every key must belong to the graph or to a frozen module.
   *
   * @return the entries of frozen modules ({@code quantizer.*}, {@code mask_processor.*},
   *     {@code preprocessor.*}), for their owners
   * @throws NemoStateDictException listing every missing, unexpected and mis-shaped key; nothing is
   *     copied then
   */
  public NemoStateDict loadInto(ComputationGraph graph) {
    List<NemoKeys.Binding> bindings = NemoKeys.bindings(graph);
    List<String> problems = new ArrayList<>();
    Map<String, NemoKeys.Binding> byKey = new LinkedHashMap<>();
    for (NemoKeys.Binding b : bindings) {
      byKey.put(b.nemoKey(), b);
    }
    for (NemoKeys.Binding b : bindings) {
      NpyArray t = tensors.get(b.nemoKey());
      if (t == null) {
        problems.add("missing key " + b.nemoKey() + " (for " + b.graphParam() + ")");
        continue;
      }
      INDArray p = graph.getParam(b.graphParam());
      if (!shapeFits(t, p, b.isCounter())) {
        problems.add(
            "wrong shape for "
                + b.nemoKey()
                + ": "
                + Arrays.toString(t.shape())
                + ", the graph expects "
                + Arrays.toString(p.shape()));
      }
    }
    NemoStateDict frozen = new NemoStateDict();
    for (Map.Entry<String, NpyArray> e : tensors.entrySet()) {
      if (byKey.containsKey(e.getKey())) {
        continue;
      }
      if (isFrozenModuleKey(e.getKey())) {
        frozen.put(e.getKey(), e.getValue());
      } else {
        problems.add("unexpected key " + e.getKey() + " " + Arrays.toString(e.getValue().shape()));
      }
    }
    if (!problems.isEmpty()) {
      throw new NemoStateDictException(problems);
    }
    for (NemoKeys.Binding b : bindings) {
      INDArray p = graph.getParam(b.graphParam());
      p.assign(toINDArray(tensors.get(b.nemoKey()), p.dataType()).reshape('c', p.shape()));
    }
    return frozen;
  }

  private static boolean shapeFits(NpyArray t, INDArray p, boolean counter) {
    if (counter) {
      return t.size() == 1 && p.length() == 1;
    }
    long[] ps = p.shape();
    int[] ts = t.shape();
    if (ps.length != ts.length) {
      return false;
    }
    for (int i = 0; i < ps.length; i++) {
      if (ps[i] != ts[i]) {
        return false;
      }
    }
    return true;
  }

  /**
   * The graph's parameters under their NeMo keys, in NeMo's order: float32 tensors of NeMo's shapes, and
   * {@code num_batches_tracked} as a 0-d int64 as NeMo stores it.
   */
  public static NemoStateDict fromGraph(ComputationGraph graph) {
    NemoStateDict sd = new NemoStateDict();
    for (NemoKeys.Binding b : NemoKeys.bindings(graph)) {
      INDArray p = graph.getParam(b.graphParam());
      if (b.isCounter()) {
        sd.put(b.nemoKey(), NpyArray.of(new int[0], new long[] {Math.round(p.getDouble(0))}));
      } else {
        int[] shape = Arrays.stream(p.shape()).mapToInt(Math::toIntExact).toArray();
        sd.put(b.nemoKey(), NpyArray.of(shape, p.castTo(DataType.FLOAT).dup('c').data().asFloat()));
      }
    }
    return sd;
  }

  /** An NPY tensor as an ND4J array of the given type (C order, outside any workspace). */
  public static INDArray toINDArray(NpyArray t, DataType dataType) {
    long[] shape = Arrays.stream(t.shape()).asLongStream().toArray();
    INDArray a;
    if (t.dtype() == NpyDtype.FLOAT32) {
      a =
          shape.length == 0
              ? Nd4j.scalar(t.floatData()[0])
              : Nd4j.create(t.floatData(), shape, 'c');
    } else {
      double[] d = t.toDoubleArray();
      a = shape.length == 0 ? Nd4j.scalar(d[0]) : Nd4j.create(d, shape, 'c');
    }
    return a.dataType() == dataType ? a : a.castTo(dataType);
  }
}
