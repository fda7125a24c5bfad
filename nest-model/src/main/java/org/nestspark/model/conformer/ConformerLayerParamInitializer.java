package org.nestspark.model.conformer;

import static org.nestspark.model.conformer.ConformerLayer.*;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.random.impl.UniformDistribution;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Parameter layout and initialisation of {@link ConformerLayer} (docs/nest-numerics.md §6.8, §6.9).
 *
 * <p>Every parameter is a C-order view of the layer's flat parameter vector in NeMo's shape: Linear
 * weights {@code (out, in)}, Conv1d weights {@code (out, in/groups, k)}, {@code pos_bias_u/v (h, d_k)},
 * norm vectors {@code (d)}. The trainable parameters come first, in NeMo's state-dict order, then the
 * BatchNorm buffers (so that the trainable ones form one contiguous updater block).
 *
 * <p>Initialisation follows PyTorch's defaults (NeMo does not re-initialise the encoder): Linear and
 * Conv weights and biases {@code U(−1/√fan_in, 1/√fan_in)} with fan_in = in_features, or
 * in_channels/groups × kernel; LayerNorm/BatchNorm weight 1 and bias 0; running mean 0, running var 1,
 * counter 0; pos_bias_u/v 0. Random numbers come from {@code Nd4j.getRandom()} (seeded by DL4J from the
 * network configuration), so values cannot match PyTorch's: parity needs loaded weights.
 */
public final class ConformerLayerParamInitializer implements ParamInitializer {
  private static final ConformerLayerParamInitializer INSTANCE =
      new ConformerLayerParamInitializer();

  /** Shape and init rule of one parameter. */
  private static final class Spec {
    final String name;
    final long[] shape;

    /** > 0: uniform bound 1/√fanIn; 0: constant {@link #value}. */
    final long fanIn;

    final double value;
    final boolean bias;

    Spec(String name, long[] shape, long fanIn, double value, boolean bias) {
      this.name = name;
      this.shape = shape;
      this.fanIn = fanIn;
      this.value = value;
      this.bias = bias;
    }

    long length() {
      long n = 1;
      for (long s : shape) {
        n *= s;
      }
      return n;
    }
  }

  private ConformerLayerParamInitializer() {}

  public static ConformerLayerParamInitializer getInstance() {
    return INSTANCE;
  }

  private static ConformerLayer conf(Layer layer) {
    if (!(layer instanceof ConformerLayer)) {
      throw new IllegalArgumentException("not a ConformerLayer: " + layer);
    }
    return (ConformerLayer) layer;
  }

  private static List<Spec> specs(ConformerLayer c) {
    long d = c.getDModel();
    long f = c.ffHidden();
    long k = c.getConvKernelSize();
    long h = c.getNHeads();
    long dk = c.headDim();
    List<Spec> s = new ArrayList<>();
    norm(s, NORM_FF1_W, NORM_FF1_B, d);
    linear(s, FF1_LINEAR1_W, FF1_LINEAR1_B, f, d);
    linear(s, FF1_LINEAR2_W, FF1_LINEAR2_B, d, f);
    norm(s, NORM_CONV_W, NORM_CONV_B, d);
    s.add(new Spec(CONV_PW1_W, new long[] {2 * d, d, 1}, d, 0, false));
    s.add(new Spec(CONV_PW1_B, new long[] {2 * d}, d, 0, true));
    s.add(new Spec(CONV_DW_W, new long[] {d, 1, k}, k, 0, false));
    s.add(new Spec(CONV_DW_B, new long[] {d}, k, 0, true));
    norm(s, CONV_NORM_W, CONV_NORM_B, d);
    s.add(new Spec(CONV_PW2_W, new long[] {d, d, 1}, d, 0, false));
    s.add(new Spec(CONV_PW2_B, new long[] {d}, d, 0, true));
    norm(s, NORM_ATT_W, NORM_ATT_B, d);
    s.add(new Spec(ATT_POS_BIAS_U, new long[] {h, dk}, 0, 0.0, false));
    s.add(new Spec(ATT_POS_BIAS_V, new long[] {h, dk}, 0, 0.0, false));
    linear(s, ATT_Q_W, ATT_Q_B, d, d);
    linear(s, ATT_K_W, ATT_K_B, d, d);
    linear(s, ATT_V_W, ATT_V_B, d, d);
    linear(s, ATT_OUT_W, ATT_OUT_B, d, d);
    s.add(new Spec(ATT_POS_W, new long[] {d, d}, d, 0, false));
    norm(s, NORM_FF2_W, NORM_FF2_B, d);
    linear(s, FF2_LINEAR1_W, FF2_LINEAR1_B, f, d);
    linear(s, FF2_LINEAR2_W, FF2_LINEAR2_B, d, f);
    norm(s, NORM_OUT_W, NORM_OUT_B, d);
    if (c.usesBatchNorm()) {
      s.add(new Spec(CONV_BN_MEAN, new long[] {d}, 0, 0.0, false));
      s.add(new Spec(CONV_BN_VAR, new long[] {d}, 0, 1.0, false));
      s.add(new Spec(CONV_BN_COUNT, new long[] {1}, 0, 0.0, false));
    }
    return s;
  }

  private static void norm(List<Spec> s, String w, String b, long d) {
    s.add(new Spec(w, new long[] {d}, 0, 1.0, false));
    s.add(new Spec(b, new long[] {d}, 0, 0.0, true));
  }

  private static void linear(List<Spec> s, String w, String b, long out, long in) {
    s.add(new Spec(w, new long[] {out, in}, in, 0, false));
    s.add(new Spec(b, new long[] {out}, in, 0, true));
  }

  /** The parameters' shapes, in flat-vector order. */
  public Map<String, long[]> shapes(ConformerLayer c) {
    Map<String, long[]> m = new LinkedHashMap<>();
    for (Spec s : specs(c)) {
      m.put(s.name, s.shape.clone());
    }
    return m;
  }

  /** Trainable parameters (all but the BatchNorm buffers): NeMo's per-layer count. */
  public long numTrainableParams(ConformerLayer c) {
    long n = 0;
    for (Spec s : specs(c)) {
      if (!isBufferParam(s.name)) {
        n += s.length();
      }
    }
    return n;
  }

  @Override
  public long numParams(NeuralNetConfiguration conf) {
    return numParams(conf.getLayer());
  }

  @Override
  public long numParams(Layer layer) {
    long n = 0;
    for (Spec s : specs(conf(layer))) {
      n += s.length();
    }
    return n;
  }

  @Override
  public List<String> paramKeys(Layer layer) {
    List<String> keys = new ArrayList<>();
    for (Spec s : specs(conf(layer))) {
      keys.add(s.name);
    }
    return Collections.unmodifiableList(keys);
  }

  @Override
  public List<String> weightKeys(Layer layer) {
    List<String> keys = new ArrayList<>();
    for (Spec s : specs(conf(layer))) {
      if (!s.bias && !isBufferParam(s.name)) {
        keys.add(s.name);
      }
    }
    return keys;
  }

  @Override
  public List<String> biasKeys(Layer layer) {
    List<String> keys = new ArrayList<>();
    for (Spec s : specs(conf(layer))) {
      if (s.bias) {
        keys.add(s.name);
      }
    }
    return keys;
  }

  @Override
  public boolean isWeightParam(Layer layer, String key) {
    return weightKeys(layer).contains(key);
  }

  @Override
  public boolean isBiasParam(Layer layer, String key) {
    return biasKeys(layer).contains(key);
  }

  @Override
  public Map<String, INDArray> init(
      NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
    Map<String, INDArray> views = views(conf(conf.getLayer()), paramsView);
    if (initializeParams) {
      for (Spec s : specs(conf(conf.getLayer()))) {
        INDArray v = views.get(s.name);
        if (s.fanIn > 0) {
          double bound = 1.0 / Math.sqrt(s.fanIn);
          Nd4j.getExecutioner().exec(new UniformDistribution(v, -bound, bound), Nd4j.getRandom());
        } else {
          v.assign(s.value);
        }
      }
    }
    return views;
  }

  @Override
  public Map<String, INDArray> getGradientsFromFlattened(
      NeuralNetConfiguration conf, INDArray gradientView) {
    return views(conf(conf.getLayer()), gradientView);
  }

  private static Map<String, INDArray> views(ConformerLayer c, INDArray flat) {
    List<Spec> specs = specs(c);
    long total = 0;
    for (Spec s : specs) {
      total += s.length();
    }
    if (flat.length() != total) {
      throw new IllegalArgumentException(
          "flat parameter array has " + flat.length() + " values, the layer needs " + total);
    }
    INDArray row = flat.reshape(flat.length());
    Map<String, INDArray> m = new LinkedHashMap<>();
    long off = 0;
    for (Spec s : specs) {
      long n = s.length();
      INDArray v = row.get(NDArrayIndex.interval(off, off + n)).reshape('c', s.shape);
      m.put(s.name, v);
      off += n;
    }
    return m;
  }
}
