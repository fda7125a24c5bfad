package org.nestspark.model.decoder;

import java.util.Arrays;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.api.layers.IOutputLayer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.BaseLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.api.ops.impl.transforms.custom.LogSoftMax;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.Linalg;
import org.nestspark.model.nn.PartTimer;
import org.nestspark.model.nn.SliceGroup;

/**
 * The computation of {@link MultiSoftmaxDecoder}: the decoder's 1×1 convolution as a gemm on
 * {@code [B·T', d]}, log_softmax per book, and NeMo's masked-token NLL ({@link MultiMLMLoss}) as
 * DL4J's output layer (docs/nest-numerics.md §7).
 *
 * <p>Masks: the mask DL4J propagates from the encoder is not the labels mask and is ignored; the labels
 * mask {@code [B, T']} (set by DL4J from the data set's labels mask) selects the tokens that count. With
 * no labels mask every position counts.
 *
 * <p>Training touches only the selected positions: the logits, the softmax and all three gradient gemms
 * are computed for the N selected rows (about a third of the frames in NEST), not for all B·T'. The score
 * computed during backprop is handed to the following {@code computeScore} call (once), so a training step
 * computes the decoder once.
 *
 * <p>Gradients: DL4J's updater divides parameter gradients by the minibatch size B, NeMo's loss is a mean
 * over selected positions; this layer therefore scales its logits gradient by B, so that after DL4J's
 * division the parameter gradients are NeMo's exactly (and {@code GradientCheckUtil}, which applies the
 * same division, sees the derivative of the score).
 */
public class MultiSoftmaxDecoderImpl extends BaseLayer<MultiSoftmaxDecoder>
    implements IOutputLayer {
  private static final long serialVersionUID = 1L;

  private INDArray labels;
  private transient boolean scoreFromBackprop;
  private transient double backpropScore;
  private int lastNumSelected = -1;
  private double lastAccuracy;
  private double lastLoss = Double.NaN;

  public MultiSoftmaxDecoderImpl(NeuralNetConfiguration conf, DataType dataType) {
    super(conf, dataType);
    org.nestspark.model.nn.ComputeThreads.ensureApplied();
  }

  @Override
  public boolean isPretrainLayer() {
    return false;
  }

  @Override
  public boolean hasBias() {
    return false; // handled here
  }

  @Override
  public void setParams(INDArray params) {
    if (params == paramsFlattened) {
      return;
    }
    setParams(params, 'c');
  }

  /** The encoder mask is not a labels mask: keep the labels mask slot for DL4J's {@code setMaskArray}. */
  @Override
  public Pair<INDArray, MaskState> feedForwardMaskArray(
      INDArray maskArray, MaskState currentMaskState, int minibatchSize) {
    return new Pair<>(maskArray, currentMaskState);
  }

  // ------------------------------------------------------------------ metrics of the last
  // training/score pass

  /** Selected positions N of the last loss computation (0: the batch has no masked token; −1: none yet). */
  public int getLastNumSelected() {
    return lastNumSelected;
  }

  /** Masked-token accuracy (argmax = target over selected positions and books) of the last loss computation. */
  public double getLastAccuracy() {
    return lastAccuracy;
  }

  /** The loss of the last loss computation, without regularization (NeMo's value). */
  public double getLastLoss() {
    return lastLoss;
  }

  /**
   * Sets the last metrics to those of a whole batch whose slices ran on replicas of this graph ({@code
   * TrainStep} with {@code trainer.batch_slices} &gt; 1): selected positions, accuracy and loss over every slice.
   */
  public void setLastMetrics(int numSelected, double accuracy, double loss) {
    lastNumSelected = numSelected;
    lastAccuracy = accuracy;
    lastLoss = loss;
  }

  // ------------------------------------------------------------------ shapes and selection

  private MultiSoftmaxDecoder cfg() {
    return layerConf();
  }

  /** [B·T', d] rows of the input (row n = b·T' + t). */
  private INDArray rows(INDArray in) {
    int d = cfg().getFeatIn();
    if (in.rank() != 3 || in.size(1) != d) {
      throw new IllegalArgumentException(
          "MultiSoftmaxDecoder expects [B, "
              + d
              + ", T'] input, got "
              + Arrays.toString(in.shape()));
    }
    return in.castTo(dataType).permute(0, 2, 1).dup('c').reshape('c', in.size(0) * in.size(2), d);
  }

  private int[] selectedRows(int batch, int time) {
    if (maskArray == null) {
      int[] all = new int[batch * time];
      for (int i = 0; i < all.length; i++) {
        all[i] = i;
      }
      return all;
    }
    if (maskArray.rank() != 2 || maskArray.size(0) != batch || maskArray.size(1) != time) {
      throw new IllegalArgumentException(
          "labels mask "
              + Arrays.toString(maskArray.shape())
              + " does not match ["
              + batch
              + ", "
              + time
              + "]");
    }
    double[] m = maskArray.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    int count = 0;
    for (double v : m) {
      if (v > 0.5) {
        count++;
      }
    }
    int[] sel = new int[count];
    int j = 0;
    for (int i = 0; i < m.length; i++) {
      if (m[i] > 0.5) {
        sel[j++] = i;
      }
    }
    return sel;
  }

  private int[][] targets(int[] sel, int batch, int time) {
    int books = cfg().getNumDecoders();
    if (labels == null) {
      throw new IllegalStateException("MultiSoftmaxDecoder: labels are not set");
    }
    if (labels.rank() != 3
        || labels.size(0) != batch
        || labels.size(1) != books
        || labels.size(2) != time) {
      throw new IllegalArgumentException(
          "labels must be token indices [B, num_books, T'] = ["
              + batch
              + ", "
              + books
              + ", "
              + time
              + "], got "
              + Arrays.toString(labels.shape()));
    }
    double[] l = labels.castTo(DataType.DOUBLE).dup('c').data().asDouble();
    int[][] out = new int[sel.length][books];
    for (int i = 0; i < sel.length; i++) {
      int b = sel[i] / time;
      int t = sel[i] % time;
      for (int h = 0; h < books; h++) {
        double v = l[(b * books + h) * time + t];
        if (v != Math.rint(v)) {
          throw new IllegalArgumentException(
              "label " + v + " at (" + b + ", " + h + ", " + t + ") is not a token index");
        }
        out[i][h] = (int) v;
      }
    }
    return out;
  }

  private INDArray weight2d() {
    MultiSoftmaxDecoder c = cfg();
    return getParam(MultiSoftmaxDecoder.WEIGHT).reshape('c', c.outChannels(), c.getFeatIn());
  }

  private INDArray logits(INDArray x) {
    INDArray z = Linalg.mmul(x, false, weight2d(), true);
    if (cfg().isUseBias()) {
      z.addiRowVector(getParam(MultiSoftmaxDecoder.BIAS));
    }
    return z;
  }

  // ------------------------------------------------------------------ forward (inference)

  /** Log-probabilities {@code [B, num_classes·H, T']} (channel {@code class·H + book}). */
  @Override
  public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
    long t0 = PartTimer.start();
    INDArray out = forward(workspaceMgr);
    PartTimer.stop(PartTimer.Part.DECODER, t0);
    return out;
  }

  private INDArray forward(LayerWorkspaceMgr workspaceMgr) {
    assertInputSet(false);
    MultiSoftmaxDecoder c = cfg();
    long batch = input.size(0);
    long time = input.size(2);
    int k = c.getNumClasses();
    int books = c.getNumDecoders();
    INDArray z = logits(rows(input));
    INDArray logp;
    if (books == 1) {
      logp = Nd4j.createUninitialized(dataType, z.shape(), 'c');
      Nd4j.exec(new LogSoftMax(z, logp));
    } else {
      INDArray zt = z.reshape('c', batch * time, k, books).permute(0, 2, 1).dup('c');
      INDArray lt = Nd4j.createUninitialized(dataType, zt.shape(), 'c');
      Nd4j.exec(new LogSoftMax(zt, lt));
      logp = lt.permute(0, 2, 1).dup('c').reshape('c', batch * time, (long) k * books);
    }
    INDArray out =
        workspaceMgr.createUninitialized(
            ArrayType.ACTIVATIONS, dataType, new long[] {batch, c.outChannels(), time}, 'c');
    out.assign(logp.reshape('c', batch, time, c.outChannels()).permute(0, 2, 1));
    return out;
  }

  // ------------------------------------------------------------------ loss and backward

  private MultiMLMLoss.Result loss(boolean withGradient) {
    assertInputSet(withGradient);
    int batch = (int) input.size(0);
    int time = (int) input.size(2);
    int[] sel = selectedRows(batch, time);
    int[][] tg = targets(sel, batch, time);
    MultiMLMLoss.Result r;
    INDArray xs = null;
    if (sel.length == 0) {
      r = MultiMLMLoss.empty();
    } else {
      xs = Nd4j.pullRows(rows(input), 1, sel);
      // a slice of a batch divides by the whole batch's selected positions (SliceGroup)
      SliceGroup.Member slice = SliceGroup.current();
      // and scales its gradient by the whole batch's size (DL4J's summed-over-the-minibatch form),
      // so every
      // slice's gradients, and the BatchNorm sums taken across slices in backprop, are on one scale
      long normalizer = slice == null ? sel.length : slice.group().selected();
      double gradScale = slice == null ? batch : slice.group().batch();
      r =
          org.nestspark.model.nn.Kernels.nd4j(cfg().getKernels())
              ? MultiMLMLoss.computeNd4j(
                  logits(xs),
                  tg,
                  cfg().getNumClasses(),
                  cfg().getNumDecoders(),
                  withGradient,
                  gradScale,
                  normalizer)
              : MultiMLMLoss.compute(
                  logits(xs),
                  tg,
                  cfg().getNumClasses(),
                  cfg().getNumDecoders(),
                  withGradient,
                  gradScale,
                  normalizer);
    }
    lastNumSelected = r.numSelected;
    lastAccuracy = r.accuracy(cfg().getNumDecoders());
    lastLoss = r.loss;
    if (withGradient) {
      lastXs = xs;
      lastSel = sel;
    }
    return r;
  }

  private transient INDArray lastXs;
  private transient int[] lastSel;

  @Override
  public Pair<Gradient, INDArray> backpropGradient(
      INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
    long t0 = PartTimer.start();
    Pair<Gradient, INDArray> r = backward(workspaceMgr);
    PartTimer.stop(PartTimer.Part.DECODER, t0);
    return r;
  }

  private Pair<Gradient, INDArray> backward(LayerWorkspaceMgr workspaceMgr) {
    MultiSoftmaxDecoder c = cfg();
    int batch = (int) input.size(0);
    int time = (int) input.size(2);
    int d = c.getFeatIn();
    MultiMLMLoss.Result r = loss(true);
    Gradient g = new DefaultGradient();
    INDArray gw = gradientViews.get(MultiSoftmaxDecoder.WEIGHT);
    INDArray gb = c.isUseBias() ? gradientViews.get(MultiSoftmaxDecoder.BIAS) : null;
    INDArray eps =
        workspaceMgr.create(ArrayType.ACTIVATION_GRAD, dataType, new long[] {batch, d, time}, 'c');
    if (r.numSelected == 0) {
      gw.assign(0);
      if (gb != null) {
        gb.assign(0);
      }
      eps.assign(0);
    } else {
      INDArray dz = r.gradLogits;
      Linalg.mmulInto(dz, true, lastXs, false, gw.reshape('c', c.outChannels(), d));
      if (gb != null) {
        gb.assign(dz.sum(0));
      }
      INDArray dxs = Linalg.mmul(dz, false, weight2d(), false);
      INDArray dx = Nd4j.zeros(dataType, (long) batch * time, d);
      INDArray idx = Nd4j.createFromArray(lastSel);
      Nd4j.exec(
          DynamicCustomOp.builder("scatter_upd").addInputs(dx, idx, dxs).addOutputs(dx).build());
      eps.assign(dx.reshape('c', batch, time, d).permute(0, 2, 1));
    }
    g.gradientForVariable().put(MultiSoftmaxDecoder.WEIGHT, gw);
    if (gb != null) {
      g.gradientForVariable().put(MultiSoftmaxDecoder.BIAS, gb);
    }
    lastXs = null;
    lastSel = null;
    backpropScore = r.loss;
    scoreFromBackprop = true;
    return new Pair<>(g, eps);
  }

  @Override
  public double computeScore(
      double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
    double loss;
    if (scoreFromBackprop) {
      loss = backpropScore;
      scoreFromBackprop = false;
    } else {
      loss = loss(false).loss;
    }
    this.score = loss + fullNetRegTerm;
    return this.score;
  }

  /** Per example: the mean loss over its selected positions (0 if none), plus the regularization term. */
  @Override
  public INDArray computeScoreForExamples(double fullNetRegTerm, LayerWorkspaceMgr workspaceMgr) {
    int batch = (int) input.size(0);
    int time = (int) input.size(2);
    int[] sel = selectedRows(batch, time);
    MultiMLMLoss.Result r = loss(false);
    double[] sum = new double[batch];
    int[] count = new int[batch];
    for (int i = 0; i < sel.length; i++) {
      sum[sel[i] / time] += r.perPosition[i];
      count[sel[i] / time]++;
    }
    double[] out = new double[batch];
    for (int b = 0; b < batch; b++) {
      out[b] = (count[b] == 0 ? 0.0 : sum[b] / count[b]) + fullNetRegTerm;
    }
    return workspaceMgr.leverageTo(
        ArrayType.ACTIVATIONS, Nd4j.create(out, new long[] {batch, 1}, 'c').castTo(dataType));
  }

  @Override
  public void clear() {
    super.clear();
    lastXs = null;
    lastSel = null;
  }

  // ------------------------------------------------------------------ IOutputLayer / Classifier

  @Override
  public boolean needsLabels() {
    return true;
  }

  @Override
  public void setLabels(INDArray labels) {
    this.labels = labels;
  }

  @Override
  public INDArray getLabels() {
    return labels;
  }

  @Override
  public int numLabels() {
    return cfg().getNumClasses();
  }

  @Override
  public double f1Score(DataSet data) {
    throw new UnsupportedOperationException("MultiSoftmaxDecoder: use getLastAccuracy()");
  }

  @Override
  public double f1Score(INDArray examples, INDArray labels) {
    throw new UnsupportedOperationException("MultiSoftmaxDecoder: use getLastAccuracy()");
  }

  @Override
  public void fit(DataSetIterator iter) {
    throw new UnsupportedOperationException("fit the ComputationGraph, not the output layer");
  }

  @Override
  public int[] predict(INDArray examples) {
    throw new UnsupportedOperationException(
        "MultiSoftmaxDecoder: use the graph's output (log-probabilities)");
  }

  @Override
  public java.util.List<String> predict(DataSet dataSet) {
    throw new UnsupportedOperationException(
        "MultiSoftmaxDecoder: use the graph's output (log-probabilities)");
  }

  @Override
  public void fit(INDArray examples, INDArray labels) {
    throw new UnsupportedOperationException("fit the ComputationGraph, not the output layer");
  }

  @Override
  public void fit(DataSet data) {
    throw new UnsupportedOperationException("fit the ComputationGraph, not the output layer");
  }

  @Override
  public void fit(INDArray examples, int[] labels) {
    throw new UnsupportedOperationException("fit the ComputationGraph, not the output layer");
  }
}
