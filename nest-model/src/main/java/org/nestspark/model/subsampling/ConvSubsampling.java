package org.nestspark.model.subsampling;

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
 * NeMo's {@code ConvSubsampling} with {@code subsampling: dw_striding} followed by the encoder's
 * positional scaling (docs/nest-numerics.md §6.1, §6.2), as a hand-written DL4J layer: the configuration half
 * (JSON-serializable, shipped to Spark workers); the computation is in {@link ConvSubsamplingImpl}.
 *
 * <p>Input {@code [B, feat_in, T]} log-mel features (DL4J recurrent NCW, {@code InputType.recurrent(80)})
 * with the features mask {@code [B, T]} (1 = valid frame, prefix ones). Treated as an image
 * {@code (B, 1, T, feat_in)} (time = height): Conv2d(1→C, 3×3, stride 2, pad 1) + ReLU, then
 * log2(factor) − 1 times [depthwise Conv2d(C, 3×3, stride 2, pad 1, groups C) → pointwise Conv2d(C→C, 1×1)
 * → ReLU]; flatten to {@code (B, T', C·F')} with feature index {@code c·F' + f}; Linear(C·F' → d_model);
 * then ×sqrt(d_model) ({@code xscaling}) and dropout {@code dropout_pre_encoder} (training only).
 * Output {@code [B, d_model, T']} NCW.
 *
 * <p><b>Masking (NeMo's {@code MaskedConvSequential}, new in mid-2025, docs/nest-numerics.md §14.12):</b> before every
 * module of the convolution stack the activation is multiplied by the time mask of the current length;
 * each stride-2 convolution maps a length L to {@code floor((L − 1) / 2) + 1 = ceil(L / 2)}; a final mask
 * follows the last ReLU. So padded steps enter {@code out} as zeros and leave it as its bias (×sqrt(d)),
 * which NeMo keeps (the golden data matches at all positions). The layer turns the features mask into the
 * encoder-rate mask {@code [B, T']} with lengths {@code ceil(L/2^k)} ({@code feedForwardMaskArray}), which
 * DL4J hands to every following layer. Masks must be prefixes of ones (lengths).
 *
 * <p>Parameters in NeMo's shapes and order (state-dict key suffix after {@code encoder.pre_encode.} in
 * brackets): {@code conv0W} (C,1,3,3) [{@code conv.0.weight}], {@code conv0B} [{@code conv.0.bias}];
 * per further stage s = 1…k−1 the depthwise {@code conv(3s−1)W} (C,1,3,3) and pointwise
 * {@code conv(3s)W} (C,C,1,1) with their biases (k = 3: conv2, conv3, conv5, conv6); {@code outW}
 * (d, C·F') [{@code out.weight}], {@code outB}. See {@link #nemoKeyToParam()}. Count for factor 8 and
 * feat_in 80: {@code 2·C² + 32·C + 10·C·d + d} (590,000 for C = 256, d = 176; docs/nest-numerics.md §6.9).
 */
public class ConvSubsampling extends FeedForwardLayer {
  private static final long serialVersionUID = 1L;

  private int featIn = 80;
  private int dModel;
  private int subsamplingFactor = 8;
  private int convChannels = 256;
  private boolean xscaling = true;
  private double dropoutPreEncoder = 0.1;
  private boolean inputGradient = true;
  private String kernels = "auto";

  /** For JSON; set the fields before use. */
  public ConvSubsampling() {}

  private ConvSubsampling(Builder b) {
    super(b);
    this.featIn = b.featIn;
    this.dModel = b.dModel;
    this.subsamplingFactor = b.subsamplingFactor;
    this.convChannels = b.convChannels;
    this.xscaling = b.xscaling;
    this.dropoutPreEncoder = b.dropoutPreEncoder;
    this.inputGradient = b.inputGradient;
    this.kernels = b.kernels;
    this.nIn = b.featIn;
    this.nOut = b.dModel;
    validate();
  }

  /** Checks the configuration; called by the builder and on instantiation. */
  public void validate() {
    if (featIn <= 0 || dModel <= 0 || convChannels <= 0) {
      throw new IllegalArgumentException(
          "feat_in, d_model and subsampling_conv_channels must be positive: "
              + featIn
              + ", "
              + dModel
              + ", "
              + convChannels);
    }
    if (subsamplingFactor < 2 || Integer.bitCount(subsamplingFactor) != 1) {
      throw new IllegalArgumentException(
          "subsampling_factor must be a power of 2 >= 2: " + subsamplingFactor);
    }
    if (!(dropoutPreEncoder >= 0 && dropoutPreEncoder < 1)) {
      throw new IllegalArgumentException(
          "dropout_pre_encoder must be in [0, 1): " + dropoutPreEncoder);
    }
  }

  // ------------------------------------------------------------------ geometry

  /** Number of stride-2 convolutions: log2(subsampling_factor). */
  public int numStages() {
    return Integer.numberOfTrailingZeros(subsamplingFactor);
  }

  /** Length after the stack: {@code ceil(len / 2)} applied {@link #numStages()} times (0 stays 0). */
  public int outLength(int len) {
    int l = len;
    for (int s = 0; s < numStages(); s++) {
      l = DepthwiseConv2dS2.outSize(l);
    }
    return l;
  }

  /** Frequency width entering {@code out}: feat_in halved (ceil) per stage, 10 for 80 and factor 8. */
  public int outFreq() {
    return outLength(featIn);
  }

  /** NeMo module index of the depthwise convolution of stage s (1-based): 2, 5, 8, … */
  static int depthwiseIndex(int stage) {
    return 3 * stage - 1;
  }

  /** NeMo module index of the pointwise convolution of stage s (1-based): 3, 6, 9, … */
  static int pointwiseIndex(int stage) {
    return 3 * stage;
  }

  /** Parameter name of {@code pre_encode.conv.<index>.weight}. */
  public static String convW(int index) {
    return "conv" + index + "W";
  }

  /** Parameter name of {@code pre_encode.conv.<index>.bias}. */
  public static String convB(int index) {
    return "conv" + index + "B";
  }

  /** {@code out.weight}. */
  public static final String OUT_W = "outW";

  /** {@code out.bias}. */
  public static final String OUT_B = "outB";

  /** The parameters, in flattening order, with PyTorch's default initialisation bounds (docs/nest-numerics.md §6.8). */
  public List<ParamSpec> paramSpecs() {
    int c = convChannels;
    double b9 = 1.0 / 3.0;
    double bc = 1.0 / Math.sqrt(c);
    long fanOut = (long) c * outFreq();
    double bo = 1.0 / Math.sqrt(fanOut);
    List<ParamSpec> out = new ArrayList<>();
    out.add(ParamSpec.weight(convW(0), b9, c, 1, 3, 3));
    out.add(ParamSpec.bias(convB(0), b9, c));
    for (int s = 1; s < numStages(); s++) {
      int dw = depthwiseIndex(s);
      int pw = pointwiseIndex(s);
      out.add(ParamSpec.weight(convW(dw), b9, c, 1, 3, 3));
      out.add(ParamSpec.bias(convB(dw), b9, c));
      out.add(ParamSpec.weight(convW(pw), bc, c, c, 1, 1));
      out.add(ParamSpec.bias(convB(pw), bc, c));
    }
    out.add(ParamSpec.weight(OUT_W, bo, dModel, fanOut));
    out.add(ParamSpec.bias(OUT_B, bo, dModel));
    return out;
  }

  /**
   * NeMo state-dict key suffixes (after {@code encoder.pre_encode.}) to DL4J parameter names, in NeMo's
   * state-dict order ({@code out} first, then the convolutions).
   */
  public Map<String, String> nemoKeyToParam() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("out.weight", OUT_W);
    m.put("out.bias", OUT_B);
    m.put("conv.0.weight", convW(0));
    m.put("conv.0.bias", convB(0));
    for (int s = 1; s < numStages(); s++) {
      for (int idx : new int[] {depthwiseIndex(s), pointwiseIndex(s)}) {
        m.put("conv." + idx + ".weight", convW(idx));
        m.put("conv." + idx + ".bias", convB(idx));
      }
    }
    return Collections.unmodifiableMap(m);
  }

  /** The positional scaling factor: sqrt(d_model) with {@code xscaling}, else 1 (docs/nest-numerics.md §6.2). */
  public double xscale() {
    return xscaling ? Math.sqrt(dModel) : 1.0;
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
    ConvSubsamplingImpl layer = new ConvSubsamplingImpl(conf, networkDataType);
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
    return ConvSubsamplingParamInitializer.getInstance();
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    long t = r.getTimeSeriesLength() > 0 ? outLength((int) r.getTimeSeriesLength()) : -1;
    return InputType.recurrent(dModel, t, RNNFormat.NCW);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    if (r.getSize() != featIn) {
      throw new IllegalStateException(
          "ConvSubsampling " + layerName + ": input size " + r.getSize() + " != feat_in " + featIn);
    }
    this.nIn = featIn;
    this.nOut = dModel;
  }

  @Override
  public InputPreProcessor getPreProcessorForInputType(InputType inputType) {
    requireRecurrent(inputType);
    return null;
  }

  private InputType.InputTypeRecurrent requireRecurrent(InputType inputType) {
    if (!(inputType instanceof InputType.InputTypeRecurrent)) {
      throw new IllegalStateException(
          "ConvSubsampling "
              + layerName
              + " needs recurrent input [B, feat_in, T], got "
              + inputType);
    }
    InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
    if (r.getFormat() != RNNFormat.NCW) {
      throw new IllegalStateException("ConvSubsampling " + layerName + " supports NCW input only");
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
    return new LayerMemoryReport.Builder(layerName, ConvSubsampling.class, inputType, out)
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

  public int getDModel() {
    return dModel;
  }

  public void setDModel(int dModel) {
    this.dModel = dModel;
    this.nOut = dModel;
  }

  public int getSubsamplingFactor() {
    return subsamplingFactor;
  }

  public void setSubsamplingFactor(int subsamplingFactor) {
    this.subsamplingFactor = subsamplingFactor;
  }

  public int getConvChannels() {
    return convChannels;
  }

  public void setConvChannels(int convChannels) {
    this.convChannels = convChannels;
  }

  public boolean isXscaling() {
    return xscaling;
  }

  public void setXscaling(boolean xscaling) {
    this.xscaling = xscaling;
  }

  public double getDropoutPreEncoder() {
    return dropoutPreEncoder;
  }

  public void setDropoutPreEncoder(double dropoutPreEncoder) {
    this.dropoutPreEncoder = dropoutPreEncoder;
  }

  /**
   * Whether backprop computes the gradient with respect to the input features (default true). The NEST
   * graph's first layer turns it off: DL4J discards the input's gradient, and it costs as much as the
   * first convolution; the layer then returns zeros.
   */
  public boolean isInputGradient() {
    return inputGradient;
  }

  public void setInputGradient(boolean inputGradient) {
    this.inputGradient = inputGradient;
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
    if (!(o instanceof ConvSubsampling) || !super.equals(o)) {
      return false;
    }
    ConvSubsampling c = (ConvSubsampling) o;
    return featIn == c.featIn
        && dModel == c.dModel
        && subsamplingFactor == c.subsamplingFactor
        && convChannels == c.convChannels
        && xscaling == c.xscaling
        && dropoutPreEncoder == c.dropoutPreEncoder
        && inputGradient == c.inputGradient
        && java.util.Objects.equals(kernels, c.kernels);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(
        super.hashCode(),
        featIn,
        dModel,
        subsamplingFactor,
        convChannels,
        xscaling,
        dropoutPreEncoder,
        inputGradient,
        kernels);
  }

  @Override
  public String toString() {
    return "ConvSubsampling(name="
        + layerName
        + ", feat_in="
        + featIn
        + ", d_model="
        + dModel
        + ", subsampling_factor="
        + subsamplingFactor
        + ", subsampling_conv_channels="
        + convChannels
        + ", xscaling="
        + xscaling
        + ", dropout_pre_encoder="
        + dropoutPreEncoder
        + ", input_gradient="
        + inputGradient
        + ", kernels="
        + kernels
        + ")";
  }

  /**
   * Builder; global settings of the network configuration (updater, regularization) apply as for any DL4J
   * layer. Defaults are NeMo's NEST values except d_model, which is required.
   */
  public static class Builder extends FeedForwardLayer.Builder<Builder> {
    private int featIn = 80;
    private int dModel;
    private int subsamplingFactor = 8;
    private int convChannels = 256;
    private boolean xscaling = true;
    private double dropoutPreEncoder = 0.1;
    private boolean inputGradient = true;
    private String kernels = "auto";

    /** {@code feat_in}. */
    public Builder featIn(int v) {
      this.featIn = v;
      this.nIn = v;
      return this;
    }

    /** {@code d_model}. */
    public Builder dModel(int v) {
      this.dModel = v;
      this.nOut = v;
      return this;
    }

    /** {@code subsampling_factor} (a power of 2). */
    public Builder subsamplingFactor(int v) {
      this.subsamplingFactor = v;
      return this;
    }

    /** {@code subsampling_conv_channels}. */
    public Builder convChannels(int v) {
      this.convChannels = v;
      return this;
    }

    /** {@code xscaling}. */
    public Builder xscaling(boolean v) {
      this.xscaling = v;
      return this;
    }

    /** {@code dropout_pre_encoder}. */
    public Builder dropoutPreEncoder(double v) {
      this.dropoutPreEncoder = v;
      return this;
    }

    /** See {@link ConvSubsampling#isInputGradient()}. */
    public Builder inputGradient(boolean v) {
      this.inputGradient = v;
      return this;
    }

    /** {@code model.kernels} (see {@link org.nestspark.model.nn.Kernels}). */
    public Builder kernels(String v) {
      this.kernels = org.nestspark.model.nn.Kernels.parse(v).configName();
      return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public ConvSubsampling build() {
      return new ConvSubsampling(this);
    }
  }
}
