package org.nestspark.model.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A DL4J {@link ParamInitializer} for layers whose parameters are listed as {@link ParamSpec}s: the
 * flattened parameter vector holds the tensors in list order, each as a C-order view of exactly its
 * NeMo shape (so a state-dict tensor is copied in as is), gradients likewise. Initial values are
 * U(−bound, bound) drawn from {@code Nd4j.getRandom()} (PyTorch's defaults, docs/nest-numerics.md §6.8; the RNG streams
 * cannot match PyTorch, parity tests load weights).
 */
public abstract class NemoParamInitializer implements ParamInitializer {

  /** The parameters of this layer configuration, in flattening order. */
  public abstract List<ParamSpec> specs(Layer layer);

  @Override
  public long numParams(NeuralNetConfiguration conf) {
    return numParams(conf.getLayer());
  }

  @Override
  public long numParams(Layer layer) {
    long n = 0;
    for (ParamSpec s : specs(layer)) {
      n += s.length();
    }
    return n;
  }

  @Override
  public List<String> paramKeys(Layer layer) {
    List<String> out = new ArrayList<>();
    for (ParamSpec s : specs(layer)) {
      out.add(s.name());
    }
    return out;
  }

  @Override
  public List<String> weightKeys(Layer layer) {
    return keysOf(layer, ParamSpec.Kind.WEIGHT);
  }

  @Override
  public List<String> biasKeys(Layer layer) {
    return keysOf(layer, ParamSpec.Kind.BIAS);
  }

  private List<String> keysOf(Layer layer, ParamSpec.Kind kind) {
    List<String> out = new ArrayList<>();
    for (ParamSpec s : specs(layer)) {
      if (s.kind() == kind) {
        out.add(s.name());
      }
    }
    return out;
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
    Map<String, INDArray> views = views(conf.getLayer(), paramsView);
    for (ParamSpec s : specs(conf.getLayer())) {
      INDArray v = views.get(s.name());
      if (initializeParams) {
        double a = s.uniformBound();
        v.assign(Nd4j.rand(v.dataType(), v.shape()).muli(2 * a).subi(a));
      }
      conf.addVariable(s.name());
    }
    return Collections.synchronizedMap(views);
  }

  @Override
  public Map<String, INDArray> getGradientsFromFlattened(
      NeuralNetConfiguration conf, INDArray gradientView) {
    return views(conf.getLayer(), gradientView);
  }

  private Map<String, INDArray> views(Layer layer, INDArray flat) {
    long expected = numParams(layer);
    if (flat.length() != expected) {
      throw new IllegalStateException(
          "expected a parameter view of length " + expected + ", got " + flat.length());
    }
    INDArray v = flat.reshape(flat.length());
    Map<String, INDArray> out = new LinkedHashMap<>();
    long offset = 0;
    for (ParamSpec s : specs(layer)) {
      long n = s.length();
      out.put(s.name(), v.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', s.shape()));
      offset += n;
    }
    return out;
  }
}
