package org.nestspark.model.conformer;

import static org.nestspark.model.conformer.ConformerLayer.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.PartTimer;
import org.nestspark.model.nn.PartTimer.Part;

/**
 * The runtime half of {@link ConformerLayer}: forward and backward of one FastConformer block (docs/nest-numerics.md
 * §6.4) written with ND4J ops on row matrices {@code [B·T', d]} (every Linear is one gemm).
 *
 * <p>Sub-modules: {@link ConformerFeedForward} ×2, {@link RelPositionMultiHeadAttention}, {@link
 * ConformerConvolution}, five {@link LayerNormOp}s. Dropout ({@code dropout} after the FFN activation
 * and after each sub-block, {@code dropout_att} on the attention probabilities, {@code dropout_emb} on
 * the positional table) is drawn from {@code Nd4j.getRandom()} only when {@code training} is true.
 *
 * <p>Workspaces: the forward computes in DL4J's INPUT workspace (in training the one that holds every
 * layer's activations until backprop is done, where DL4J's own BatchNormalization keeps its state too)
 * and keeps what the backward needs on the layer; the backward computes in BP_WORKING_MEM and writes
 * parameter gradients straight into DL4J's gradient views. With no workspaces (or the type scoped
 * out) everything is plain detached memory. The output and dL/dInput are created in the ACTIVATIONS /
 * ACTIVATION_GRAD workspaces.
 */
public class ConformerLayerImpl extends BaseLayer<ConformerLayer> {
  private ConformerFeedForward ff1;
  private ConformerFeedForward ff2;
  private RelPositionMultiHeadAttention attn;
  private ConformerConvolution conv;
  private LayerNormOp normFf1;
  private LayerNormOp normAtt;
  private LayerNormOp normConv;
  private LayerNormOp normFf2;
  private LayerNormOp normOut;

  // forward cache
  private int cachedBatch;
  private int cachedTime;
  private INDArray dropFf1;
  private INDArray dropAtt;
  private INDArray dropConv;
  private INDArray dropFf2;
  private Map<String, INDArray> taps;

  public ConformerLayerImpl(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
    org.nestspark.model.nn.ComputeThreads.ensureApplied();
  }

  private void buildModules() {
    if (ff1 != null) {
      return;
    }
    ConformerLayer c = layerConf();
    ff1 = new ConformerFeedForward(FF1_LINEAR1_W, FF1_LINEAR1_B, FF1_LINEAR2_W, FF1_LINEAR2_B);
    ff2 = new ConformerFeedForward(FF2_LINEAR1_W, FF2_LINEAR1_B, FF2_LINEAR2_W, FF2_LINEAR2_B);
    attn = new RelPositionMultiHeadAttention(c.getDModel(), c.getNHeads(), c.getKernels());
    conv =
        new ConformerConvolution(
            c.getDModel(), c.getConvKernelSize(), c.usesBatchNorm(), c.getKernels());
    normFf1 = new LayerNormOp(NORM_FF1_W, NORM_FF1_B, NORM_EPS, c.getKernels());
    normAtt = new LayerNormOp(NORM_ATT_W, NORM_ATT_B, NORM_EPS, c.getKernels());
    normConv = new LayerNormOp(NORM_CONV_W, NORM_CONV_B, NORM_EPS, c.getKernels());
    normFf2 = new LayerNormOp(NORM_FF2_W, NORM_FF2_B, NORM_EPS, c.getKernels());
    normOut = new LayerNormOp(NORM_OUT_W, NORM_OUT_B, NORM_EPS, c.getKernels());
  }

  @Override
  public Type type() {
    return Type.RECURRENT;
  }

  @Override
  public boolean isPretrainLayer() {
    return false;
  }

  @Override
  public boolean updaterDivideByMinibatch(String paramName) {
    // running statistics are updates (old − new), not gradients of a summed loss
    return !ConformerLayer.isBufferParam(paramName);
  }

  @Override
  public Pair<INDArray, MaskState> feedForwardMaskArray(
      INDArray maskArray, MaskState currentMaskState, int minibatchSize) {
    // [B, T'] in, the same [B, T'] out
    this.maskArray = maskArray;
    this.maskState = currentMaskState;
    return new Pair<>(maskArray, currentMaskState);
  }

  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    if (layerConf().getIDropout() != null) {
      throw new IllegalStateException(
          "ConformerLayer "
              + layerId()
              + ": DL4J input dropout (IDropout) is not supported; use the dropout fields");
    }
    if (input.rank() != 3 || input.size(1) != layerConf().getDModel()) {
      throw new IllegalStateException(
          "ConformerLayer "
              + layerId()
              + ": expected input [B, "
              + layerConf().getDModel()
              + ", T], got "
              + java.util.Arrays.toString(input.shape()));
    }
    buildModules();
    int b = (int) input.size(0);
    int d = (int) input.size(1);
    int t = (int) input.size(2);
    INDArray out =
        workspaceMgr.createUninitialized(
            ArrayType.ACTIVATIONS, dataType, new long[] {b, d, t}, 'c');
    // everything the backward needs lives where DL4J keeps layer inputs for backprop
    try (MemoryWorkspace ws = scope(workspaceMgr, ArrayType.INPUT, true)) {
      long t0 = PartTimer.start();
      INDArray rows = forwardRows(toRows(input), maskArray, b, t, training);
      out.assign(rows.reshape('c', b, t, d).permute(0, 2, 1));
      PartTimer.stop(Part.LAYER_OTHER, t0);
    }
    return out;
  }

  @Override
  public Pair<Gradient, INDArray> backpropGradient(
      INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    if (normOut == null || taps == null) {
      throw new IllegalStateException("ConformerLayer " + layerId() + ": backprop before forward");
    }
    int b = cachedBatch;
    int t = cachedTime;
    int d = layerConf().getDModel();
    INDArray dx =
        workspaceMgr.createUninitialized(
            ArrayType.ACTIVATION_GRAD, dataType, new long[] {b, d, t}, 'c');
    try (MemoryWorkspace ws = scope(workspaceMgr, ArrayType.BP_WORKING_MEM, false)) {
      long t0 = PartTimer.start();
      INDArray dxRows = backwardRows(toRows(epsilon));
      dx.assign(dxRows.reshape('c', b, t, d).permute(0, 2, 1));
      PartTimer.stop(Part.LAYER_OTHER, t0);
    }

    Gradient g = new DefaultGradient(gradientsFlattened);
    for (String name : conf.getLayer().initializer().paramKeys(conf.getLayer())) {
      g.setGradientFor(name, gradientViews.get(name));
    }
    return new Pair<>(g, dx);
  }

  /**
   * The workspace to compute in: DL4J's workspace for {@code type} when it is open (borrowed, so it is
   * not reset); when it is configured but closed, entered only if {@code mustBeOpen} is false (the
   * forward state must outlive this call, so it then goes to plain memory); no workspace when the type
   * is scoped out or unconfigured.
   */
  private static MemoryWorkspace scope(LayerWorkspaceMgr mgr, ArrayType type, boolean mustBeOpen) {
    if (mgr.isScopedOut(type) || !mgr.hasConfiguration(type)) {
      return Nd4j.getWorkspaceManager().scopeOutOfWorkspaces();
    }
    if (mgr.isWorkspaceOpen(type)) {
      return mgr.notifyScopeBorrowed(type);
    }
    return mustBeOpen
        ? Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()
        : mgr.notifyScopeEntered(type);
  }

  /** {@code [B, d, T]} → {@code [B·T, d]}, a C-order copy in the current workspace. */
  private INDArray toRows(INDArray ncw) {
    long b = ncw.size(0);
    long d = ncw.size(1);
    long t = ncw.size(2);
    INDArray rows = ncw.permute(0, 2, 1).dup('c').reshape('c', b * t, d);
    return rows.dataType() == dataType ? rows : rows.castTo(dataType);
  }

  /**
   * The block on rows. With {@link PartTimer} on, the whole layer call is timed as {@link
   * Part#LAYER_OTHER} and each sub-module's time is moved from there to its own part ({@link #timed}).
   */
  private INDArray forwardRows(INDArray x0, INDArray dlMask, int b, int t, boolean training) {
    ConformerLayer c = layerConf();
    Map<String, INDArray> p = params;
    SequenceMask mask = new SequenceMask(dlMask, b, t, dataType);
    cachedBatch = b;
    cachedTime = t;
    long n = x0.size(0);
    int d = c.getDModel();

    long s = PartTimer.start();
    INDArray f1 = ff1.forward(normFf1.forward(x0, p), p, training, c.getDropout());
    timed(Part.FEED_FORWARD, s);
    dropFf1 = Ops.dropoutMask(training, c.getDropout(), dataType, n, d);
    INDArray x1 = x0.add(Ops.applyMask(f1, dropFf1).mul(0.5));

    INDArray pe = RelPositionalEncoding.get(t, d, dataType);
    INDArray peDrop = Ops.dropoutMask(training, c.getDropoutEmb(), dataType, pe.shape());
    INDArray peIn = Ops.applyMask(pe, peDrop);
    s = PartTimer.start();
    INDArray a = attn.forward(normAtt.forward(x1, p), p, peIn, mask, training, c.getDropoutAtt());
    timed(Part.ATTENTION, s);
    dropAtt = Ops.dropoutMask(training, c.getDropout(), dataType, n, d);
    INDArray x2 = x1.add(Ops.applyMask(a, dropAtt));

    s = PartTimer.start();
    INDArray cv = conv.forward(normConv.forward(x2, p), p, mask, training);
    timed(Part.CONVOLUTION, s);
    dropConv = Ops.dropoutMask(training, c.getDropout(), dataType, n, d);
    INDArray x3 = x2.add(Ops.applyMask(cv, dropConv));

    s = PartTimer.start();
    INDArray f2 = ff2.forward(normFf2.forward(x3, p), p, training, c.getDropout());
    timed(Part.FEED_FORWARD, s);
    dropFf2 = Ops.dropoutMask(training, c.getDropout(), dataType, n, d);
    INDArray x4 = x3.add(Ops.applyMask(f2, dropFf2).mul(0.5));

    taps = new LinkedHashMap<>();
    taps.put("feed_forward1", f1);
    taps.put("self_attn", a);
    taps.put("conv", cv);
    taps.put("feed_forward2", f2);
    return normOut.forward(x4, p);
  }

  /** Time spent since {@code s} goes to {@code part}, and is taken back from {@link Part#LAYER_OTHER}. */
  private static void timed(Part part, long s) {
    if (PartTimer.enabled()) {
      long dt = System.nanoTime() - s;
      PartTimer.add(part, dt);
      PartTimer.add(Part.LAYER_OTHER, -dt);
    }
  }

  private INDArray backwardRows(INDArray dy) {
    Map<String, INDArray> p = params;
    Map<String, INDArray> g = gradientViews;
    INDArray dx4 = normOut.backward(dy, p, g);

    INDArray df2 = Ops.applyMask(dx4, dropFf2).mul(0.5);
    long s = PartTimer.start();
    INDArray df2in = normFf2.backward(ff2.backward(df2, p, g), p, g);
    timed(Part.FEED_FORWARD, s);
    INDArray dx3 = df2in.addi(dx4);

    INDArray dcv = Ops.applyMask(dx3, dropConv);
    s = PartTimer.start();
    INDArray dcvin = normConv.backward(conv.backward(dcv, p, g), p, g);
    timed(Part.CONVOLUTION, s);
    INDArray dx2 = dcvin.addi(dx3);

    INDArray da = Ops.applyMask(dx2, dropAtt);
    s = PartTimer.start();
    INDArray dain = normAtt.backward(attn.backward(da, p, g), p, g);
    timed(Part.ATTENTION, s);
    INDArray dx1 = dain.addi(dx2);

    INDArray df1 = Ops.applyMask(dx1, dropFf1).mul(0.5);
    s = PartTimer.start();
    INDArray df1in = normFf1.backward(ff1.backward(df1, p, g), p, g);
    timed(Part.FEED_FORWARD, s);
    return df1in.addi(dx1);
  }

  /**
   * The sub-module outputs of the last forward, before dropout, residual add and ×½, as {@code [B, T',
   * d]} (keys {@code feed_forward1, self_attn, conv, feed_forward2}: NeMo's module names). For parity
   * tests: call {@link #activate} with {@code LayerWorkspaceMgr.noWorkspaces()} first (inside a graph
   * the arrays live in a workspace that DL4J reuses).
   */
  Map<String, INDArray> lastSubModuleOutputs() {
    Map<String, INDArray> m = new LinkedHashMap<>();
    int d = layerConf().getDModel();
    for (Map.Entry<String, INDArray> e : taps.entrySet()) {
      m.put(e.getKey(), e.getValue().reshape('c', cachedBatch, cachedTime, d));
    }
    return m;
  }

  @Override
  public void clear() {
    super.clear();
    if (ff1 != null) {
      ff1.clear();
      ff2.clear();
      attn.clear();
      conv.clear();
      normFf1.clear();
      normAtt.clear();
      normConv.clear();
      normFf2.clear();
      normOut.clear();
    }
    dropFf1 = null;
    dropAtt = null;
    dropConv = null;
    dropFf2 = null;
    taps = null;
  }

  @Override
  public void clearNoiseWeightParams() {
    // no weight noise
  }

  @Override
  public boolean hasBias() {
    return true;
  }

  @Override
  public boolean hasLayerNorm() {
    return false;
  }
}
