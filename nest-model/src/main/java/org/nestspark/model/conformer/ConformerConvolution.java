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

  ConformerConvolution(int dModel, int kernel, boolean batchNorm, String kernels) {
    this.kernels = kernels;
    this.d = dModel;
    this.batchNorm = batchNorm;
    this.layerNorm =
        batchNorm ? null : new LayerNormOp(CONV_NORM_W, CONV_NORM_B, NORM_EPS, kernels);
    this.depthwise = new DepthwiseTimeConv(dModel, kernel);
  }

  INDArray forward(INDArray x, Map<String, INDArray> p, SequenceMask mask, boolean training) {
    this.batch = mask.batch();
    this.time = mask.time();
    this.training = training;
    this.x = x;
    long n = x.size(0);

    INDArray g = Ops.linear(x, p.get(CONV_PW1_W).reshape('c', 2L * d, d), p.get(CONV_PW1_B));
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

  INDArray backward(INDArray dy, Map<String, INDArray> p, Map<String, INDArray> g) {
    INDArray dsw =
        Ops.linearBackward(
            dy,
            swishOut,
            p.get(CONV_PW2_W).reshape('c', d, d),
            g.get(CONV_PW2_W).reshape('c', d, d),
            g.get(CONV_PW2_B),
            true);
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
