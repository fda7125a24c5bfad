package org.nestspark.extract;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.model.NestGraph;

/**
 * Per-layer encoder outputs of utterances, as NeMo's {@code scripts/ssl/extract_features.py} computes
 * them (docs/nest-numerics.md §10) but in eval mode (docs/nest-numerics.md §14: the script never calls {@code eval()}; here there is no
 * dither, no dropout and BatchNorm uses its running statistics): log-mel features of a zero-padded batch
 * ({@link FilterbankFeatures}, per-utterance normalisation over each utterance's valid frames), the
 * encoder up to the deepest requested ConformerLayer (the decoder is not run), and for each utterance
 * the requested layers' outputs (each layer's return value, after {@code norm_out}) stacked in the
 * requested order and cut to the utterance's encoder length: float32 {@code [L, d, T_valid]}.
 *
 * <p>Padding does not change valid outputs in eval mode (masks in subsampling, attention and the
 * convolution module), so batches of several utterances give the batch-of-one results up to float
 * rounding. Not thread-safe (one per task); memory is bounded by one batch: the requested layers'
 * activations off-heap ({@code L · B · d · T'} floats; Large, 17 layers, 8 × 10 s: 350 MB), the
 * per-utterance outputs on the heap (the same, without padding) and one layer's copy.
 */
public final class LayerExtractor {
  private final ComputationGraph graph;
  private final FilterbankFeatures features;
  private final int[] layers;
  private final List<String> layerNames;
  private long featurizeNanos;
  private long encoderNanos;

  /**
   * @param graph a NEST graph (with or without decoder)
   * @param features the model's featurizer
   * @param layers 0-based layer indices in output order ({@link #parseLayers})
   */
  public LayerExtractor(ComputationGraph graph, FilterbankFeatures features, int[] layers) {
    this.graph = graph;
    this.features = features;
    this.layers = layers.clone();
    int n = NestGraph.numLayers(graph);
    List<String> names = new ArrayList<>();
    for (int l : layers) {
      if (l < 0 || l >= n) {
        throw new IllegalArgumentException(
            "layer " + l + " does not exist (the model has " + n + " layers: 0.." + (n - 1) + ")");
      }
      names.add(NestGraph.layerName(l));
    }
    this.layerNames = List.copyOf(names);
  }

  /**
   * NeMo's {@code --layers}: {@code all} (every layer in order), {@code last}, or a comma-separated list
   * of 0-based indices (kept in the given order; duplicates are an error).
   *
   * @throws IllegalArgumentException naming the bad item
   */
  public static int[] parseLayers(String spec, int numLayers) {
    String s = spec.strip().toLowerCase(Locale.ROOT);
    if (s.equals("all")) {
      int[] all = new int[numLayers];
      for (int i = 0; i < numLayers; i++) {
        all[i] = i;
      }
      return all;
    }
    if (s.equals("last")) {
      return new int[] {numLayers - 1};
    }
    Set<Integer> out = new LinkedHashSet<>();
    for (String part : s.split(",")) {
      String p = part.strip();
      int i;
      try {
        i = Integer.parseInt(p);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "--layers " + spec + ": '" + p + "' is not all, last or a layer index");
      }
      if (i < 0 || i >= numLayers) {
        throw new IllegalArgumentException(
            "--layers "
                + spec
                + ": layer "
                + i
                + " does not exist (the model has "
                + numLayers
                + " layers, 0.."
                + (numLayers - 1)
                + ")");
      }
      if (!out.add(i)) {
        throw new IllegalArgumentException(
            "--layers " + spec + ": layer " + i + " is listed twice");
      }
    }
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /** The layers extracted, in output order. */
  public int[] layers() {
    return layers.clone();
  }

  /** One utterance's output: {@code [layers, dim, frames]} float32, C order. */
  public record Output(int layers, int dim, int frames, float[] values) {
    /** The values of layer slot {@code l} ({@code [dim, frames]}). */
    public float[] layer(int l) {
      int n = dim * frames;
      return Arrays.copyOfRange(values, l * n, (l + 1) * n);
    }
  }

  /** Extracts a batch of utterances (mono samples at the model's rate; each row its own length). */
  public List<Output> extract(float[][] audio) {
    long t0 = System.nanoTime();
    FeatureBatch fb = features.compute(audio);
    long t1 = System.nanoTime();
    List<Output> out = extract(fb);
    featurizeNanos += t1 - t0;
    return out;
  }

  /** Extracts from features already computed ({@code [B, F, T]} with valid lengths). */
  public List<Output> extract(FeatureBatch fb) {
    long t0 = System.nanoTime();
    int b = fb.batchSize();
    int t = fb.numFrames();
    INDArray x = fb.toINDArray();
    float[] mask = new float[b * t];
    for (int i = 0; i < b; i++) {
      Arrays.fill(mask, i * t, i * t + fb.length(i), 1f);
    }
    INDArray fMask = Nd4j.create(mask, new long[] {b, t}, 'c');
    int[] encLengths = new int[b];
    INDArray encMask =
        graph
            .getLayer(NestGraph.PRE_ENCODE)
            .feedForwardMaskArray(fMask, MaskState.Active, b)
            .getFirst();
    for (int i = 0; i < b; i++) {
      encLengths[i] = encMask.getRow(i).sumNumber().intValue();
    }
    // only the requested layers' activations leave DL4J's workspaces; nothing past the deepest one
    // is computed
    INDArray[] acts = graph.output(layerNames, false, new INDArray[] {x}, new INDArray[] {fMask});
    // copy one layer at a time straight into the per-utterance outputs (heap: the outputs + one
    // layer)
    int d = (int) acts[0].size(1);
    int tEnc = (int) acts[0].size(2);
    float[][] values = new float[b][];
    for (int i = 0; i < b; i++) {
      values[i] = new float[layers.length * d * encLengths[i]];
    }
    for (int l = 0; l < layers.length; l++) {
      float[] src = acts[l].dup('c').data().asFloat();
      acts[l] = null;
      for (int i = 0; i < b; i++) {
        int len = encLengths[i];
        for (int c = 0; c < d; c++) {
          System.arraycopy(src, (i * d + c) * tEnc, values[i], (l * d + c) * len, len);
        }
      }
    }
    List<Output> out = new ArrayList<>(b);
    for (int i = 0; i < b; i++) {
      out.add(new Output(layers.length, d, encLengths[i], values[i]));
    }
    encoderNanos += System.nanoTime() - t0;
    return out;
  }

  /** Seconds spent featurizing so far. */
  public double featurizeSeconds() {
    return featurizeNanos / 1e9;
  }

  /** Seconds spent in the encoder (incl. copying outputs) so far. */
  public double encoderSeconds() {
    return encoderNanos / 1e9;
  }
}
