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
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Dropout;
import org.nestspark.model.nn.Kernels;
import org.nestspark.model.nn.Linalg;
import org.nestspark.model.nn.Masks;
import org.nestspark.model.nn.Nd4jConv;
import org.nestspark.model.nn.PartTimer;

/**
 * The computation of {@link ConvSubsampling} (docs/nest-numerics.md §6.1, §6.2), forward and backward, on channels-last
 * activations {@code [B, T, F, C]}:
 *
 * <ul>
 *   <li>the first convolution (1 → C) with its masks and ReLU, and the depthwise convolutions, as Java
 *       loops on heap arrays ({@link FirstConv2dS2}, {@link DepthwiseConv2dS2}; ND4J 1.0.0-M2.1's native
 *       depthwise op is ~10× slower and a K = 9 gemm is memory-bound);
 *   <li>the pointwise convolutions and {@code out} as ND4J gemms on {@code [B·T·F, C]} and
 *       {@code [B·T', C·F']} matrices.
 * </ul>
 *
 * <p>Backward: ReLU gates and masks are fused into the depthwise input gradient (a ReLU output is 0 at
 * masked steps, so its gate carries the mask too). The gradient with respect to the layer's input (the
 * features) is computed only when {@link ConvSubsampling#isInputGradient()} is set; as the graph's first
 * layer it would be discarded, so {@code NestGraph} turns it off and the layer returns zeros.
 *
 * <p>Workspaces: arrays the backward pass needs are allocated in DL4J's {@code ACTIVATIONS} workspace
 * (open through backprop in a training step), the output there too, the epsilon in
 * {@code ACTIVATION_GRAD}; temporaries in the call's working memory. Heap buffers are reused between
 * calls (one set per layer instance).
 */
public class ConvSubsamplingImpl extends BaseLayer<ConvSubsampling> {
  private static final long serialVersionUID = 1L;

  private transient SubsamplingKernels kernels;

  /** What the backward pass needs from the last training forward. */
  private transient Cache cache;

  private static final class Cache {
    int batch;
    int featIn;
    int time;
    int[][] lengths; // per stage 0..k
    INDArray[] masks; // per stage 0..k, null when all valid
    int[] times; // T_s
    int[] freqs; // F_s
    Object inputHeap; // [B, F0, T] features (masked inside the kernel)
    Object[] actHeap; // actHeap[s] = ReLU output of stage s as heap array (s = 1..k-1)
    INDArray[]
        act; // act[s] = ReLU output of stage s (s = 2..k; and s = 1 when k = 1), [B, T_s, F_s, C]
    INDArray[] dwOut; // dwOut[s] = masked depthwise output of stage s (s = 2..k), [B, T_s, F_s, C]
    INDArray flat; // [B·Tk, C·Fk]
    INDArray dropMask; // [B·Tk, d] or null
    boolean nd4j; // model.kernels resolved to nd4j: the fields below replace the heap arrays
    INDArray image; // [B, T, F0, 1] masked features (nd4j)
  }

  public ConvSubsamplingImpl(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
    org.nestspark.model.nn.ComputeThreads.ensureApplied();
  }

  @Override
  public boolean isPretrainLayer() {
    return false;
  }

  @Override
  public boolean hasBias() {
    return false; // biases are handled here, not by BaseLayer's W/b logic
  }

  @Override
  public void setParams(INDArray params) {
    if (params == paramsFlattened) {
      return;
    }
    setParams(params, 'c');
  }

  @Override
  public Pair<INDArray, MaskState> feedForwardMaskArray(
      INDArray maskArray, MaskState currentMaskState, int minibatchSize) {
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
    return new Pair<>(
        Masks.fromLengths(out, c.outLength(t), maskArray.dataType()), MaskState.Active);
  }

  private SubsamplingKernels kernels() {
    if (kernels == null || kernels.dataType() != dataType) {
      kernels = SubsamplingKernels.of(dataType);
    }
    return kernels;
  }

  /** A C-order array in ACTIVATIONS (kept for backprop) when training, else in the working memory. */
  private static INDArray alloc(
      boolean training, LayerWorkspaceMgr mgr, DataType dt, long... shape) {
    return training
        ? mgr.createUninitialized(ArrayType.ACTIVATIONS, dt, shape, 'c')
        : Nd4j.createUninitialized(dt, shape, 'c');
  }

  // ------------------------------------------------------------------ forward

  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    long t0 = PartTimer.start();
    INDArray out = forward(training, workspaceMgr);
    PartTimer.stop(PartTimer.Part.SUBSAMPLING, t0);
    return out;
  }

  private INDArray forward(boolean training, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    ConvSubsampling conf = layerConf();
    INDArray x = input.castTo(dataType);
    if (x.rank() != 3 || x.size(1) != conf.getFeatIn()) {
      throw new IllegalArgumentException(
          "ConvSubsampling expects [B, "
              + conf.getFeatIn()
              + ", T] input, got "
              + Arrays.toString(x.shape()));
    }
    SubsamplingKernels kn = kernels();
    int k = conf.numStages();
    int c = conf.getConvChannels();
    int d = conf.getDModel();
    Cache cc = new Cache();
    cc.batch = (int) x.size(0);
    cc.featIn = (int) x.size(1);
    cc.time = (int) x.size(2);
    int batch = cc.batch;
    geometry(cc, conf);
    cc.actHeap = new Object[k + 1];
    cc.act = new INDArray[k + 1];
    cc.dwOut = new INDArray[k + 1];

    cc.nd4j = Kernels.nd4j(conf.getKernels());
    if (cc.nd4j) {
      // stage 0 with libnd4j ops: mask the frames, conv(1 -> C) as NHWC [B, T, F, 1], mask, ReLU
      cc.image = alloc(training, workspaceMgr, dataType, batch, cc.time, cc.featIn, 1);
      cc.image.reshape('c', batch, cc.time, cc.featIn).assign(x.permute(0, 2, 1));
      Masks.applyTimeMask(cc.image.reshape('c', batch, cc.time, cc.featIn), cc.masks[0]);
      cc.act[1] = alloc(training, workspaceMgr, dataType, batch, cc.times[1], cc.freqs[1], c);
      Nd4jConv.conv2d(
          cc.image,
          getParam(ConvSubsampling.convW(0)),
          getParam(ConvSubsampling.convB(0)),
          cc.act[1],
          2,
          1,
          1);
      Masks.applyTimeMask(
          cc.act[1].reshape('c', batch, cc.times[1], (long) cc.freqs[1] * c), cc.masks[1]);
      Transforms.relu(cc.act[1], false);
    } else {
      // stage 0: conv(1 -> C) + masks + ReLU
      cc.inputHeap = kn.toHeap(x, "input");
      Object a = kn.buffer("act1", (long) batch * cc.times[1] * cc.freqs[1] * c);
      kn.firstForward(
          cc.inputHeap,
          batch,
          cc.featIn,
          cc.time,
          cc.lengths[0],
          cc.lengths[1],
          kn.toHeap(getParam(ConvSubsampling.convW(0)), "w"),
          kn.toHeap(getParam(ConvSubsampling.convB(0)), "b"),
          c,
          a);
      cc.actHeap[1] = a;
      if (k == 1) {
        cc.act[1] = alloc(training, workspaceMgr, dataType, batch, cc.times[1], cc.freqs[1], c);
        kn.toArray(a, cc.act[1]);
      }
    }

    // stages 1..k-1: depthwise (masked) -> pointwise -> mask -> ReLU
    for (int s = 1; s < k; s++) {
      int tn = cc.times[s + 1];
      int fn = cc.freqs[s + 1];
      long rows = (long) batch * tn * fn;
      int dw = ConvSubsampling.depthwiseIndex(s);
      int pw = ConvSubsampling.pointwiseIndex(s);
      INDArray dwo = alloc(training, workspaceMgr, dataType, batch, tn, fn, c);
      if (cc.nd4j) {
        Nd4jConv.depthwise(
            cc.act[s], depthwiseWeights(dw), getParam(ConvSubsampling.convB(dw)), dwo, 2, 1, 1);
        Masks.applyTimeMask(dwo.reshape('c', batch, tn, (long) fn * c), cc.masks[s + 1]);
      } else {
        Object dwoHeap = kn.buffer("dwOut", rows * c);
        kn.dwForward(
            cc.actHeap[s],
            batch,
            cc.times[s],
            cc.freqs[s],
            c,
            kn.toHeap(getParam(ConvSubsampling.convW(dw)), "w"),
            kn.toHeap(getParam(ConvSubsampling.convB(dw)), "b"),
            cc.lengths[s + 1],
            dwoHeap);
        kn.toArray(dwoHeap, dwo);
      }
      INDArray p = alloc(training, workspaceMgr, dataType, rows, c);
      Linalg.mmulInto(
          dwo.reshape('c', rows, c),
          false,
          getParam(ConvSubsampling.convW(pw)).reshape('c', c, c),
          true,
          p);
      p.addiRowVector(getParam(ConvSubsampling.convB(pw)));
      Masks.applyTimeMask(p.reshape('c', batch, tn, (long) fn * c), cc.masks[s + 1]);
      Transforms.relu(p, false);
      cc.dwOut[s + 1] = dwo;
      cc.act[s + 1] = p.reshape('c', batch, tn, fn, c);
      if (s + 1 < k && !cc.nd4j) {
        cc.actHeap[s + 1] = kn.toHeap(p, "act" + (s + 1));
      }
    }

    // flatten (B, T', C, F') -> Linear -> xscale -> dropout
    int tk = cc.times[k];
    int fk = cc.freqs[k];
    INDArray flat = alloc(training, workspaceMgr, dataType, (long) batch * tk, (long) c * fk);
    flat.reshape('c', batch, tk, c, fk).assign(cc.act[k].permute(0, 1, 3, 2));
    INDArray y = Linalg.mmul(flat, false, getParam(ConvSubsampling.OUT_W), true);
    y.addiRowVector(getParam(ConvSubsampling.OUT_B));
    y.muli(conf.xscale());
    INDArray drop =
        training ? Dropout.mask(dataType, conf.getDropoutPreEncoder(), (long) batch * tk, d) : null;
    if (drop != null) {
      y.muli(drop);
      drop = workspaceMgr.leverageTo(ArrayType.ACTIVATIONS, drop);
    }
    cc.flat = flat;
    cc.dropMask = drop;
    INDArray out =
        workspaceMgr.createUninitialized(
            ArrayType.ACTIVATIONS, dataType, new long[] {batch, d, tk}, 'c');
    out.assign(y.reshape('c', batch, tk, d).permute(0, 2, 1));
    cache = training ? cc : null;
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
    cc.lengths[0] = Masks.lengths(maskArray, cc.batch, cc.time);
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
      cc.masks[s] =
          maskArray == null || Masks.allValid(cc.lengths[s], cc.times[s])
              ? null
              : Masks.fromLengths(cc.lengths[s], cc.times[s], dataType);
    }
  }

  // ------------------------------------------------------------------ backward

  @Override
  public Pair<Gradient, INDArray> backpropGradient(
      INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    long t0 = PartTimer.start();
    Pair<Gradient, INDArray> r = backward(epsilon, workspaceMgr);
    PartTimer.stop(PartTimer.Part.SUBSAMPLING, t0);
    return r;
  }

  private Pair<Gradient, INDArray> backward(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(true);
    Cache cc = cache;
    if (cc == null) {
      throw new IllegalStateException("ConvSubsampling: backprop without a training forward pass");
    }
    ConvSubsampling conf = layerConf();
    SubsamplingKernels kn = kernels();
    int k = conf.numStages();
    int c = conf.getConvChannels();
    int d = conf.getDModel();
    int batch = cc.batch;
    int tk = cc.times[k];
    int fk = cc.freqs[k];

    // out: Linear, xscale, dropout
    INDArray dy =
        epsilon.castTo(dataType).permute(0, 2, 1).dup('c').reshape('c', (long) batch * tk, d);
    if (cc.dropMask != null) {
      dy.muli(cc.dropMask);
    }
    dy.muli(conf.xscale());
    Linalg.mmulInto(dy, true, cc.flat, false, gradientViews.get(ConvSubsampling.OUT_W));
    gradientViews.get(ConvSubsampling.OUT_B).assign(Linalg.columnSums(dy).reshape(d));
    INDArray dFlat = Linalg.mmul(dy, false, getParam(ConvSubsampling.OUT_W), false);
    INDArray dp = dFlat.reshape('c', batch, tk, c, fk).permute(0, 1, 3, 2).dup('c');
    Linalg.reluBackpropInPlace(cc.act[k], dp); // gradient before the last ReLU (0 at masked steps)

    Object dz = null; // gradient before the ReLU of stage s, as heap array
    for (int s = k - 1; s >= 1; s--) {
      int tn = cc.times[s + 1];
      int fn = cc.freqs[s + 1];
      long rows = (long) batch * tn * fn;
      int dw = ConvSubsampling.depthwiseIndex(s);
      int pw = ConvSubsampling.pointwiseIndex(s);
      INDArray dp2 = dp.reshape('c', rows, c);
      INDArray wpw = getParam(ConvSubsampling.convW(pw)).reshape('c', c, c);
      Linalg.mmulInto(
          dp2,
          true,
          cc.dwOut[s + 1].reshape('c', rows, c),
          false,
          gradientViews.get(ConvSubsampling.convW(pw)).reshape('c', c, c));
      gradientViews.get(ConvSubsampling.convB(pw)).assign(Linalg.columnSums(dp2).reshape(c));
      INDArray dd = Linalg.mmul(dp2, false, wpw, false); // 0 at masked steps, as dp
      if (cc.nd4j) {
        // depthwise backward with libnd4j's op, then the ReLU gate of stage s (0 at masked steps
        // too)
        INDArray wdw = depthwiseWeights(dw);
        INDArray dx =
            Nd4j.createUninitialized(
                dataType, new long[] {batch, cc.times[s], cc.freqs[s], c}, 'c');
        INDArray gw = Nd4j.createUninitialized(dataType, wdw.shape(), 'c');
        INDArray gb = Nd4j.createUninitialized(dataType, new long[] {c}, 'c');
        Nd4jConv.depthwiseBp(
            cc.act[s],
            wdw,
            getParam(ConvSubsampling.convB(dw)),
            dd.reshape('c', batch, tn, fn, c),
            dx,
            gw,
            gb,
            2,
            1,
            1);
        gradientViews.get(ConvSubsampling.convW(dw)).assign(gw.reshape('c', c, 1, 3, 3));
        gradientViews.get(ConvSubsampling.convB(dw)).assign(gb);
        dp = Linalg.reluBackpropInPlace(cc.act[s], dx);
        continue;
      }
      Object ddHeap = kn.toHeap(dd, "dd");
      Object gw = kn.allocate(9 * c);
      Object gb = kn.allocate(c);
      kn.dwBackwardWeights(cc.actHeap[s], ddHeap, batch, cc.times[s], cc.freqs[s], c, gw, gb);
      gradientViews.get(ConvSubsampling.convW(dw)).assign(kn.newArray(gw, c, 1, 3, 3));
      gradientViews.get(ConvSubsampling.convB(dw)).assign(kn.newArray(gb, c));
      dz = kn.buffer("dz" + s, (long) batch * cc.times[s] * cc.freqs[s] * c);
      kn.dwBackwardInput(
          ddHeap,
          batch,
          cc.times[s],
          cc.freqs[s],
          c,
          kn.toHeap(getParam(ConvSubsampling.convW(dw)), "w"),
          cc.actHeap[s],
          dz);
      if (s > 1) {
        dp = kn.newArray(dz, batch, cc.times[s], cc.freqs[s], c);
      }
    }
    if (cc.nd4j) {
      return new Pair<>(gradient(conf), firstBackwardNd4j(cc, conf, dp, c, workspaceMgr));
    }
    if (k == 1) {
      dz = kn.toHeap(dp, "dz1");
    }

    // stage 0
    Object gw0 = kn.allocate(9 * c);
    Object gb0 = kn.allocate(c);
    kn.firstBackwardWeights(
        cc.inputHeap, dz, batch, cc.featIn, cc.time, cc.lengths[0], c, gw0, gb0);
    gradientViews.get(ConvSubsampling.convW(0)).assign(kn.newArray(gw0, c, 1, 3, 3));
    gradientViews.get(ConvSubsampling.convB(0)).assign(kn.newArray(gb0, c));
    INDArray eps;
    if (conf.isInputGradient()) {
      Object dx = kn.buffer("dInput", (long) batch * cc.featIn * cc.time);
      kn.firstBackwardInput(
          dz,
          batch,
          cc.featIn,
          cc.time,
          cc.lengths[0],
          kn.toHeap(getParam(ConvSubsampling.convW(0)), "w"),
          c,
          dx);
      eps =
          workspaceMgr.createUninitialized(
              ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, cc.featIn, cc.time}, 'c');
      kn.toArray(dx, eps);
    } else {
      eps =
          workspaceMgr.create(
              ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, cc.featIn, cc.time}, 'c');
    }

    return new Pair<>(gradient(conf), eps);
  }

  private Gradient gradient(ConvSubsampling conf) {
    Gradient g = new DefaultGradient();
    for (String name : conf.initializer().paramKeys(conf)) {
      g.gradientForVariable().put(name, gradientViews.get(name));
    }
    return g;
  }

  /** A depthwise convolution's weights {@code (C, 1, 3, 3)} as libnd4j's {@code [1, C, 3, 3]} (same order). */
  private INDArray depthwiseWeights(int index) {
    INDArray w = getParam(ConvSubsampling.convW(index));
    return w.reshape('c', 1, w.size(0), w.size(2), w.size(3));
  }

  /**
   * The first convolution's backward with libnd4j's {@code conv2d_bp} ({@code dz}: the gradient before
   * its ReLU, {@code [B, T1, F1, C]}); returns the features' gradient {@code [B, F0, T]} (zeros unless
   * {@link ConvSubsampling#isInputGradient()}).
   */
  private INDArray firstBackwardNd4j(
      Cache cc, ConvSubsampling conf, INDArray dz, int c, LayerWorkspaceMgr workspaceMgr) {
    INDArray w0 = getParam(ConvSubsampling.convW(0));
    INDArray dImage = Nd4j.createUninitialized(dataType, cc.image.shape(), 'c');
    INDArray gw = Nd4j.createUninitialized(dataType, w0.shape(), 'c');
    INDArray gb = Nd4j.createUninitialized(dataType, new long[] {c}, 'c');
    Nd4jConv.conv2dBp(
        cc.image, w0, getParam(ConvSubsampling.convB(0)), dz, dImage, gw, gb, 2, 1, 1);
    gradientViews.get(ConvSubsampling.convW(0)).assign(gw);
    gradientViews.get(ConvSubsampling.convB(0)).assign(gb);
    long[] shape = {cc.batch, cc.featIn, cc.time};
    if (!conf.isInputGradient()) {
      return workspaceMgr.create(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c');
    }
    INDArray d3 = dImage.reshape('c', cc.batch, cc.time, cc.featIn);
    Masks.applyTimeMask(d3, cc.masks[0]); // masked frames entered as zeros
    INDArray eps =
        workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, shape, 'c');
    eps.assign(d3.permute(0, 2, 1));
    return eps;
  }

  @Override
  public void clear() {
    super.clear();
    cache = null;
  }
}
