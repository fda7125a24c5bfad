package org.nestspark.ssl;

import java.io.Serializable;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nestspark.config.QuantizerSettings;
import org.nestspark.features.FeatureBatch;

/**
 * NeMo's {@code RandomProjectionVectorQuantizer} with {@code dist_fn = l2} (docs/nest-numerics.md §5): the BEST-RQ target
 * tokens of NEST, computed from the <em>clean</em> features outside the trainable graph.
 *
 * <p>Parameters (both frozen, never trained): {@code proj.weight} {@code (H·D, F·combine)} float32 (no
 * bias) and {@code codebooks} {@code (H, C, D)} float64 with unit rows. NEST: F = 80, combine = 8, H = 1,
 * D = 16, C = 8192; checkpoint keys {@code quantizer.proj.weight} and {@code quantizer.codebooks}.
 *
 * <p>Forward on features {@code [B, F, T]} (T a multiple of combine, as NeMo's reshape requires):
 * <ol>
 *   <li>token j of utterance b is the 640-vector of frames {@code combine·j … combine·j + combine − 1},
 *       <b>frame-major</b> (frame 8j's F values, then frame 8j+1's, …);</li>
 *   <li>{@code y = W·x} in float32 (accumulated here in float64 and rounded once; PyTorch's float32 BLAS
 *       rounds differently, measured ≤ 2.4e-7 on z against the golden data);</li>
 *   <li>per book, {@code z = y / max(‖y‖, 1e-12)} in float32 ({@code F.normalize}); an all-zero group
 *       (padding) gives z = 0;</li>
 *   <li>{@code token = argmin_c ‖z − codebook[h, c]‖₂} computed in <b>float64</b> (float32 z promoted), ties
 *       to the lowest index. NeMo's kernel is reproduced exactly: {@code diff = (double) z_d − c_d},
 *       {@code acc = fma(diff, diff, acc)} sequentially over d, then {@code sqrt} — this order is what makes
 *       PyTorch pick code 447 for the all-zero (padding) vectors of the golden data, whose distances tie to
 *       the last bit ({@link #distance}).</li>
 * </ol>
 *
 * <h2>Fast exact search</h2>
 * The exhaustive float64 search costs C·D operations per token (~2 s per NEST training step in NeMo).
 * Here every code is first <em>screened</em> in float32 with the expansion
 * {@code ‖z − c‖² = ‖z‖² + 2·s_c}, {@code s_c = ½‖c‖² − z·c}: {@code S_c = h_c − Σ_d z_d·f_{c,d}} with
 * {@code h_c = fl32(½‖c‖²)}, {@code f = fl32(codebook)}, codes laid out dimension-major so the loop
 * vectorises. Then the exact float64 NeMo distance is computed for every code whose screened score is within
 * {@code τ} of the best screened score (one scan that keeps the codes within τ of the running minimum, then
 * filters by the final one), and the lowest-index minimum of those exact distances is the token. NEST size,
 * batch 8 × 125 tokens, one thread: ~8 ms against ~75 ms for the exhaustive float64 search here
 * ({@link QuantizerBench}) and ~2 s in NeMo.
 *
 * <p><b>Why this is exactly NeMo's token</b> (for the same z). Let u = 2^-24, M = max_c ‖c‖, γ_n = n·u/(1−n·u).
 * The float32 evaluation of {@code S_c} sums D+1 rounded terms, and the inputs carry one rounding each, so
 * (standard dot-product error bound, any summation order) {@code |S_c − s_c| ≤ ε = γ_{D+4}·(½M² + ‖z‖·M)}
 * (×1.01 margin). Let m be the best screened code and {@code τ = 2ε + η}, {@code η = 1e-9·(‖z‖ + M)²}. A code
 * k with {@code S_k > S_m + τ} has exact {@code s_k − s_m > η}, i.e. exact squared distances differing by more
 * than 2η. NeMo's float64 squared distance errs by at most ~γ64_{D+2}·(‖z‖+M)² ≈ 4e-15·(‖z‖+M)² ≪ η, and the
 * square roots of values that far apart cannot round to the same double, so NeMo's distance of k is
 * <em>strictly</em> larger than that of m: k is neither NeMo's argmin nor tied with it. Hence NeMo's argmin
 * (lowest index among exact ties) is among the candidates, and evaluating NeMo's own distance on all
 * candidates in index order returns it. For unit vectors τ ≈ 4e-6, so the candidate set is almost always the
 * single best code; near-ties (gaps below τ, including the exact ties of duplicated codes) are decided by the
 * exact computation. Non-finite scores fall back to the exhaustive search. The all-zero z of padded frames
 * ties every unit code within τ; its answer (the same for every such token) is computed once with the exact
 * kernel and cached.
 *
 * <p>On the golden batch this gives NeMo's tokens at every position, padding included; the margins there are
 * ≥ 5.5e-5 at valid positions (README), far above the z differences, so z's last-bit differences from
 * PyTorch cannot change a token. {@link #quantizeExhaustive} is the plain NeMo computation, kept as the
 * reference (tests compare both on random and adversarial near-tie codebooks).
 *
 * <p>Instances are immutable, thread-safe and serializable (the screening tables are rebuilt lazily).
 */
public final class RandomProjectionVectorQuantizer implements Serializable {
  private static final long serialVersionUID = 1L;

  /** F.normalize's eps. */
  public static final float NORMALIZE_EPS = 1e-12f;

  private static final double U32 = 0x1p-24;

  private final int featIn;
  private final int codeDim;
  private final int numBooks;
  private final int numClasses;
  private final int combine;

  /** {@code [H·D, F·combine]} row-major. */
  private final float[] proj;

  /** {@code [H, C, D]}. */
  private final double[] codebooks;

  private transient volatile Tables tables;

  /**
   * A quantizer with explicit weights (e.g. from a NeMo checkpoint); the arrays are copied.
   *
   * @param projWeight {@code quantizer.proj.weight}, {@code (numBooks·codeDim, featIn·combineTimeSteps)} C
   *     order, float32
   * @param codebooks {@code quantizer.codebooks}, {@code (numBooks, numClasses, codeDim)} C order, float64
   */
  public RandomProjectionVectorQuantizer(
      int featIn,
      int codeDim,
      int numBooks,
      int numClasses,
      int combineTimeSteps,
      float[] projWeight,
      double[] codebooks) {
    if (featIn <= 0 || codeDim <= 0 || numBooks <= 0 || numClasses <= 0 || combineTimeSteps <= 0) {
      throw new IllegalArgumentException(
          "sizes must be positive: feat_in "
              + featIn
              + ", code_dim "
              + codeDim
              + ", num_books "
              + numBooks
              + ", num_classes "
              + numClasses
              + ", combine_time_steps "
              + combineTimeSteps);
    }
    Objects.requireNonNull(projWeight, "projWeight");
    Objects.requireNonNull(codebooks, "codebooks");
    long projSize = (long) numBooks * codeDim * featIn * combineTimeSteps;
    long cbSize = (long) numBooks * numClasses * codeDim;
    if (projWeight.length != projSize) {
      throw new IllegalArgumentException(
          "proj weight has "
              + projWeight.length
              + " values, expected ("
              + numBooks * codeDim
              + ", "
              + featIn * combineTimeSteps
              + ")");
    }
    if (codebooks.length != cbSize) {
      throw new IllegalArgumentException(
          "codebooks have "
              + codebooks.length
              + " values, expected ("
              + numBooks
              + ", "
              + numClasses
              + ", "
              + codeDim
              + ")");
    }
    for (double v : codebooks) {
      if (!Double.isFinite(v)) {
        throw new IllegalArgumentException("codebooks contain a non-finite value");
      }
    }
    this.featIn = featIn;
    this.codeDim = codeDim;
    this.numBooks = numBooks;
    this.numClasses = numClasses;
    this.combine = combineTimeSteps;
    this.proj = projWeight.clone();
    this.codebooks = codebooks.clone();
  }

  /**
   * NeMo's initialisation from a seed: {@code proj} Xavier-normal, {@code N(0, 2/(fan_in + fan_out))} with
   * fan_in = featIn·combine, fan_out = numBooks·codeDim; codebooks N(0, 1) in float64, each row divided by
   * {@code max(‖row‖, 1e-12)}. The streams are {@link SplittableRandom} splits of {@code seed} (PyTorch's
   * stream cannot be reproduced; load a checkpoint for NeMo's exact weights).
   */
  public static RandomProjectionVectorQuantizer initialise(
      int featIn, int codeDim, int numBooks, int numClasses, int combineTimeSteps, long seed) {
    SplittableRandom root = new SplittableRandom(seed);
    SplittableRandom projRng = root.split();
    SplittableRandom cbRng = root.split();
    int fanIn = featIn * combineTimeSteps;
    int fanOut = numBooks * codeDim;
    double sigma = Math.sqrt(2.0 / (fanIn + fanOut));
    float[] w = new float[fanIn * fanOut];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (sigma * projRng.nextGaussian());
    }
    double[] cb = new double[numBooks * numClasses * codeDim];
    for (int r = 0; r < numBooks * numClasses; r++) {
      double ss = 0;
      for (int d = 0; d < codeDim; d++) {
        double v = cbRng.nextGaussian();
        cb[r * codeDim + d] = v;
        ss += v * v;
      }
      double n = Math.max(Math.sqrt(ss), 1e-12);
      for (int d = 0; d < codeDim; d++) {
        cb[r * codeDim + d] /= n;
      }
    }
    return new RandomProjectionVectorQuantizer(
        featIn, codeDim, numBooks, numClasses, combineTimeSteps, w, cb);
  }

  /** {@link #initialise} with the sizes of {@code model.quantizer.*}. */
  public static RandomProjectionVectorQuantizer of(QuantizerSettings s, long seed) {
    return initialise(
        s.featIn(), s.codeDim(), s.numBooks(), s.numClasses(), s.combineTimeSteps(), seed);
  }

  /** Explicit weights with the sizes of {@code model.quantizer.*}. */
  public static RandomProjectionVectorQuantizer of(
      QuantizerSettings s, float[] projWeight, double[] codebooks) {
    return new RandomProjectionVectorQuantizer(
        s.featIn(),
        s.codeDim(),
        s.numBooks(),
        s.numClasses(),
        s.combineTimeSteps(),
        projWeight,
        codebooks);
  }

  // ------------------------------------------------------------------ accessors

  public int featIn() {
    return featIn;
  }

  public int codeDim() {
    return codeDim;
  }

  public int numBooks() {
    return numBooks;
  }

  public int numClasses() {
    return numClasses;
  }

  public int combineTimeSteps() {
    return combine;
  }

  /** A copy of {@code proj.weight} {@code (H·D, F·combine)}. */
  public float[] projWeight() {
    return proj.clone();
  }

  /** A copy of the codebooks {@code (H, C, D)}. */
  public double[] codebooks() {
    return codebooks.clone();
  }

  /** Code {@code code} of book {@code book} (NeMo's quantised vector {@code xq} for that token). */
  public double[] codeVector(int book, int code) {
    double[] out = new double[codeDim];
    System.arraycopy(codebooks, (book * numClasses + code) * codeDim, out, 0, codeDim);
    return out;
  }

  // ------------------------------------------------------------------ forward

  /** {@link #quantize(float[], int, int, int)} on a feature batch. */
  public QuantizerOutput quantize(FeatureBatch features) {
    return quantize(
        features.data(), features.batchSize(), features.numFeatures(), features.numFrames());
  }

  /**
   * Tokens of a batch with the fast exact search (see the class comment).
   *
   * @param features {@code [B, F, T]} C order, float32 (clean features)
   */
  public QuantizerOutput quantize(float[] features, int batchSize, int numFeatures, int numFrames) {
    float[] z = project(features, batchSize, numFeatures, numFrames);
    return assign(z, batchSize, numFrames / combine, false);
  }

  /**
   * The same tokens by NeMo's plain computation: the float64 distance to every code, argmin with ties to the
   * lowest index. C·D operations per token; a reference for tests and benchmarks.
   */
  public QuantizerOutput quantizeExhaustive(
      float[] features, int batchSize, int numFeatures, int numFrames) {
    float[] z = project(features, batchSize, numFeatures, numFrames);
    return assign(z, batchSize, numFrames / combine, true);
  }

  /**
   * Steps 1–3: the normalised projections z {@code [B, T/combine, H, D]}.
   *
   * @param features {@code [B, F, T]} C order
   */
  public float[] project(float[] features, int batchSize, int numFeatures, int numFrames) {
    Objects.requireNonNull(features, "features");
    if (numFeatures != featIn) {
      throw new IllegalArgumentException(
          "features have " + numFeatures + " channels, the quantizer expects " + featIn);
    }
    if (numFrames % combine != 0) {
      throw new IllegalArgumentException(
          "T = "
              + numFrames
              + " is not a multiple of combine_time_steps = "
              + combine
              + " (pad_to must ensure it)");
    }
    if ((long) batchSize * numFeatures * numFrames != features.length) {
      throw new IllegalArgumentException(
          "features have "
              + features.length
              + " values, not "
              + batchSize
              + "*"
              + numFeatures
              + "*"
              + numFrames);
    }
    int tokens = numFrames / combine;
    int out = numBooks * codeDim;
    double[][] w = tables().projRows;
    float[] z = new float[batchSize * tokens * out];
    // y[o][j] accumulates over the input index i = tl·F + f; the inner loop runs over the tokens j
    // of one
    // utterance (contiguous), which the JIT vectorises. Accumulation in float64, rounded once to
    // float32.
    double[][] y = new double[out][tokens];
    double[] x = new double[tokens];
    for (int b = 0; b < batchSize; b++) {
      for (double[] row : y) {
        java.util.Arrays.fill(row, 0.0);
      }
      for (int tl = 0; tl < combine; tl++) {
        for (int f = 0; f < featIn; f++) {
          int base = (b * featIn + f) * numFrames + tl;
          boolean any = false;
          for (int j = 0; j < tokens; j++) {
            float v = features[base + j * combine];
            x[j] = v;
            any |= v != 0f;
          }
          if (!any) {
            continue; // exact: adding ±0·w changes nothing (NaN and Inf are not 0)
          }
          int i = tl * featIn + f;
          for (int o = 0; o < out; o++) {
            double wo = w[o][i];
            double[] yo = y[o];
            for (int j = 0; j < tokens; j++) {
              yo[j] += wo * x[j];
            }
          }
        }
      }
      for (int j = 0; j < tokens; j++) {
        int zOff = (b * tokens + j) * out;
        for (int h = 0; h < numBooks; h++) {
          double ss = 0;
          for (int d = 0; d < codeDim; d++) {
            float v = (float) y[h * codeDim + d][j];
            ss += (double) v * v;
          }
          float denom = Math.max((float) Math.sqrt(ss), NORMALIZE_EPS);
          for (int d = 0; d < codeDim; d++) {
            z[zOff + h * codeDim + d] = (float) y[h * codeDim + d][j] / denom;
          }
        }
      }
    }
    return z;
  }

  /**
   * Step 4 on given normalised projections z {@code [B, T', H, D]}: tokens and distances.
   *
   * @param exhaustive true: NeMo's plain search over every code; false: the screened exact search
   */
  QuantizerOutput assign(float[] z, int batchSize, int numTokens, boolean exhaustive) {
    int n = batchSize * numTokens;
    if (z.length != n * numBooks * codeDim) {
      throw new IllegalArgumentException(
          "z has " + z.length + " values, expected " + n * numBooks * codeDim);
    }
    Tables t = tables();
    int[] tokens = new int[n * numBooks];
    double[] dist = new double[n * numBooks];
    float[] scores = exhaustive ? null : new float[numClasses];
    int[] cand = exhaustive ? null : new int[numClasses];
    double[] best = new double[1];
    for (int i = 0; i < n; i++) {
      for (int h = 0; h < numBooks; h++) {
        int zOff = (i * numBooks + h) * codeDim;
        int k;
        if (exhaustive) {
          k = exhaustiveArgmin(z, zOff, h, best);
        } else if (isZero(z, zOff, codeDim)) {
          k = t.zeroToken[h];
          best[0] = t.zeroDistance[h];
        } else if (!isFinite(z, zOff, codeDim)) {
          k = exhaustiveArgmin(z, zOff, h, best);
        } else {
          k = screenedArgmin(t, z, zOff, h, scores, cand, best);
        }
        tokens[i * numBooks + h] = k;
        dist[i * numBooks + h] = best[0];
      }
    }
    return new QuantizerOutput(batchSize, numTokens, numBooks, codeDim, tokens, z, dist);
  }

  private static boolean isFinite(float[] z, int off, int n) {
    for (int d = 0; d < n; d++) {
      if (!Float.isFinite(z[off + d])) {
        return false;
      }
    }
    return true;
  }

  private static boolean isZero(float[] z, int off, int n) {
    for (int d = 0; d < n; d++) {
      if (z[off + d] != 0f) {
        return false;
      }
    }
    return true;
  }

  /**
   * NeMo's float64 distance {@code ‖z − c‖₂}: {@code diff = (double) z_d − c_d}, {@code acc = fma(diff, diff,
   * acc)} for d = 0 … D−1 in order, then {@code sqrt}.
   */
  static double distance(float[] z, int zOff, double[] cb, int cOff, int dim) {
    double acc = 0.0;
    for (int d = 0; d < dim; d++) {
      double diff = (double) z[zOff + d] - cb[cOff + d];
      acc = Math.fma(diff, diff, acc);
    }
    return Math.sqrt(acc);
  }

  /** argmin over all codes of book h, ties (and NaN, as torch's argmin) to the lowest index. */
  private int exhaustiveArgmin(float[] z, int zOff, int h, double[] bestOut) {
    int base = h * numClasses;
    double best = Double.POSITIVE_INFINITY;
    int arg = 0;
    boolean first = true;
    for (int k = 0; k < numClasses; k++) {
      double d = distance(z, zOff, codebooks, (base + k) * codeDim, codeDim);
      if (Double.isNaN(d)) {
        bestOut[0] = d;
        return k;
      }
      if (first || d < best) {
        best = d;
        arg = k;
        first = false;
      }
    }
    bestOut[0] = best;
    return arg;
  }

  /**
   * {@code s[c] = h[c] − z_0·f_0[c] − z_1·f_1[c] − …} in this order (D + 1 rounded float32 terms), one code
   * dimension per array so that the JIT vectorises over c.
   */
  private static void score(
      float[] hn, float[][] rows, float[] z, int zOff, int dim, float[] s, int c) {
    System.arraycopy(hn, 0, s, 0, c);
    int d = 0;
    for (; d + 4 <= dim; d += 4) {
      final float z0 = z[zOff + d];
      final float z1 = z[zOff + d + 1];
      final float z2 = z[zOff + d + 2];
      final float z3 = z[zOff + d + 3];
      final float[] r0 = rows[d];
      final float[] r1 = rows[d + 1];
      final float[] r2 = rows[d + 2];
      final float[] r3 = rows[d + 3];
      for (int k = 0; k < c; k++) {
        s[k] = s[k] - z0 * r0[k] - z1 * r1[k] - z2 * r2[k] - z3 * r3[k];
      }
    }
    for (; d < dim; d++) {
      final float zd = z[zOff + d];
      final float[] r = rows[d];
      for (int k = 0; k < c; k++) {
        s[k] = s[k] - zd * r[k];
      }
    }
  }

  private int screenedArgmin(
      Tables t, float[] z, int zOff, int h, float[] s, int[] cand, double[] bestOut) {
    final int c = numClasses;
    score(t.halfNorm[h], t.cbRows[h], z, zOff, codeDim, s, c);
    double zn = 0;
    for (int i = 0; i < codeDim; i++) {
      zn += (double) z[zOff + i] * z[zOff + i];
    }
    zn = Math.sqrt(zn) * (1 + 1e-12);
    double m = t.maxNorm[h];
    double eps = t.gamma * (0.5 * m * m + zn * m) * 1.01;
    double tau = 2 * eps + 1e-9 * (zn + m) * (zn + m);
    // One pass: keep every code within tau of the running minimum. The running minimum only
    // decreases, so
    // the kept set contains every code within tau of the final minimum (filtered below). The
    // thresholds are
    // the float just above min + tau, so rounding never drops a code the bound requires.
    float run = Float.POSITIVE_INFINITY;
    float runThreshold = Float.POSITIVE_INFINITY;
    int n = 0;
    for (int k = 0; k < c; k++) {
      float v = s[k];
      if (v <= runThreshold) {
        if (v < run) {
          run = v;
          runThreshold = Math.nextUp((float) (v + tau));
        }
        cand[n++] = k;
      }
    }
    if (n == 0 || !Float.isFinite(run)) { // only with overflowing scores; z is finite here
      return exhaustiveArgmin(z, zOff, h, bestOut);
    }
    int base = h * c;
    double best = Double.POSITIVE_INFINITY;
    int arg = -1;
    for (int i = 0; i < n; i++) { // increasing code index: the first minimum wins ties
      int k = cand[i];
      if (s[k] <= runThreshold) {
        double dist = distance(z, zOff, codebooks, (base + k) * codeDim, codeDim);
        if (dist < best) {
          best = dist;
          arg = k;
        }
      }
    }
    bestOut[0] = best;
    return arg;
  }

  // ------------------------------------------------------------------ derived tables

  private Tables tables() {
    Tables t = tables;
    if (t == null) {
      synchronized (this) {
        t = tables;
        if (t == null) {
          t = new Tables(this);
          tables = t;
        }
      }
    }
    return t;
  }

  /** Read-only tables derived from the weights. */
  private static final class Tables {
    /** proj as float64 rows {@code [H·D][F·combine]}. */
    final double[][] projRows;

    /** float32 codebooks, one array per (book, dimension): {@code cbRows[h][d][c]}. */
    final float[][][] cbRows;

    final float[][] halfNorm;
    final double[] maxNorm;
    final double gamma;
    final int[] zeroToken;
    final double[] zeroDistance;

    Tables(RandomProjectionVectorQuantizer q) {
      int out = q.numBooks * q.codeDim;
      int in = q.featIn * q.combine;
      projRows = new double[out][in];
      for (int o = 0; o < out; o++) {
        for (int i = 0; i < in; i++) {
          projRows[o][i] = q.proj[o * in + i];
        }
      }
      int c = q.numClasses;
      int dim = q.codeDim;
      cbRows = new float[q.numBooks][dim][c];
      halfNorm = new float[q.numBooks][c];
      maxNorm = new double[q.numBooks];
      zeroToken = new int[q.numBooks];
      zeroDistance = new double[q.numBooks];
      float[] zero = new float[dim];
      for (int h = 0; h < q.numBooks; h++) {
        double mx = 0;
        double bestZero = Double.POSITIVE_INFINITY;
        for (int k = 0; k < c; k++) {
          int off = (h * c + k) * dim;
          double ss = 0;
          for (int d = 0; d < dim; d++) {
            double v = q.codebooks[off + d];
            cbRows[h][d][k] = (float) v;
            ss += v * v;
          }
          halfNorm[h][k] = (float) (0.5 * ss);
          mx = Math.max(mx, Math.sqrt(ss));
          double dz = distance(zero, 0, q.codebooks, off, dim);
          if (dz < bestZero) {
            bestZero = dz;
            zeroToken[h] = k;
          }
        }
        maxNorm[h] = mx * (1 + 1e-12);
        zeroDistance[h] = bestZero;
      }
      int n = dim + 4;
      gamma = n * U32 / (1 - n * U32);
    }
  }

  @Override
  public String toString() {
    return "RandomProjectionVectorQuantizer(feat_in "
        + featIn
        + " x "
        + combine
        + " -> "
        + numBooks
        + " x "
        + codeDim
        + ", "
        + numClasses
        + " codes, l2)";
  }
}
