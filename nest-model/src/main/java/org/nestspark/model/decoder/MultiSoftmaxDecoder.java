package org.nestspark.model.decoder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nestspark.model.nn.ParamSpec;

/**
 * NeMo's {@code MultiSoftmaxDecoder} with {@code MultiMLMLoss} as the output layer of the NEST graph
 * (docs/nest-numerics.md §7): the configuration half (JSON-serializable); the computation is in
 * {@link MultiSoftmaxDecoderImpl}.
 *
 * <p>Input {@code [B, d, T']} (NCW). Decoder: Conv1d(d → num_classes·num_decoders, kernel 1, bias) =
 * a Linear on every step; the channel index is {@code class·H + book} (H = num_decoders), log_softmax over
 * the classes of each book. The layer's activation (inference) is these log-probabilities as
 * {@code [B, num_classes·H, T']} in that channel order (NeMo's {@code (B, T', num_classes, H)} transposed).
 *
 * <p>Loss: labels are token indices {@code [B, H, T']} as floats (not one-hot); the labels mask
 * {@code [B, T']} is the token selection (1 = a masked token that counts). The score is NeMo's: the mean
 * over the selected (b, t) of −log p[target], averaged over books. Parameter gradients are exactly NeMo's
 * once DL4J's updater has divided them by the minibatch size (the layer multiplies by it). A batch
 * without any selected token scores 0 with zero gradients (NeMo: NaN, docs/nest-numerics.md §14.6), detectable through
 * {@link MultiSoftmaxDecoderImpl#getLastNumSelected()}.
 *
 * <p>Parameters (key suffix after {@code decoder.}): {@code W} (num_classes·H, d, 1)
 * [{@code decoder_layers.0.weight}], Xavier-uniform ±sqrt(6 / (d + num_classes·H)); {@code b}
 * (num_classes·H) [{@code decoder_layers.0.bias}], U(±1/sqrt(d)). {@code squeeze_single} only changes
 * NeMo's output shape and has no counterpart here.
 */
public class MultiSoftmaxDecoder extends FeedForwardLayer {
  private static final long serialVersionUID = 1L;

  /** {@code decoder_layers.0.weight}. */
  public static final String WEIGHT = "W";

  /** {@code decoder_layers.0.bias}. */
  public static final String BIAS = "b";

  private int featIn;
  private int numClasses = 8192;
  private int numDecoders = 1;
  private boolean useBias = true;
  private String kernels = "auto";

  /** For JSON; set the fields before use. */
  public MultiSoftmaxDecoder() {}

  private MultiSoftmaxDecoder(Builder b) {
    super(b);
    this.featIn = b.featIn;
    this.numClasses = b.numClasses;
    this.numDecoders = b.numDecoders;
    this.useBias = b.useBias;
    this.kernels = b.kernels;
    this.nIn = b.featIn;
    this.nOut = (long) b.numClasses * b.numDecoders;
    validate();
  }

  /** Checks the configuration; called by the builder and on instantiation. */
  public void validate() {
    if (featIn <= 0 || numClasses <= 1 || numDecoders <= 0) {
      throw new IllegalArgumentException(
          "decoder feat_in, num_classes (> 1) and num_decoders must be positive: "
              + featIn
              + ", "
              + numClasses
              + ", "
              + numDecoders);
    }
  }

  /** Output channels: num_classes · num_decoders. */
  public long outChannels() {
    return (long) numClasses * numDecoders;
  }

  /** The parameters, in flattening order. */
  public List<ParamSpec> paramSpecs() {
    List<ParamSpec> out = new ArrayList<>();
    out.add(
        ParamSpec.weight(
            WEIGHT, Math.sqrt(6.0 / (featIn + outChannels())), outChannels(), featIn, 1));
    if (useBias) {
      out.add(ParamSpec.bias(BIAS, 1.0 / Math.sqrt(featIn), outChannels()));
    }
    return out;
  }

  /** NeMo state-dict key suffixes (after {@code decoder.}) to DL4J parameter names. */
  public Map<String, String> nemoKeyToParam() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("decoder_layers.0.weight", WEIGHT);
    if (useBias) {
      m.put("decoder_layers.0.bias", BIAS);
    }
    return Collections.unmodifiableMap(m);
  }

  // ------------------------------------------------------------------ DL4J Layer

  @Override
  public org.deeplearning4j.nn.api.Layer instantiate(
      NeuralNetConfiguration conf,
      Collection<TrainingListener> trainingListeners,
      int layerIndex,
      INDArray layerParamsView,
      boolean initializeParams,
      DataType networkDataType) {
    validate();
    MultiSoftmaxDecoderImpl layer = new MultiSoftmaxDecoderImpl(conf, networkDataType);
    layer.setListeners(trainingListeners);
    layer.setIndex(layerIndex);
    layer.setParamsViewArray(layerParamsView);
    Map<String, INDArray> table = initializer().init(conf, layerParamsView, initializeParams);
    layer.setParamTable(table);
    layer.setConf(conf);
    return layer;
  }

  @Override
  public ParamInitializer initializer() {
    return MultiSoftmaxDecoderParamInitializer.getInstance();
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    return InputType.recurrent(outChannels(), r.getTimeSeriesLength(), RNNFormat.NCW);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    if (r.getSize() != featIn) {
      throw new IllegalStateException(
          "MultiSoftmaxDecoder "
              + layerName
              + ": input size "
              + r.getSize()
              + " != feat_in "
              + featIn);
    }
    this.nIn = featIn;
    this.nOut = outChannels();
  }

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    requireRecurrent(inputType);
    return null;
  }

  private InputType.InputTypeRecurrent requireRecurrent(InputType inputType) {
    if (!(inputType instanceof InputType.InputTypeRecurrent)) {
      throw new IllegalStateException(
          "MultiSoftmaxDecoder "
              + layerName
              + " needs recurrent input [B, d, T'], got "
              + inputType);
    }
    InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
    if (r.getFormat() != RNNFormat.NCW) {
      throw new IllegalStateException(
          "MultiSoftmaxDecoder " + layerName + " supports NCW input only");
    }
    return r;
  }

  @Override
  public boolean isPretrainParam(String paramName) {
    return false;
  }

  @Override
  public LayerMemoryReport getMemoryReport(InputType inputType) {
    InputType out = getOutputType(-1, inputType);
    long params = initializer().numParams(this);
    return new LayerMemoryReport.Builder(layerName, MultiSoftmaxDecoder.class, inputType, out)
        .standardMemory(params, params)
        .workingMemory(0, 0, 0, 0)
        .cacheMemory(0, 0)
        .build();
  }

  // ------------------------------------------------------------------ getters / setters

  public int getFeatIn() {
    return featIn;
  }

  public void setFeatIn(int featIn) {
    this.featIn = featIn;
    this.nIn = featIn;
  }

  public int getNumClasses() {
    return numClasses;
  }

  public void setNumClasses(int numClasses) {
    this.numClasses = numClasses;
    this.nOut = outChannels();
  }

  public int getNumDecoders() {
    return numDecoders;
  }

  public void setNumDecoders(int numDecoders) {
    this.numDecoders = numDecoders;
    this.nOut = outChannels();
  }

  public boolean isUseBias() {
    return useBias;
  }

  public void setUseBias(boolean useBias) {
    this.useBias = useBias;
  }

  /** {@code model.kernels}: {@code auto}, {@code java} or {@code nd4j} (see {@link org.nestspark.model.nn.Kernels}). */
  public String getKernels() {
    return kernels;
  }

  public void setKernels(String kernels) {
    this.kernels = kernels;
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof MultiSoftmaxDecoder) || !super.equals(o)) {
      return false;
    }
    MultiSoftmaxDecoder c = (MultiSoftmaxDecoder) o;
    return featIn == c.featIn
        && numClasses == c.numClasses
        && numDecoders == c.numDecoders
        && useBias == c.useBias
        && java.util.Objects.equals(kernels, c.kernels);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(
        super.hashCode(), featIn, numClasses, numDecoders, useBias, kernels);
  }

  @Override
  public String toString() {
    return "MultiSoftmaxDecoder(name="
        + layerName
        + ", feat_in="
        + featIn
        + ", num_classes="
        + numClasses
        + ", num_decoders="
        + numDecoders
        + ", use_bias="
        + useBias
        + ", kernels="
        + kernels
        + ")";
  }

  /** Builder; NeMo's NEST defaults except feat_in (= d_model), which is required. */
  public static class Builder extends FeedForwardLayer.Builder<Builder> {
    private int featIn;
    private int numClasses = 8192;
    private int numDecoders = 1;
    private boolean useBias = true;
    private String kernels = "auto";

    /** {@code feat_in} (the encoder's d_model). */
    public Builder featIn(int v) {
      this.featIn = v;
      this.nIn = v;
      return this;
    }

    /** {@code num_classes}. */
    public Builder numClasses(int v) {
      this.numClasses = v;
      return this;
    }

    /** {@code num_decoders} (= num_books). */
    public Builder numDecoders(int v) {
      this.numDecoders = v;
      return this;
    }

    /** {@code use_bias}. */
    public Builder useBias(boolean v) {
      this.useBias = v;
      return this;
    }

    /** {@code model.kernels} (see {@link org.nestspark.model.nn.Kernels}). */
    public Builder kernels(String v) {
      this.kernels = org.nestspark.model.nn.Kernels.parse(v).configName();
      return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public MultiSoftmaxDecoder build() {
      return new MultiSoftmaxDecoder(this);
    }
  }
}
