package org.nestspark.model.conformer;

import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.learning.regularization.Regularization;

/**
 * One FastConformer block, NeMo's {@code ConformerLayer} (docs/nest-numerics.md §6.2–6.6, §6.8), as a hand-written DL4J
 * layer: the configuration half (JSON-serializable, shipped to Spark workers); the computation is in
 * {@link ConformerLayerImpl}, the parameters in {@link ConformerLayerParamInitializer}.
 *
 * <p>Input and output are {@code [B, d_model, T']} (DL4J recurrent NCW, {@code InputType.recurrent(d)}),
 * with the encoder-rate mask {@code [B, T']} (1 = valid step, prefix ones); the mask passes through
 * unchanged. The block is pre-LN macaron with LayerNorm eps 1e-5 everywhere:
 *
 * <pre>
 *   r = x + ½·Drop(FF1(LN_ff1 x))
 *   r = r + Drop(MHSA(LN_att r, pos_emb, att_mask))
 *   r = r + Drop(Conv(LN_conv r, pad_mask))
 *   r = r + ½·Drop(FF2(LN_ff2 r))
 *   out = LN_out(r)
 * </pre>
 *
 * <p>Configuration fields (NeMo's {@code model.encoder.*} key in brackets):
 *
 * <ul>
 *   <li>{@link #getDModel() dModel} [{@code d_model}]: the width d;
 *   <li>{@link #getNHeads() nHeads} [{@code n_heads}]: attention heads h, d_k = d / h;
 *   <li>{@link #getFfExpansionFactor() ffExpansionFactor} [{@code ff_expansion_factor}]: FFN width = factor·d;
 *   <li>{@link #getConvKernelSize() convKernelSize} [{@code conv_kernel_size}]: odd depthwise kernel k,
 *       zero padding (k−1)/2 on both sides;
 *   <li>{@link #getConvNormType() convNormType} [{@code conv_norm_type}]: {@code batch_norm} (NeMo's
 *       default) or {@code layer_norm};
 *   <li>{@link #getDropout() dropout} [{@code dropout}]: after the FFN activation and after every
 *       sub-block, before its residual add;
 *   <li>{@link #getDropoutAtt() dropoutAtt} [{@code dropout_att}]: on the attention probabilities;
 *   <li>{@link #getDropoutEmb() dropoutEmb} [{@code dropout_emb}]: on the relative positional
 *       embedding (0 in NEST).
 * </ul>
 *
 * Dropout is active only in training; masks come from {@code Nd4j.getRandom()}.
 *
 * <p>Parameters are stored in NeMo's exact shapes and element order ({@link #nemoKeyToParam()} maps
 * the state-dict key suffix after {@code encoder.layers.N.} to the DL4J parameter name). With
 * {@code batch_norm} three parameters are buffers, not trainable ({@link #BUFFER_PARAMS}): the running
 * mean and variance (NoOp updater, no regularization; the layer's "gradient" for them is old − new, as
 * DL4J's own BatchNormalization does it, so that parameter averaging averages them) and
 * {@code num_batches_tracked} (a float counter of shape [1] instead of NeMo's 0-d int64; its gradient is
 * −1 per training step). NeMo-style parameter counts exclude them: {@code 24·d² + 41·d} trainable
 * parameters per layer with k = 9 ({@link #numTrainableParams()}).
 *
 * <p>Regularization: parameters reported as weights ({@code ...W}, pos_bias_u/v, norm gains) get the
 * layer's {@code regularization}, biases ({@code ...B}, norm shifts) get {@code regularizationBias}, so
 * AdamW weight decay on every trainable tensor (as NeMo does) needs both set.
 */
public class ConformerLayer extends FeedForwardLayer {
  private static final long serialVersionUID = 1L;

  /** {@code conv_norm_type} value: BatchNorm1d over channels (NeMo's default). */
  public static final String BATCH_NORM = "batch_norm";

  /** {@code conv_norm_type} value: LayerNorm over channels. */
  public static final String LAYER_NORM = "layer_norm";

  /** LayerNorm and BatchNorm epsilon (PyTorch's default, NeMo does not change it). */
  public static final double NORM_EPS = 1e-5;

  /** BatchNorm1d momentum (PyTorch's default): running = (1 − m)·running + m·batch. */
  public static final double BN_MOMENTUM = 0.1;

  // ------------------------------------------------------------------ parameter names
  public static final String NORM_FF1_W = "normFf1W";
  public static final String NORM_FF1_B = "normFf1B";
  public static final String FF1_LINEAR1_W = "ff1Linear1W";
  public static final String FF1_LINEAR1_B = "ff1Linear1B";
  public static final String FF1_LINEAR2_W = "ff1Linear2W";
  public static final String FF1_LINEAR2_B = "ff1Linear2B";
  public static final String NORM_CONV_W = "normConvW";
  public static final String NORM_CONV_B = "normConvB";
  public static final String CONV_PW1_W = "convPw1W";
  public static final String CONV_PW1_B = "convPw1B";
  public static final String CONV_DW_W = "convDwW";
  public static final String CONV_DW_B = "convDwB";
  public static final String CONV_NORM_W = "convNormW";
  public static final String CONV_NORM_B = "convNormB";
  public static final String CONV_PW2_W = "convPw2W";
  public static final String CONV_PW2_B = "convPw2B";
  public static final String NORM_ATT_W = "normAttW";
  public static final String NORM_ATT_B = "normAttB";
  public static final String ATT_POS_BIAS_U = "attPosBiasU";
  public static final String ATT_POS_BIAS_V = "attPosBiasV";
  public static final String ATT_Q_W = "attLinearQW";
  public static final String ATT_Q_B = "attLinearQB";
  public static final String ATT_K_W = "attLinearKW";
  public static final String ATT_K_B = "attLinearKB";
  public static final String ATT_V_W = "attLinearVW";
  public static final String ATT_V_B = "attLinearVB";
  public static final String ATT_OUT_W = "attLinearOutW";
  public static final String ATT_OUT_B = "attLinearOutB";
  public static final String ATT_POS_W = "attLinearPosW";
  public static final String NORM_FF2_W = "normFf2W";
  public static final String NORM_FF2_B = "normFf2B";
  public static final String FF2_LINEAR1_W = "ff2Linear1W";
  public static final String FF2_LINEAR1_B = "ff2Linear1B";
  public static final String FF2_LINEAR2_W = "ff2Linear2W";
  public static final String FF2_LINEAR2_B = "ff2Linear2B";
  public static final String NORM_OUT_W = "normOutW";
  public static final String NORM_OUT_B = "normOutB";

  /** BatchNorm {@code running_mean} (buffer). */
  public static final String CONV_BN_MEAN = "convBnRunningMean";

  /** BatchNorm {@code running_var} (buffer). */
  public static final String CONV_BN_VAR = "convBnRunningVar";

  /** BatchNorm {@code num_batches_tracked} (buffer, float [1] instead of 0-d int64). */
  public static final String CONV_BN_COUNT = "convBnNumBatchesTracked";

  /** The non-trainable parameters (present only with {@code batch_norm}). */
  public static final Set<String> BUFFER_PARAMS = Set.of(CONV_BN_MEAN, CONV_BN_VAR, CONV_BN_COUNT);

  private int dModel;
  private int nHeads;
  private int ffExpansionFactor = 4;
  private int convKernelSize = 9;
  private String convNormType = BATCH_NORM;
  private double dropout = 0.1;
  private double dropoutAtt = 0.1;
  private double dropoutEmb = 0.0;
  private String kernels = "auto";

  /** For JSON; set the fields before use. */
  public ConformerLayer() {}

  private ConformerLayer(Builder b) {
    super(b);
    this.dModel = b.dModel;
    this.nHeads = b.nHeads;
    this.ffExpansionFactor = b.ffExpansionFactor;
    this.convKernelSize = b.convKernelSize;
    this.convNormType = b.convNormType;
    this.dropout = b.dropout;
    this.dropoutAtt = b.dropoutAtt;
    this.dropoutEmb = b.dropoutEmb;
    this.kernels = b.kernels;
    this.nIn = b.dModel;
    this.nOut = b.dModel;
    validate();
  }

  /** Checks the configuration; called by the builder and on instantiation. */
  public void validate() {
    if (dModel <= 0 || nHeads <= 0 || dModel % nHeads != 0) {
      throw new IllegalArgumentException(
          "d_model " + dModel + " must be a positive multiple of n_heads " + nHeads);
    }
    if (ffExpansionFactor <= 0) {
      throw new IllegalArgumentException(
          "ff_expansion_factor must be positive: " + ffExpansionFactor);
    }
    if (convKernelSize <= 0 || convKernelSize % 2 == 0) {
      throw new IllegalArgumentException(
          "conv_kernel_size must be odd (symmetric padding (k-1)/2): " + convKernelSize);
    }
    if (!BATCH_NORM.equals(convNormType) && !LAYER_NORM.equals(convNormType)) {
      throw new IllegalArgumentException(
          "conv_norm_type must be batch_norm or layer_norm, not " + convNormType);
    }
    checkProbability("dropout", dropout);
    checkProbability("dropout_att", dropoutAtt);
    checkProbability("dropout_emb", dropoutEmb);
  }

  private static void checkProbability(String name, double p) {
    if (!(p >= 0 && p < 1)) {
      throw new IllegalArgumentException(name + " must be in [0, 1): " + p);
    }
  }

  // ------------------------------------------------------------------ NeMo mapping

  /**
   * NeMo state-dict key suffixes (after {@code encoder.layers.N.}) to DL4J parameter names, in NeMo's
   * state-dict order, for {@code conv_norm_type: batch_norm} (buffers included).
   */
  public static Map<String, String> nemoKeyToParam() {
    return nemoKeyToParam(BATCH_NORM);
  }

  /**
   * As {@link #nemoKeyToParam()} for the given {@code conv_norm_type}. NeMo keeps the attribute name
   * {@code conv.batch_norm} for a LayerNorm too, which then has only weight and bias.
   */
  public static Map<String, String> nemoKeyToParam(String convNormType) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("norm_feed_forward1.weight", NORM_FF1_W);
    m.put("norm_feed_forward1.bias", NORM_FF1_B);
    m.put("feed_forward1.linear1.weight", FF1_LINEAR1_W);
    m.put("feed_forward1.linear1.bias", FF1_LINEAR1_B);
    m.put("feed_forward1.linear2.weight", FF1_LINEAR2_W);
    m.put("feed_forward1.linear2.bias", FF1_LINEAR2_B);
    m.put("norm_conv.weight", NORM_CONV_W);
    m.put("norm_conv.bias", NORM_CONV_B);
    m.put("conv.pointwise_conv1.weight", CONV_PW1_W);
    m.put("conv.pointwise_conv1.bias", CONV_PW1_B);
    m.put("conv.depthwise_conv.weight", CONV_DW_W);
    m.put("conv.depthwise_conv.bias", CONV_DW_B);
    m.put("conv.batch_norm.weight", CONV_NORM_W);
    m.put("conv.batch_norm.bias", CONV_NORM_B);
    if (BATCH_NORM.equals(convNormType)) {
      m.put("conv.batch_norm.running_mean", CONV_BN_MEAN);
      m.put("conv.batch_norm.running_var", CONV_BN_VAR);
      m.put("conv.batch_norm.num_batches_tracked", CONV_BN_COUNT);
    } else if (!LAYER_NORM.equals(convNormType)) {
      throw new IllegalArgumentException("unknown conv_norm_type " + convNormType);
    }
    m.put("conv.pointwise_conv2.weight", CONV_PW2_W);
    m.put("conv.pointwise_conv2.bias", CONV_PW2_B);
    m.put("norm_self_att.weight", NORM_ATT_W);
    m.put("norm_self_att.bias", NORM_ATT_B);
    m.put("self_attn.pos_bias_u", ATT_POS_BIAS_U);
    m.put("self_attn.pos_bias_v", ATT_POS_BIAS_V);
    m.put("self_attn.linear_q.weight", ATT_Q_W);
    m.put("self_attn.linear_q.bias", ATT_Q_B);
    m.put("self_attn.linear_k.weight", ATT_K_W);
    m.put("self_attn.linear_k.bias", ATT_K_B);
    m.put("self_attn.linear_v.weight", ATT_V_W);
    m.put("self_attn.linear_v.bias", ATT_V_B);
    m.put("self_attn.linear_out.weight", ATT_OUT_W);
    m.put("self_attn.linear_out.bias", ATT_OUT_B);
    m.put("self_attn.linear_pos.weight", ATT_POS_W);
    m.put("norm_feed_forward2.weight", NORM_FF2_W);
    m.put("norm_feed_forward2.bias", NORM_FF2_B);
    m.put("feed_forward2.linear1.weight", FF2_LINEAR1_W);
    m.put("feed_forward2.linear1.bias", FF2_LINEAR1_B);
    m.put("feed_forward2.linear2.weight", FF2_LINEAR2_W);
    m.put("feed_forward2.linear2.bias", FF2_LINEAR2_B);
    m.put("norm_out.weight", NORM_OUT_W);
    m.put("norm_out.bias", NORM_OUT_B);
    return Collections.unmodifiableMap(m);
  }

  /** This layer's mapping ({@link #nemoKeyToParam(String)} for its conv_norm_type). */
  public Map<String, String> nemoKeys() {
    return nemoKeyToParam(convNormType);
  }

  /** True for the BatchNorm buffers (running statistics and counter). */
  public static boolean isBufferParam(String paramName) {
    return BUFFER_PARAMS.contains(paramName);
  }

  /** True when the conv module normalises with BatchNorm (and so has buffers). */
  public boolean usesBatchNorm() {
    return BATCH_NORM.equals(convNormType);
  }

  /** d_k = d_model / n_heads. */
  public int headDim() {
    return dModel / nHeads;
  }

  /** FFN hidden width. */
  public int ffHidden() {
    return dModel * ffExpansionFactor;
  }

  /** Trainable parameters (NeMo's count; 24·d² + 41·d for ff_expansion 4 and k = 9). */
  public long numTrainableParams() {
    return ConformerLayerParamInitializer.getInstance().numTrainableParams(this);
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
    ConformerLayerImpl layer = new ConformerLayerImpl(conf, networkDataType);
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
    return ConformerLayerParamInitializer.getInstance();
  }

  @Override
  public InputType getOutputType(int layerIndex, InputType inputType) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    return InputType.recurrent(dModel, r.getTimeSeriesLength(), RNNFormat.NCW);
  }

  @Override
  public void setNIn(InputType inputType, boolean override) {
    InputType.InputTypeRecurrent r = requireRecurrent(inputType);
    if (r.getSize() != dModel) {
      throw new IllegalStateException(
          "ConformerLayer " + layerName + ": input size " + r.getSize() + " != d_model " + dModel);
    }
    this.nIn = dModel;
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
          "ConformerLayer " + layerName + " needs recurrent input [B, d, T], got " + inputType);
    }
    InputType.InputTypeRecurrent r = (InputType.InputTypeRecurrent) inputType;
    if (r.getFormat() != RNNFormat.NCW) {
      throw new IllegalStateException("ConformerLayer " + layerName + " supports NCW input only");
    }
    return r;
  }

  @Override
  public IUpdater getUpdaterByParam(String paramName) {
    if (isBufferParam(paramName)) {
      return new NoOp();
    }
    return super.getUpdaterByParam(paramName);
  }

  @Override
  public List<Regularization> getRegularizationByParam(String paramName) {
    if (isBufferParam(paramName)) {
      return Collections.emptyList();
    }
    return super.getRegularizationByParam(paramName);
  }

  @Override
  public boolean isPretrainParam(String paramName) {
    return false;
  }

  @Override
  public LayerMemoryReport getMemoryReport(InputType inputType) {
    InputType out = getOutputType(-1, inputType);
    long params = initializer().numParams(this);
    return new LayerMemoryReport.Builder(layerName, ConformerLayer.class, inputType, out)
        .standardMemory(params, params)
        .workingMemory(0, 0, 0, 0)
        .cacheMemory(0, 0)
        .build();
  }

  // ------------------------------------------------------------------ getters / setters

  public int getDModel() {
    return dModel;
  }

  public void setDModel(int dModel) {
    this.dModel = dModel;
    this.nIn = dModel;
    this.nOut = dModel;
  }

  public int getNHeads() {
    return nHeads;
  }

  public void setNHeads(int nHeads) {
    this.nHeads = nHeads;
  }

  public int getFfExpansionFactor() {
    return ffExpansionFactor;
  }

  public void setFfExpansionFactor(int ffExpansionFactor) {
    this.ffExpansionFactor = ffExpansionFactor;
  }

  public int getConvKernelSize() {
    return convKernelSize;
  }

  public void setConvKernelSize(int convKernelSize) {
    this.convKernelSize = convKernelSize;
  }

  public String getConvNormType() {
    return convNormType;
  }

  public void setConvNormType(String convNormType) {
    this.convNormType = convNormType;
  }

  public double getDropout() {
    return dropout;
  }

  public void setDropout(double dropout) {
    this.dropout = dropout;
  }

  public double getDropoutAtt() {
    return dropoutAtt;
  }

  public void setDropoutAtt(double dropoutAtt) {
    this.dropoutAtt = dropoutAtt;
  }

  public double getDropoutEmb() {
    return dropoutEmb;
  }

  public void setDropoutEmb(double dropoutEmb) {
    this.dropoutEmb = dropoutEmb;
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
    if (!(o instanceof ConformerLayer) || !super.equals(o)) {
      return false;
    }
    ConformerLayer c = (ConformerLayer) o;
    return dModel == c.dModel
        && nHeads == c.nHeads
        && ffExpansionFactor == c.ffExpansionFactor
        && convKernelSize == c.convKernelSize
        && convNormType.equals(c.convNormType)
        && dropout == c.dropout
        && dropoutAtt == c.dropoutAtt
        && dropoutEmb == c.dropoutEmb
        && java.util.Objects.equals(kernels, c.kernels);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(
        super.hashCode(),
        dModel,
        nHeads,
        ffExpansionFactor,
        convKernelSize,
        convNormType,
        dropout,
        dropoutAtt,
        dropoutEmb,
        kernels);
  }

  @Override
  public String toString() {
    return "ConformerLayer(name="
        + layerName
        + ", d_model="
        + dModel
        + ", n_heads="
        + nHeads
        + ", ff_expansion_factor="
        + ffExpansionFactor
        + ", conv_kernel_size="
        + convKernelSize
        + ", conv_norm_type="
        + convNormType
        + ", dropout="
        + dropout
        + ", dropout_att="
        + dropoutAtt
        + ", dropout_emb="
        + dropoutEmb
        + ", kernels="
        + kernels
        + ")";
  }

  /**
   * Builder; global settings of the network configuration (updater, regularization) apply as for any
   * DL4J layer. Defaults are NeMo's FastConformer values except d_model and n_heads, which are required.
   */
  public static class Builder extends FeedForwardLayer.Builder<Builder> {
    private int dModel;
    private int nHeads;
    private int ffExpansionFactor = 4;
    private int convKernelSize = 9;
    private String convNormType = BATCH_NORM;
    private double dropout = 0.1;
    private double dropoutAtt = 0.1;
    private double dropoutEmb = 0.0;
    private String kernels = "auto";

    /** {@code d_model}. */
    public Builder dModel(int v) {
      this.dModel = v;
      this.nIn = v;
      this.nOut = v;
      return this;
    }

    /** {@code n_heads}. */
    public Builder nHeads(int v) {
      this.nHeads = v;
      return this;
    }

    /** {@code ff_expansion_factor}. */
    public Builder ffExpansionFactor(int v) {
      this.ffExpansionFactor = v;
      return this;
    }

    /** {@code conv_kernel_size}. */
    public Builder convKernelSize(int v) {
      this.convKernelSize = v;
      return this;
    }

    /** {@code conv_norm_type}: {@link #BATCH_NORM} or {@link #LAYER_NORM}. */
    public Builder convNormType(String v) {
      this.convNormType = v;
      return this;
    }

    /** {@code dropout}. */
    public Builder dropout(double v) {
      this.dropout = v;
      return this;
    }

    /** {@code dropout_att}. */
    public Builder dropoutAtt(double v) {
      this.dropoutAtt = v;
      return this;
    }

    /** {@code dropout_emb}. */
    public Builder dropoutEmb(double v) {
      this.dropoutEmb = v;
      return this;
    }

    /** {@code model.kernels} (see {@link org.nestspark.model.nn.Kernels}). */
    public Builder kernels(String v) {
      this.kernels = org.nestspark.model.nn.Kernels.parse(v).configName();
      return this;
    }

    @Override
    @SuppressWarnings("unchecked")
    public ConformerLayer build() {
      return new ConformerLayer(this);
    }
  }
}
