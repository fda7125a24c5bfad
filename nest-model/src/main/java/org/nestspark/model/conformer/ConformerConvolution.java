package org.nestspark.model.conformer;

import static org.nestspark.model.conformer.ConformerLayer.*;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.Kernels;
import org.nestspark.model.nn.SliceGroup;

/**
 * NeMo's {@code ConformerConvolution} (docs/nest-numerics.md §6.6) on row matrices {@code [B·T', d]}:
 * {@code pointwise_conv1} (d→2d, k 1) → GLU over channels ({@code a·σ(b)}, a = channels 0..d−1) → zero
 * the padded steps → {@code depthwise_conv} (k taps, groups d, zero padding (k−1)/2 both sides) →
 * {@code batch_norm} (BatchNorm1d or LayerNorm, {@code conv_norm_type}) → Swish → {@code
 * pointwise_conv2} (d→d, k 1).
 *
 * <p>BatchNorm, training: normalises with the batch mean and <b>biased</b> variance over all B×T'
 * positions, <b>padded ones included</b> [quirk, as NeMo]; the running statistics move by momentum 0.1
 * towards the batch mean and the <b>unbiased</b> variance. They are not written here: the forward
 * keeps {@code old − new} and the backward hands it to DL4J as their "gradient" (NoOp updater: params
 * −= gradient), as DL4J's BatchNormalization does, so parameter averaging sees them. Eval: the running
 * statistics. Keeps what its backward needs from the last forward.
 */
final class ConformerConvolution {
  private final int d;
  private final boolean batchNorm;
  private final LayerNormOp layerNorm;
  private final DepthwiseTimeConv depthwise;
  private final String kernels;
  private boolean nd4j; // the last forward's resolved model.kernels
  private boolean fused; // fused element-wise passes (FusedOps), set by the layer per forward

  // forward cache
  private int batch;
  private int time;
  private boolean training;
  private INDArray x;
  private INDArray gluA;
  private INDArray gluSig;
  private INDArray gluIn;
  private INDArray rowMask;
  private INDArray normXhat;
  private INDArray normRstd;
  private INDArray normOut;
  private INDArray swishSig;
  private INDArray swishOut;
  private INDArray runningMeanDelta;
  private INDArray runningVarDelta;
  // fused path: the pointwise_conv1 output [N, 2d] and the batch-norm statistics per channel
  private INDArray gluG;
  private double[] bnMean;
  private double[] bnRstd;

  ConformerConvolution(int dModel, int kernel, boolean batchNorm, String kernels) {
    this.kernels = kernels;
    this.d = dModel;
    this.batchNorm = batchNorm;
    this.layerNorm = batchNorm ? null : new LayerNormOp(CONV_NORM_W, CONV_NORM_B, NORM_EPS);
    this.depthwise = new DepthwiseTimeConv(dModel, kernel);
  }

  /** Whether the next forward (and its backward) runs the fused element-wise passes ({@link FusedOps}). */
  void setFused(boolean fused) {
    this.fused = fused;
  }

  INDArray forward(INDArray x, Map<String, INDArray> p, SequenceMask mask, boolean training) {
    this.batch = mask.batch();
    this.time = mask.time();
    this.training = training;
    this.x = x;
    long n = x.size(0);

    INDArray g = Ops.linear(x, p.get(CONV_PW1_W).reshape('c', 2L * d, d), p.get(CONV_PW1_B));
    if (fused) {
      return forwardFused(g, p, mask, n);
    }
    gluG = null;
    bnMean = null;
    bnRstd = null;
    gluA = g.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d));
    gluSig = Transforms.sigmoid(g.get(NDArrayIndex.all(), NDArrayIndex.interval(d, 2 * d)), true);
    INDArray glu = gluA.mul(gluSig);
    rowMask = mask.rowColumn();
    if (rowMask != null) {
      glu.muliColumnVector(rowMask);
    }

    gluIn = glu;
    nd4j = Kernels.nd4j(kernels);
    INDArray y =
        nd4j
            ? depthwise.forwardNd4j(glu, p.get(CONV_DW_W), p.get(CONV_DW_B), batch, time)
            : depthwise.forward(glu, p.get(CONV_DW_W), p.get(CONV_DW_B), batch, time);
    normOut = batchNorm ? batchNormForward(y, p, n) : layerNorm.forward(y, p);
    INDArray[] sw = Ops.swish(normOut);
    swishSig = sw[0];
    swishOut = sw[1];
    return Ops.linear(swishOut, p.get(CONV_PW2_W).reshape('c', d, d), p.get(CONV_PW2_B));
  }

  /**
   * The forward after {@code pointwise_conv1} on the {@code java} kernels: GLU + row mask in one pass,
   * the depthwise convolution's Java kernel, then BatchNorm's statistics and its apply + Swish in one pass
   * each (LayerNorm: its fused pass, then Swish).
   */
  private INDArray forwardFused(INDArray g, Map<String, INDArray> p, SequenceMask mask, long n) {
    gluG = g;
    gluA = null;
    rowMask = mask.rowColumn();
    INDArray[] glu = FusedOps.glu(g, rowMask);
    gluSig = glu[0];
    gluIn = glu[1];
    nd4j = false;
    INDArray y = depthwise.forward(gluIn, p.get(CONV_DW_W), p.get(CONV_DW_B), batch, time);
    if (batchNorm) {
      batchNormStatsFused(y, p, n);
      INDArray[] o =
          FusedOps.channelNormSwish(
              y,
              bnMean,
              bnRstd,
              FusedOps.vector(p.get(CONV_NORM_W)),
              FusedOps.vector(p.get(CONV_NORM_B)));
      normXhat = o[0];
      normOut = o[1];
      swishSig = o[2];
      swishOut = o[3];
    } else {
      normOut = layerNorm.forward(y, p, true);
      INDArray[] sw = Ops.swish(normOut);
      swishSig = sw[0];
      swishOut = sw[1];
    }
    return Ops.linear(swishOut, p.get(CONV_PW2_W).reshape('c', d, d), p.get(CONV_PW2_B));
  }

  /**
   * BatchNorm's batch statistics on the fused path (as {@link #batchNormForward}): the column moments
   * about the running mean in one pass, summed over the slices when they share them; sets {@code bnMean},
   * {@code bnRstd} and the running-statistic deltas.
   */
  private void batchNormStatsFused(INDArray y, Map<String, INDArray> p, long n) {
    double[] runMean = FusedOps.vector(p.get(CONV_BN_MEAN));
    double[] runVar = FusedOps.vector(p.get(CONV_BN_VAR));
    bnMean = new double[d];
    bnRstd = new double[d];
    if (!training) {
      for (int j = 0; j < d; j++) {
        bnMean[j] = runMean[j];
        bnRstd[j] = 1.0 / Math.sqrt(runVar[j] + NORM_EPS);
      }
      runningMeanDelta = null;
      runningVarDelta = null;
      return;
    }
    if (n < 2) {
      throw new IllegalStateException(
          "BatchNorm in training needs more than 1 value per channel (B·T' = " + n + ")");
    }
    long rows = batchRows(n);
    double[][] m = FusedOps.shiftedColumnMoments(y, runMean);
    if (SliceGroup.sharesBatchNorm()) {
      INDArray moments = Nd4j.createFromArray(m).castTo(y.dataType());
      moments = SliceGroup.allReduceSum(moments);
      m[0] = moments.getRow(0).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
      m[1] = moments.getRow(1).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
    }
    double[] dMean = new double[d];
    double[] dVar = new double[d];
    for (int j = 0; j < d; j++) {
      double shiftMean = m[0][j] / rows;
      double var = m[1][j] / rows - shiftMean * shiftMean; // biased
      bnMean[j] = shiftMean + runMean[j];
      bnRstd[j] = 1.0 / Math.sqrt(var + NORM_EPS);
      // running ← (1−m)·running + m·batch, as "gradient" old − new = m·(old − batch)
      dMean[j] = (runMean[j] - bnMean[j]) * BN_MOMENTUM;
      dVar[j] = (runVar[j] - var * ((double) rows / (rows - 1))) * BN_MOMENTUM;
    }
    runningMeanDelta = Nd4j.createFromArray(dMean).castTo(y.dataType()).reshape(1, d);
    runningVarDelta = Nd4j.createFromArray(dVar).castTo(y.dataType()).reshape(1, d);
  }

  /** The backward on the fused path (see {@link #forwardFused}). */
  private INDArray backwardFused(INDArray dsw, Map<String, INDArray> p, Map<String, INDArray> g) {
    INDArray ddw;
    if (batchNorm) {
      double[] gamma = FusedOps.vector(p.get(CONV_NORM_W));
      double[][] sums = FusedOps.swishBackwardColumnSums(dsw, normOut, swishSig, normXhat);
      // dγ = Σ dz·x̂, dβ = Σ dz
      g.get(CONV_NORM_W).assign(Nd4j.createFromArray(sums[1]).castTo(dsw.dataType()).reshape(d));
      g.get(CONV_NORM_B).assign(Nd4j.createFromArray(sums[0]).castTo(dsw.dataType()).reshape(d));
      double[] meanG = null;
      double[] meanGx = null;
      if (training) {
        g.get(CONV_BN_MEAN).assign(runningMeanDelta.reshape(d));
        g.get(CONV_BN_VAR).assign(runningVarDelta.reshape(d));
        g.get(CONV_BN_COUNT).assign(-1.0);
        // sums of dx̂ = dz·γ and dx̂·x̂
        double[][] s = new double[2][d];
        for (int j = 0; j < d; j++) {
          s[0][j] = sums[0][j] * gamma[j];
          s[1][j] = sums[1][j] * gamma[j];
        }
        if (SliceGroup.sharesBatchNorm()) {
          INDArray all = SliceGroup.allReduceSum(Nd4j.createFromArray(s).castTo(dsw.dataType()));
          s[0] = all.getRow(0).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
          s[1] = all.getRow(1).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleVector();
        }
        long rows = batchRows(dsw.size(0));
        meanG = new double[d];
        meanGx = new double[d];
        for (int j = 0; j < d; j++) {
          meanG[j] = s[0][j] / rows;
          meanGx[j] = s[1][j] / rows;
        }
      } else {
        g.get(CONV_BN_MEAN).assign(0.0);
        g.get(CONV_BN_VAR).assign(0.0);
        g.get(CONV_BN_COUNT).assign(0.0);
      }
      ddw = FusedOps.channelNormBackward(dsw, normXhat, gamma, meanG, meanGx, bnRstd);
    } else {
      INDArray dnorm = Ops.swishBackwardInPlace(dsw, normOut, swishSig);
      ddw = layerNorm.backward(dnorm, p, g);
    }
    INDArray dglu =
        depthwise.backward(
            gluIn, ddw, p.get(CONV_DW_W), g.get(CONV_DW_W), g.get(CONV_DW_B), batch, time);
    INDArray dg = FusedOps.gluBackward(dglu, gluG, gluSig, rowMask);
    return Ops.linearBackward(
        dg,
        x,
        p.get(CONV_PW1_W).reshape('c', 2L * d, d),
        g.get(CONV_PW1_W).reshape('c', 2L * d, d),
        g.get(CONV_PW1_B),
        true);
  }

  INDArray backward(INDArray dy, Map<String, INDArray> p, Map<String, INDArray> g) {
    INDArray dsw =
        Ops.linearBackward(
            dy,
            swishOut,
            p.get(CONV_PW2_W).reshape('c', d, d),
            g.get(CONV_PW2_W).reshape('c', d, d),
            g.get(CONV_PW2_B),
            true);
    if (fused) {
      return backwardFused(dsw, p, g);
    }
    INDArray dnorm = Ops.swishBackwardInPlace(dsw, normOut, swishSig);
    INDArray ddw = batchNorm ? batchNormBackward(dnorm, p, g) : layerNorm.backward(dnorm, p, g);
    INDArray dglu =
        nd4j
            ? depthwise.backwardNd4j(
                gluIn, ddw, p.get(CONV_DW_W), g.get(CONV_DW_W), g.get(CONV_DW_B), batch, time)
            : depthwise.backward(
                gluIn, ddw, p.get(CONV_DW_W), g.get(CONV_DW_W), g.get(CONV_DW_B), batch, time);
    if (rowMask != null) {
      dglu.muliColumnVector(rowMask);
    }
    long n = dglu.size(0);
    INDArray dg = Nd4j.createUninitialized(dglu.dataType(), n, 2L * d);
    // a·σ(b): da = dglu·σ(b), db = dglu·a·σ(b)·(1 − σ(b))
    dg.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d)).assign(dglu.mul(gluSig));
    dg.get(NDArrayIndex.all(), NDArrayIndex.interval(d, 2 * d))
        .assign(dglu.muli(gluA).muli(gluSig).muli(gluSig.rsub(1.0)));
    return Ops.linearBackward(
        dg,
        x,
        p.get(CONV_PW1_W).reshape('c', 2L * d, d),
        g.get(CONV_PW1_W).reshape('c', 2L * d, d),
        g.get(CONV_PW1_B),
        true);
  }

  // ------------------------------------------------------------------ batch norm

  private INDArray batchNormForward(INDArray y, Map<String, INDArray> p, long n) {
    INDArray gamma = p.get(CONV_NORM_W).reshape(1, d);
    INDArray beta = p.get(CONV_NORM_B).reshape(1, d);
    INDArray runMean = p.get(CONV_BN_MEAN).reshape(1, d);
    INDArray runVar = p.get(CONV_BN_VAR).reshape(1, d);
    INDArray xc;
    if (training) {
      if (n < 2) {
        throw new IllegalStateException(
            "BatchNorm in training needs more than 1 value per channel (B·T' = " + n + ")");
      }
      // over the whole batch: a sliced step sums every slice's columns (SliceGroup), as
      // SyncBatchNorm
      long rows = batchRows(n);
      INDArray mean;
      INDArray var; // biased
      if (!SliceGroup.sharesBatchNorm()) {
        mean = Ops.columnSum(y).divi(rows); // [1, d]
        xc = y.subRowVector(mean);
        var = Ops.columnSum(xc.mul(xc)).divi(rows);
      } else {
        // a sliced step: one rendezvous for both moments, taken about a shift every slice shares
        // (the
        // running mean, close to the batch mean), so E[(y−k)²] − (E[y−k])² loses no precision
        INDArray yk = y.subRowVector(runMean);
        INDArray moments = Nd4j.createUninitialized(y.dataType(), 2, d);
        moments.getRow(0).assign(Ops.columnSum(yk));
        moments.getRow(1).assign(Ops.columnSum(yk.muli(yk)));
        moments = SliceGroup.allReduceSum(moments).divi(rows);
        INDArray shiftMean = moments.getRow(0, true);
        mean = shiftMean.add(runMean);
        var = moments.getRow(1, true).subi(shiftMean.mul(shiftMean));
        xc = y.subRowVector(mean);
      }
      normRstd = Transforms.pow(var.add(NORM_EPS), -0.5, false);
      // running ← (1−m)·running + m·batch, as "gradient" old − new = m·(old − batch)
      runningMeanDelta = runMean.sub(mean).muli(BN_MOMENTUM);
      INDArray unbiased = var.mul((double) rows / (rows - 1));
      runningVarDelta = runVar.sub(unbiased).muli(BN_MOMENTUM);
    } else {
      xc = y.subRowVector(runMean);
      normRstd = Transforms.pow(runVar.add(NORM_EPS), -0.5, false);
      runningMeanDelta = null;
      runningVarDelta = null;
    }
    normXhat = xc.muliRowVector(normRstd);
    return normXhat.mulRowVector(gamma).addiRowVector(beta);
  }

  private INDArray batchNormBackward(
      INDArray dz, Map<String, INDArray> p, Map<String, INDArray> g) {
    INDArray gamma = p.get(CONV_NORM_W).reshape(1, d);
    g.get(CONV_NORM_W).assign(Ops.columnSum(dz.mul(normXhat)).reshape(d));
    g.get(CONV_NORM_B).assign(Ops.columnSum(dz).reshape(d));
    INDArray dxhat = dz.mulRowVector(gamma);
    if (training) {
      g.get(CONV_BN_MEAN).assign(runningMeanDelta.reshape(d));
      g.get(CONV_BN_VAR).assign(runningVarDelta.reshape(d));
      g.get(CONV_BN_COUNT).assign(-1.0);
      INDArray sums = Nd4j.createUninitialized(dxhat.dataType(), 2, d);
      sums.getRow(0).assign(Ops.columnSum(dxhat));
      sums.getRow(1).assign(Ops.columnSum(dxhat.mul(normXhat)));
      if (SliceGroup.sharesBatchNorm()) {
        sums = SliceGroup.allReduceSum(sums);
      }
      sums.divi(batchRows(dxhat.size(0)));
      INDArray meanG = sums.getRow(0, true);
      INDArray meanGx = sums.getRow(1, true);
      dxhat.subiRowVector(meanG).subi(normXhat.mulRowVector(meanGx));
    } else {
      g.get(CONV_BN_MEAN).assign(0.0);
      g.get(CONV_BN_VAR).assign(0.0);
      g.get(CONV_BN_COUNT).assign(0.0);
    }
    return dxhat.muliRowVector(normRstd);
  }

  /**
   * Rows the batch statistics are over: this call's rows, or every slice's in a sliced step that shares
   * them (same T'; {@code trainer.sync_batchnorm}).
   */
  private long batchRows(long localRows) {
    return SliceGroup.sharesBatchNorm() ? SliceGroup.current().group().batch() * time : localRows;
  }

  void clear() {
    x = null;
    gluG = null;
    bnMean = null;
    bnRstd = null;
    gluA = null;
    gluSig = null;
    gluIn = null;
    rowMask = null;
    normXhat = null;
    normRstd = null;
    normOut = null;
    swishSig = null;
    swishOut = null;
    runningMeanDelta = null;
    runningVarDelta = null;
    if (layerNorm != null) {
      layerNorm.clear();
    }
  }
}
