package org.nestspark.model.conformer;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * NeMo's relative positional table ({@code RelPositionalEncoding}, docs/nest-numerics.md §6.2): for an input of length
 * T' the rows are positions {@code T'−1, T'−2, …, −(T'−1)} (2T'−1 rows, descending) and
 * {@code pe[p, 2i] = sin(p·w_i)}, {@code pe[p, 2i+1] = cos(p·w_i)} with {@code w_i = exp(2i·(−ln 10000 /
 * d))}, all in float32 as PyTorch computes it (the products p·w_i are rounded to float before sin/cos).
 * NeMo slices a table built once for max_len 5000; its values do not depend on max_len, so the table is
 * built here directly for the length in use and cached per (T', d, dtype).
 *
 * <p>The table is not scaled and nothing is added to x (relative positions only). NeMo applies
 * {@code dropout_emb} to it in training (0 in NEST); {@link ConformerLayerImpl} does that.
 */
public final class RelPositionalEncoding {
  private static final int MAX_CACHED = 64;
  private static final Map<String, INDArray> CACHE = new ConcurrentHashMap<>();

  private RelPositionalEncoding() {}

  /** The table as float32 values, C order {@code [2T'−1, d]}. */
  public static float[] table(int length, int dModel) {
    if (length <= 0 || dModel <= 0 || dModel % 2 != 0) {
      throw new IllegalArgumentException("length " + length + ", even d_model " + dModel);
    }
    int rows = 2 * length - 1;
    int half = dModel / 2;
    float[] w = new float[half];
    // torch: exp(arange(0, d, 2, float32) * -(ln(10000) / d)), float32 product and exp
    float scale = (float) (-(Math.log(10000.0) / dModel));
    for (int i = 0; i < half; i++) {
      float arg = (2 * i) * scale;
      w[i] = (float) Math.exp(arg);
    }
    float[] pe = new float[rows * dModel];
    for (int r = 0; r < rows; r++) {
      float p = length - 1 - r;
      int base = r * dModel;
      for (int i = 0; i < half; i++) {
        float x = p * w[i];
        pe[base + 2 * i] = (float) Math.sin(x);
        pe[base + 2 * i + 1] = (float) Math.cos(x);
      }
    }
    return pe;
  }

  /**
   * The table {@code [2T'−1, d]} as an array of {@code dataType}, detached from any workspace, cached.
   * Callers must not modify it.
   */
  public static INDArray get(int length, int dModel, DataType dataType) {
    String key = length + "/" + dModel + "/" + dataType;
    INDArray t = CACHE.get(key);
    if (t == null) {
      if (CACHE.size() >= MAX_CACHED) {
        CACHE.clear();
      }
      try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
        INDArray f = Nd4j.create(table(length, dModel), new long[] {2L * length - 1, dModel}, 'c');
        t = f.castTo(dataType);
      }
      CACHE.put(key, t);
    }
    return t;
  }
}
