package org.nestspark.ssl;

import java.io.Serializable;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nestspark.config.NestSettings;
import org.nestspark.config.QuantizerSettings;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;

/**
 * NEST's frozen target modules, part of the model like its weights (docs/nest-numerics.md §4, §5, §11): the quantizer's
 * {@code quantizer.proj.weight} (float32, {@code (H·D, F·combine)}) and {@code quantizer.codebooks}
 * (float64, {@code (H, C, D)}, as NeMo holds them) and the masking's {@code mask_processor.mask_embedding}
 * (float32, {@code (F)}). NeMo draws them once from torch's RNG and saves them in every checkpoint; a model
 * trained against one codebook predicts that codebook's tokens, so a run must keep the ones it started
 * with: checkpoints store them, an import of a {@code .nemo} keeps NeMo's own, and only a new run without
 * pretrained weights draws its own from {@code data.seed} ({@link #drawn}).
 *
 * <p>Immutable and serializable (it travels to the executors with the batch builders).
 */
public final class FrozenModules implements Serializable {
  private static final long serialVersionUID = 1L;

  /** NeMo's state-dict key of the quantizer's codebooks. */
  public static final String CODEBOOKS = "quantizer.codebooks";

  /** NeMo's state-dict key of the quantizer's projection. */
  public static final String PROJ_WEIGHT = "quantizer.proj.weight";

  /** NeMo's state-dict key of the mask embedding. */
  public static final String MASK_EMBEDDING = "mask_processor.mask_embedding";

  /** The keys in NeMo's saved order. */
  public static final List<String> KEYS = List.of(CODEBOOKS, PROJ_WEIGHT, MASK_EMBEDDING);

  private final int[] codebooksShape;
  private final double[] codebooks;
  private final int[] projShape;
  private final float[] projWeight;
  private final float[] maskEmbedding;
  private final String origin;

  private FrozenModules(
      int[] codebooksShape,
      double[] codebooks,
      int[] projShape,
      float[] projWeight,
      float[] maskEmbedding,
      String origin) {
    this.codebooksShape = codebooksShape.clone();
    this.codebooks = codebooks;
    this.projShape = projShape.clone();
    this.projWeight = projWeight;
    this.maskEmbedding = maskEmbedding;
    this.origin = Objects.requireNonNull(origin, "origin");
  }

  /** What the tensors' shapes must be for a configuration: NeMo key → shape, in {@link #KEYS} order. */
  public static Map<String, int[]> shapes(NestSettings c) {
    QuantizerSettings q = c.quantizer();
    Map<String, int[]> m = new LinkedHashMap<>();
    m.put(CODEBOOKS, new int[] {q.numBooks(), q.numClasses(), q.codeDim()});
    m.put(PROJ_WEIGHT, new int[] {q.numBooks() * q.codeDim(), q.featIn() * q.combineTimeSteps()});
    m.put(MASK_EMBEDDING, new int[] {c.masking().featIn()});
    return m;
  }

  /** The modules a new run draws from {@code data.seed} ({@link SslModules#quantizer}, {@link SslModules#masking}). */
  public static FrozenModules drawn(NestSettings c) {
    RandomProjectionVectorQuantizer q = SslModules.quantizer(c);
    Map<String, int[]> s = shapes(c);
    return new FrozenModules(
        s.get(CODEBOOKS),
        q.codebooks(),
        s.get(PROJ_WEIGHT),
        q.projWeight(),
        SslModules.masking(c).maskEmbedding(),
        drawnOrigin(c));
  }

  /** How {@link #drawn} describes itself. */
  public static String drawnOrigin(NestSettings c) {
    return "drawn from data.seed=" + c.seed();
  }

  /**
   * The modules given by NeMo key (float32 projection and embedding; float64 codebooks, a float32 one is
   * widened as NeMo's {@code .double()} would); a key not in {@code tensors} is taken from {@code fallback}
   * (none when null).
   *
   * @param origin where the tensors come from (e.g. the archive's path)
   * @throws IllegalArgumentException listing every tensor that is missing or whose shape or type does not fit {@code c}
   */
  public static FrozenModules of(
      NestSettings c, Map<String, NpyArray> tensors, FrozenModules fallback, String origin) {
    Map<String, int[]> want = shapes(c);
    Map<String, NpyArray> merged = new LinkedHashMap<>();
    Map<String, NpyArray> fb = fallback == null ? Map.of() : fallback.tensors();
    for (String k : KEYS) {
      NpyArray t = tensors.containsKey(k) ? tensors.get(k) : fb.get(k);
      if (t != null) {
        merged.put(k, t);
      }
    }
    List<String> problems = problems(merged);
    for (String k : KEYS) {
      NpyArray t = merged.get(k);
      if (t != null && !Arrays.equals(want.get(k), t.shape())) {
        problems.add(
            k
                + " has shape "
                + Arrays.toString(t.shape())
                + ", the configuration needs "
                + Arrays.toString(want.get(k)));
      }
    }
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          origin + ": frozen modules do not fit the model: " + String.join("; ", problems));
    }
    FrozenModules out = build(merged, origin);
    out.quantizer(c); // validates the values (finite codebooks) and the quantizer settings
    return out;
  }

  /**
   * The modules given by NeMo key, checked for completeness, rank, consistency and type only (e.g. as a
   * checkpoint stores them; {@link #quantizer} and {@link #masking} check them against a configuration).
   *
   * @throws IllegalArgumentException listing every problem
   */
  public static FrozenModules of(Map<String, NpyArray> tensors, String origin) {
    List<String> problems = problems(tensors);
    if (!problems.isEmpty()) {
      throw new IllegalArgumentException(
          origin + ": unusable frozen modules: " + String.join("; ", problems));
    }
    return build(tensors, origin);
  }

  private static List<String> problems(Map<String, NpyArray> t) {
    List<String> problems = new ArrayList<>();
    int[] ranks = {3, 2, 1};
    for (int i = 0; i < KEYS.size(); i++) {
      String k = KEYS.get(i);
      NpyArray a = t.get(k);
      if (a == null) {
        problems.add("no " + k);
      } else if (a.dtype() != NpyDtype.FLOAT32 && a.dtype() != NpyDtype.FLOAT64) {
        problems.add(k + " is " + a.dtype() + ", not floating point");
      } else if (a.rank() != ranks[i]) {
        problems.add(
            k + " has shape " + Arrays.toString(a.shape()) + ", expected rank " + ranks[i]);
      }
    }
    if (problems.isEmpty()) {
      int[] cb = t.get(CODEBOOKS).shape();
      int[] proj = t.get(PROJ_WEIGHT).shape();
      if (proj[0] != cb[0] * cb[2]) {
        problems.add(
            PROJ_WEIGHT
                + " "
                + Arrays.toString(proj)
                + " does not project to "
                + CODEBOOKS
                + " "
                + Arrays.toString(cb)
                + " (rows must be num_books * code_dim)");
      }
    }
    return problems;
  }

  private static FrozenModules build(Map<String, NpyArray> t, String origin) {
    NpyArray cb = t.get(CODEBOOKS);
    NpyArray proj = t.get(PROJ_WEIGHT);
    return new FrozenModules(
        cb.shape(),
        cb.toDoubleArray(),
        proj.shape(),
        proj.toFloatArray(),
        t.get(MASK_EMBEDDING).toFloatArray(),
        origin);
  }

  /** The quantizer with these weights and the settings of {@code model.quantizer.*}. */
  public RandomProjectionVectorQuantizer quantizer(NestSettings c) {
    requireShapes(c);
    return RandomProjectionVectorQuantizer.of(c.quantizer(), projWeight, codebooks);
  }

  /** The block masking of {@code model.masking.*} with this embedding. */
  public RandomBlockMasking masking(NestSettings c) {
    requireShapes(c);
    return RandomBlockMasking.of(c.masking(), maskEmbedding);
  }

  private void requireShapes(NestSettings c) {
    Map<String, int[]> want = shapes(c);
    Map<String, NpyArray> have = tensors();
    for (String k : KEYS) {
      if (!Arrays.equals(want.get(k), have.get(k).shape())) {
        throw new IllegalArgumentException(
            "frozen modules ("
                + origin
                + "): "
                + k
                + " has shape "
                + Arrays.toString(have.get(k).shape())
                + ", the configuration needs "
                + Arrays.toString(want.get(k)));
      }
    }
  }

  /** The tensors by NeMo key, in {@link #KEYS} order (copies). */
  public Map<String, NpyArray> tensors() {
    Map<String, NpyArray> m = new LinkedHashMap<>();
    m.put(CODEBOOKS, NpyArray.of(codebooksShape, codebooks.clone()));
    m.put(PROJ_WEIGHT, NpyArray.of(projShape, projWeight.clone()));
    m.put(MASK_EMBEDDING, NpyArray.of(new int[] {maskEmbedding.length}, maskEmbedding.clone()));
    return m;
  }

  /** Where these modules come from, e.g. {@code drawn from data.seed=7} or a {@code .nemo}'s path. */
  public String origin() {
    return origin;
  }

  /** The same tensors with another description of their origin. */
  public FrozenModules withOrigin(String newOrigin) {
    return new FrozenModules(
        codebooksShape, codebooks, projShape, projWeight, maskEmbedding, newOrigin);
  }

  /** True when every tensor has the same shape and the same bits. */
  public boolean sameValues(FrozenModules o) {
    return Arrays.equals(codebooksShape, o.codebooksShape)
        && Arrays.equals(projShape, o.projShape)
        && Arrays.equals(codebooks, o.codebooks)
        && Arrays.equals(projWeight, o.projWeight)
        && Arrays.equals(maskEmbedding, o.maskEmbedding);
  }

  /** SHA-256 (hex) of the shapes and values, e.g. to key caches of what is built from them. */
  public String sha256() {
    try {
      java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
      java.nio.ByteBuffer b =
          java.nio.ByteBuffer.allocate(
              8 * codebooks.length + 4 * projWeight.length + 4 * maskEmbedding.length + 64);
      for (int d : codebooksShape) {
        b.putInt(d);
      }
      for (int d : projShape) {
        b.putInt(d);
      }
      b.asDoubleBuffer().put(codebooks);
      b.position(b.position() + 8 * codebooks.length);
      b.asFloatBuffer().put(projWeight);
      b.position(b.position() + 4 * projWeight.length);
      b.asFloatBuffer().put(maskEmbedding);
      b.position(b.position() + 4 * maskEmbedding.length);
      md.update(b.array(), 0, b.position());
      return java.util.HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public String toString() {
    return "FrozenModules[codebooks "
        + Arrays.toString(codebooksShape)
        + ", proj "
        + Arrays.toString(projShape)
        + ", mask_embedding ["
        + maskEmbedding.length
        + "], "
        + origin
        + "]";
  }
}
