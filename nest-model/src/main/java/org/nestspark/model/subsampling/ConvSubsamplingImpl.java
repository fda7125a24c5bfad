package org.nestspark.model.subsampling;

import java.util.Arrays;

import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Dropout;
import org.nestspark.model.nn.HeapArrays;
import org.nestspark.model.nn.Linalg;
import org.nestspark.model.nn.Masks;

/**
 * The computation of {@link ConvSubsampling} (spec §6.1, §6.2): forward and backward written with ND4J
 * ops on channels-last activations {@code [B, T, F, C]} (the first convolution as im2col + gemm, the
 * pointwise convolutions and {@code out} as gemms on {@code [B·T·F, C]} views) and the depthwise
 * convolutions as Java loops ({@link DepthwiseConv2dS2}).
 *
 * <p>Arrays kept for the backward pass are moved to the {@code ACTIVATIONS} workspace (open through
 * backprop in DL4J's training loop); the output goes to {@code ACTIVATIONS}, the epsilon to
 * {@code ACTIVATION_GRAD}; everything else lives in the working-memory workspace of the call.
 */
public class ConvSubsamplingImpl extends BaseLayer<ConvSubsampling> {
  private static final long serialVersionUID = 1L;

  /** What the backward pass needs from the last training forward. */
  private transient Cache cache;
  private transient float[][] floatBufs = new float[3][];
  private transient double[][] doubleBufs = new double[3][];

  private static final class Cache {
    int batch;
    int featIn;
    int time;
    int[][] lengths; // per stage 0..k
    INDArray[] masks; // per stage 0..k, null when all valid
    int[] times; // T_s
    int[] freqs; // F_s
    INDArray col0; // [B·T1·F1, 9]
    INDArray[] act; // act[s] = ReLU output of stage s, [B, T_s, F_s, C] (s = 1..k)
    INDArray[] dwOut; // dwOut[s] = masked depthwise output of stage s (s = 2..k), [B, T_s, F_s, C]
    INDArray flat; // [B·Tk, C·Fk]
    INDArray dropMask; // [B·Tk, d] or null
  }

  public ConvSubsamplingImpl(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
  }

  @Override
  public boolean isPretrainLayer() {
    return false;
  }

  @Override
  public boolean hasBias() {
    return false; // biases are handled by this class, not by BaseLayer's W/b logic
  }

  @Override
  public void setParams(INDArray params) {
    if (params == paramsFlattened) {
      return;
    }
    setParams(params, 'c');
  }

  @Override
  public Pair<INDArray, MaskState> feedForwardMaskArray(INDArray maskArray, MaskState currentMaskState, int minibatchSize) {
    this.maskArray = maskArray;
    this.maskState = currentMaskState;
    if (maskArray == null) {
      return new Pair<>(null, currentMaskState);
    }
    ConvSubsampling c = layerConf();
    int b = (int) maskArray.size(0);
    int t = (int) maskArray.size(1);
    int[] len = Masks.lengths(maskArray, b, t);
    int[] out = new int[b];
    for (int i = 0; i < b; i++) {
      out[i] = c.outLength(len[i]);
    }
    return new Pair<>(Masks.fromLengths(out, c.outLength(t), maskArray.dataType()), MaskState.Active);
  }

  // ------------------------------------------------------------------ forward

  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    ConvSubsampling conf = layerConf();
    INDArray x = input.castTo(dataType);
    if (x.rank() != 3 || x.size(1) != conf.getFeatIn()) {
      throw new IllegalArgumentException("ConvSubsampling expects [B, " + conf.getFeatIn() + ", T] input, got " + Arrays.toString(x.shape()));
    }
    int k = conf.numStages();
    int c = conf.getConvChannels();
    int d = conf.getDModel();
    Cache cc = new Cache();
    cc.batch = (int) x.size(0);
    cc.featIn = (int) x.size(1);
    cc.time = (int) x.size(2);
    int batch = cc.batch;
    geometry(cc, conf);

    // stage 0: masked input image (B, T, F0) zero-padded by 1, im2col, gemm
    int t0 = cc.times[0];
    int f0 = cc.freqs[0];
    int t1 = cc.times[1];
    int f1 = cc.freqs[1];
    INDArray padded = Nd4j.zeros(dataType, batch, t0 + 2, f0 + 2);
    INDArray inner = padded.get(NDArrayIndex.all(), NDArrayIndex.interval(1, t0 + 1), NDArrayIndex.interval(1, f0 + 1));
    inner.assign(x.permute(0, 2, 1));
    Masks.applyTimeMask(inner, cc.masks[0]);
    INDArray col = Nd4j.createUninitialized(dataType, new long[] {batch, t1, f1, 9}, 'c');
    for (int kh = 0; kh < 3; kh++) {
      for (int kw = 0; kw < 3; kw++) {
        col.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(kh * 3 + kw))
            .assign(padded.get(tap(kh, t1, kw, f1)));
      }
    }
    INDArray col2 = col.reshape('c', (long) batch * t1 * f1, 9);
    INDArray z = Linalg.mmul(col2, false, getParam(ConvSubsampling.convW(0)).reshape('c', c, 9), true);
    z.addiRowVector(getParam(ConvSubsampling.convB(0)));
    Masks.applyTimeMask(z.reshape('c', batch, t1, (long) f1 * c), cc.masks[1]);
    INDArray a = Transforms.relu(z, false).reshape('c', batch, t1, f1, c);
    cc.col0 = col2;
    cc.act = new INDArray[k + 1];
    cc.dwOut = new INDArray[k + 1];
    cc.act[1] = a;

    // stages 1..k-1: depthwise -> mask -> pointwise -> mask -> ReLU
    for (int s = 1; s < k; s++) {
      int tn = cc.times[s + 1];
      int fn = cc.freqs[s + 1];
      int dw = ConvSubsampling.depthwiseIndex(s);
      int pw = ConvSubsampling.pointwiseIndex(s);
      INDArray dwo = depthwiseForward(a, getParam(ConvSubsampling.convW(dw)), getParam(ConvSubsampling.convB(dw)));
      Masks.applyTimeMask(dwo.reshape('c', batch, tn, (long) fn * c), cc.masks[s + 1]);
      INDArray p = Linalg.mmul(dwo.reshape('c', (long) batch * tn * fn, c), false,
          getParam(ConvSubsampling.convW(pw)).reshape('c', c, c), true);
      p.addiRowVector(getParam(ConvSubsampling.convB(pw)));
      Masks.applyTimeMask(p.reshape('c', batch, tn, (long) fn * c), cc.masks[s + 1]);
      a = Transforms.relu(p, false).reshape('c', batch, tn, fn, c);
      cc.dwOut[s + 1] = dwo;
      cc.act[s + 1] = a;
    }

    // flatten (B, T', C, F') -> Linear -> xscale -> dropout
    int tk = cc.times[k];
    int fk = cc.freqs[k];
    INDArray flat = a.permute(0, 1, 3, 2).dup('c').reshape('c', (long) batch * tk, (long) c * fk);
    INDArray y = Linalg.mmul(flat, false, getParam(ConvSubsampling.OUT_W), true);
    y.addiRowVector(getParam(ConvSubsampling.OUT_B));
    y.muli(conf.xscale());
    INDArray drop = training ? Dropout.mask(dataType, conf.getDropoutPreEncoder(), (long) batch * tk, d) : null;
    if (drop != null) {
      y.muli(drop);
    }
    cc.flat = flat;
    cc.dropMask = drop;
    INDArray out = workspaceMgr.createUninitialized(ArrayType.ACTIVATIONS, dataType, new long[] {batch, d, tk}, 'c');
    out.assign(y.reshape('c', batch, tk, d).permute(0, 2, 1));

    if (training) {
      keepForBackprop(cc, workspaceMgr);
      cache = cc;
    } else {
      cache = null;
    }
    return out;
  }

  /** Lengths, masks, times and frequency widths of every stage. */
  private void geometry(Cache cc, ConvSubsampling conf) {
    int k = conf.numStages();
    cc.lengths = new int[k + 1][];
    cc.masks = new INDArray[k + 1];
    cc.times = new int[k + 1];
    cc.freqs = new int[k + 1];
    cc.times[0] = cc.time;
    cc.freqs[0] = cc.featIn;
    int[] len0 = Masks.lengths(maskArray, cc.batch, cc.time);
    cc.lengths[0] = len0;
    for (int s = 1; s <= k; s++) {
      cc.times[s] = DepthwiseConv2dS2.outSize(cc.times[s - 1]);
      cc.freqs[s] = DepthwiseConv2dS2.outSize(cc.freqs[s - 1]);
      int[] l = new int[cc.batch];
      for (int b = 0; b < cc.batch; b++) {
        l[b] = DepthwiseConv2dS2.outSize(cc.lengths[s - 1][b]);
      }
      cc.lengths[s] = l;
    }
    for (int s = 0; s <= k; s++) {
      cc.masks[s] = maskArray == null || Masks.allValid(cc.lengths[s], cc.times[s]) ? null
          : Masks.fromLengths(cc.lengths[s], cc.times[s], dataType);
    }
  }

  private static INDArrayIndex[] tap(int kh, int outT, int kw, int outF) {
    return new INDArrayIndex[] {NDArrayIndex.all(), NDArrayIndex.interval(kh, 2, kh + 2 * (outT - 1) + 1),
        NDArrayIndex.interval(kw, 2, kw + 2 * (outF - 1) + 1)};
  }

  private void keepForBackprop(Cache cc, LayerWorkspaceMgr mgr) {
    cc.col0 = mgr.leverageTo(ArrayType.ACTIVATIONS, cc.col0);
    for (int s = 0; s < cc.act.length; s++) {
      if (cc.act[s] != null) {
        cc.act[s] = mgr.leverageTo(ArrayType.ACTIVATIONS, cc.act[s]);
      }
      if (cc.dwOut[s] != null) {
        cc.dwOut[s] = mgr.leverageTo(ArrayType.ACTIVATIONS, cc.dwOut[s]);
      }
    }
    cc.flat = mgr.leverageTo(ArrayType.ACTIVATIONS, cc.flat);
    if (cc.dropMask != null) {
      cc.dropMask = mgr.leverageTo(ArrayType.ACTIVATIONS, cc.dropMask);
    }
  }

  // ------------------------------------------------------------------ backward

  @Override
  public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    Cache cc = cache;
    if (cc == null) {
      throw new IllegalStateException("ConvSubsampling: backprop without a training forward pass");
    }
    ConvSubsampling conf = layerConf();
    int k = conf.numStages();
    int c = conf.getConvChannels();
    int d = conf.getDModel();
    int batch = cc.batch;
    int tk = cc.times[k];
    int fk = cc.freqs[k];
    Gradient g = new DefaultGradient();

    INDArray dy = epsilon.castTo(dataType).permute(0, 2, 1).dup('c').reshape('c', (long) batch * tk, d);
    if (cc.dropMask != null) {
      dy.muli(cc.dropMask);
    }
    dy.muli(conf.xscale());
    Linalg.mmulInto(dy, true, cc.flat, false, gradientViews.get(ConvSubsampling.OUT_W));
    gradientViews.get(ConvSubsampling.OUT_B).assign(dy.sum(0));
    INDArray dFlat = Linalg.mmul(dy, false, getParam(ConvSubsampling.OUT_W), false);
    INDArray da = dFlat.reshape('c', batch, tk, c, fk).permute(0, 1, 3, 2).dup('c');

    for (int s = k - 1; s >= 1; s--) {
      int tn = cc.times[s + 1];
      int fn = cc.freqs[s + 1];
      int dw = ConvSubsampling.depthwiseIndex(s);
      int pw = ConvSubsampling.pointwiseIndex(s);
      INDArray dp = Linalg.reluBackpropInPlace(cc.act[s + 1], da).reshape('c', (long) batch * tn * fn, c);
      INDArray dwo2 = cc.dwOut[s + 1].reshape('c', (long) batch * tn * fn, c);
      Linalg.mmulInto(dp, true, dwo2, false, gradientViews.get(ConvSubsampling.convW(pw)).reshape('c', c, c));
      gradientViews.get(ConvSubsampling.convB(pw)).assign(dp.sum(0));
      INDArray dd = Linalg.mmul(dp, false, getParam(ConvSubsampling.convW(pw)).reshape('c', c, c), false);
      Masks.applyTimeMask(dd.reshape('c', batch, tn, (long) fn * c), cc.masks[s + 1]);
      INDArray dd4 = dd.reshape('c', batch, tn, fn, c);
      da = depthwiseBackward(cc.act[s], dd4, getParam(ConvSubsampling.convW(dw)),
          gradientViews.get(ConvSubsampling.convW(dw)), gradientViews.get(ConvSubsampling.convB(dw)));
      Masks.applyTimeMask(da.reshape('c', batch, cc.times[s], (long) cc.freqs[s] * c), cc.masks[s]);
    }

    int t0 = cc.times[0];
    int f0 = cc.freqs[0];
    int t1 = cc.times[1];
    int f1 = cc.freqs[1];
    INDArray dz = Linalg.reluBackpropInPlace(cc.act[1], da).reshape('c', (long) batch * t1 * f1, c);
    Linalg.mmulInto(dz, true, cc.col0, false, gradientViews.get(ConvSubsampling.convW(0)).reshape('c', c, 9));
    gradientViews.get(ConvSubsampling.convB(0)).assign(dz.sum(0));
    INDArray dcol = Linalg.mmul(dz, false, getParam(ConvSubsampling.convW(0)).reshape('c', c, 9), false)
        .reshape('c', batch, t1, f1, 9);
    INDArray dpad = Nd4j.zeros(dataType, batch, t0 + 2, f0 + 2);
    for (int kh = 0; kh < 3; kh++) {
      for (int kw = 0; kw < 3; kw++) {
        dpad.get(tap(kh, t1, kw, f1))
            .addi(dcol.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.point(kh * 3 + kw)));
      }
    }
    INDArray dInner = dpad.get(NDArrayIndex.all(), NDArrayIndex.interval(1, t0 + 1), NDArrayIndex.interval(1, f0 + 1)).dup('c');
    Masks.applyTimeMask(dInner, cc.masks[0]);
    INDArray eps = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, f0, t0}, 'c');
    eps.assign(dInner.permute(0, 2, 1));

    for (String name : conf().getLayer().initializer().paramKeys(conf().getLayer())) {
      g.gradientForVariable().put(name, gradientViews.get(name));
    }
    return new Pair<>(g, eps);
  }

  // ------------------------------------------------------------------ depthwise via Java loops

  private INDArray depthwiseForward(INDArray in, INDArray w, INDArray b) {
    int batch = (int) in.size(0);
    int h = (int) in.size(1);
    int wd = (int) in.size(2);
    int c = (int) in.size(3);
    int ho = DepthwiseConv2dS2.outSize(h);
    int wo = DepthwiseConv2dS2.outSize(wd);
    INDArray out = Nd4j.createUninitialized(dataType, new long[] {batch, ho, wo, c}, 'c');
    int n = batch * ho * wo * c;
    if (dataType == DataType.FLOAT) {
      float[] x = HeapArrays.floats(in, floatBuf(0, 0));
      floatBufs[0] = x;
      float[] y = floatBuf(1, n);
      DepthwiseConv2dS2.forward(x, batch, h, wd, c, HeapArrays.floats(w, null), HeapArrays.floats(b, null), y);
      HeapArrays.put(y, out);
    } else if (dataType == DataType.DOUBLE) {
      double[] x = HeapArrays.doubles(in, doubleBuf(0, 0));
      doubleBufs[0] = x;
      double[] y = doubleBuf(1, n);
      DepthwiseConv2dS2.forward(x, batch, h, wd, c, HeapArrays.doubles(w, null), HeapArrays.doubles(b, null), y);
      HeapArrays.put(y, out);
    } else {
      throw new IllegalStateException("ConvSubsampling supports FLOAT and DOUBLE, not " + dataType);
    }
    return out;
  }

  /** Writes the weight and bias gradients into their views and returns the input gradient. */
  private INDArray depthwiseBackward(INDArray in, INDArray dOut, INDArray w, INDArray gw, INDArray gb) {
    int batch = (int) in.size(0);
    int h = (int) in.size(1);
    int wd = (int) in.size(2);
    int c = (int) in.size(3);
    INDArray dIn = Nd4j.createUninitialized(dataType, new long[] {batch, h, wd, c}, 'c');
    int n = batch * h * wd * c;
    if (dataType == DataType.FLOAT) {
      float[] x = HeapArrays.floats(in, floatBuf(0, 0));
      floatBufs[0] = x;
      float[] dy = HeapArrays.floats(dOut, floatBuf(1, 0));
      floatBufs[1] = dy;
      float[] dw = new float[9 * c];
      float[] db = new float[c];
      DepthwiseConv2dS2.backwardWeights(x, dy, batch, h, wd, c, dw, db);
      float[] dx = floatBuf(2, n);
      DepthwiseConv2dS2.backwardInput(dy, batch, h, wd, c, HeapArrays.floats(w, null), dx);
      HeapArrays.put(dx, dIn);
      gw.assign(Nd4j.create(dw, gw.shape(), 'c'));
      gb.assign(Nd4j.create(db, gb.shape(), 'c'));
    } else {
      double[] x = HeapArrays.doubles(in, doubleBuf(0, 0));
      doubleBufs[0] = x;
      double[] dy = HeapArrays.doubles(dOut, doubleBuf(1, 0));
      doubleBufs[1] = dy;
      double[] dw = new double[9 * c];
      double[] db = new double[c];
      DepthwiseConv2dS2.backwardWeights(x, dy, batch, h, wd, c, dw, db);
      double[] dx = doubleBuf(2, n);
      DepthwiseConv2dS2.backwardInput(dy, batch, h, wd, c, HeapArrays.doubles(w, null), dx);
      HeapArrays.put(dx, dIn);
      gw.assign(Nd4j.create(dw, gw.shape(), 'c'));
      gb.assign(Nd4j.create(db, gb.shape(), 'c'));
    }
    return dIn;
  }

  /** A reusable heap buffer of at least n floats (n = 0: whatever is there, possibly null). */
  private float[] floatBuf(int slot, int n) {
    if (floatBufs == null) {
      floatBufs = new float[3][];
    }
    float[] b = floatBufs[slot];
    if (n > 0 && (b == null || b.length < n)) {
      b = new float[n];
      floatBufs[slot] = b;
    }
    return b;
  }

  private double[] doubleBuf(int slot, int n) {
    if (doubleBufs == null) {
      doubleBufs = new double[3][];
    }
    double[] b = doubleBufs[slot];
    if (n > 0 && (b == null || b.length < n)) {
      b = new double[n];
      doubleBufs[slot] = b;
    }
    return b;
  }

  @Override
  public void clear() {
    super.clear();
    cache = null;
  }
}
