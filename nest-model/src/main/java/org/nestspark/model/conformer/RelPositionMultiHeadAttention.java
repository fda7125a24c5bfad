package org.nestspark.model.conformer;

import static org.nestspark.model.conformer.ConformerLayer.*;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Broadcast;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.CpuBlas;
import org.nestspark.model.nn.Kernels;

/**
 * NeMo's {@code RelPositionMultiHeadAttention} with untied per-layer {@code pos_bias_u/v} (docs/nest-numerics.md §6.5):
 *
 * <ol>
 *   <li>q, k, v = Linear(x) (with bias), split into h heads of d_k (feature index head·d_k + c);
 *   <li>p = linear_pos(pos_emb) (no bias), pos_emb rows = relative positions T'−1 … −(T'−1);
 *   <li>AC = (q + u)·kᵀ; BD_raw = (q + v)·pᵀ, then the rel-shift {@code BD[i,j] = BD_raw[i, T'−1−i+j]}
 *       (relative position i − j);
 *   <li>scores = (AC + BD)/√d_k; scores of padded keys get −10000; softmax over keys; probabilities of
 *       padded queries or keys set to 0 (a fully padded query row then yields only linear_out's bias);
 *       dropout_att on the probabilities;
 *   <li>ctx = probs·v, heads concatenated, linear_out (with bias).
 * </ol>
 *
 * <p>Implementation: heads are laid out {@code [h·B, T', d_k]} (head-major) so that every product is
 * one batched matmul, and BD_raw {@code [h, B·T', 2T'−1]} comes from one batched matmul against the
 * shared positional projection. The rel-shift is a strided view of BD_raw (offset T'−1, row stride
 * 2T'−2), so it costs no copy or gather; its backward writes through the same view. Keeps what its
 * backward needs from the last forward.
 */
final class RelPositionMultiHeadAttention {
  private final int d;
  private final int h;
  private final int dk;
  private final double scale;
  private final String kernels;
  private boolean nd4j; // the last forward's resolved model.kernels

  // forward cache
  private int batch;
  private int time;
  private INDArray x;
  private INDArray pe;
  private INDArray qu;
  private INDArray qv;
  private INDArray k4;
  private INDArray v4;
  private INDArray p3;
  private INDArray prob;
  private INDArray probDropped;
  private INDArray attDropMask;
  private INDArray ctx;

  /** @param kernels {@code model.kernels} ({@link Kernels}): the element-wise steps as {@link AttentionRows} or ND4J ops */
  RelPositionMultiHeadAttention(int dModel, int nHeads, String kernels) {
    this.kernels = kernels;
    this.d = dModel;
    this.h = nHeads;
    this.dk = dModel / nHeads;
    this.scale = Math.sqrt(dk);
  }

  /**
   * @param x {@code [B·T, d]} (already layer-normed)
   * @param posEmb {@code [2T−1, d]} positional table (after dropout_emb, if any)
   */
  INDArray forward(
      INDArray x,
      Map<String, INDArray> p,
      INDArray posEmb,
      SequenceMask mask,
      boolean training,
      double dropoutAtt) {
    batch = mask.batch();
    time = mask.time();
    int bh = h * batch;
    long bt = (long) batch * time;
    int rel = 2 * time - 1;
    DataType dt = x.dataType();
    this.x = x;
    this.pe = posEmb;
    nd4j = Kernels.nd4j(kernels);

    INDArray q4 = toHeads(Ops.linear(x, p.get(ATT_Q_W), p.get(ATT_Q_B)));
    k4 = toHeads(Ops.linear(x, p.get(ATT_K_W), p.get(ATT_K_B)));
    v4 = toHeads(Ops.linear(x, p.get(ATT_V_W), p.get(ATT_V_B)));
    INDArray pos = Ops.linear(posEmb, p.get(ATT_POS_W), null); // [2T-1, d]
    p3 = pos.reshape('c', rel, h, dk).permute(1, 0, 2).dup('c'); // [h, 2T-1, dk]

    INDArray q3 = q4.reshape('c', h, bt, dk);
    qu = Nd4j.createUninitialized(dt, h, bt, dk);
    Broadcast.add(q3, p.get(ATT_POS_BIAS_U), qu, 0, 2);
    qv = Nd4j.createUninitialized(dt, h, bt, dk);
    Broadcast.add(q3, p.get(ATT_POS_BIAS_V), qv, 0, 2);

    INDArray scores = mm(qu.reshape('c', bh, time, dk), k4, false, true); // [hB, T, T]
    INDArray bdRaw = mm(qv, p3, false, true); // [h, BT, 2T-1]
    if (nd4j) {
      scores.addi(relShiftView(bdRaw)).divi(scale);
      INDArray s4 = scores.reshape('c', h, batch, time, time);
      if (mask.present()) {
        Broadcast.add(s4, mask.keyBias(), s4, 1, 3);
      }
    } else {
      AttentionRows.scores(
          scores, bdRaw, mask.present() ? mask.keyBias() : null, batch, time, scale);
    }
    prob = Nd4j.exec(new SoftMax(scores, scores, 2))[0];
    attDropMask = Ops.dropoutMask(training, dropoutAtt, dt, bh, time, time);
    if (nd4j) {
      if (mask.present()) {
        INDArray p4 = prob.reshape('c', h, batch, time, time);
        Broadcast.mul(p4, mask.mask(), p4, 1, 2);
      }
      probDropped = Ops.applyMask(prob, attDropMask);
    } else {
      probDropped =
          AttentionRows.maskAndDrop(
              prob, mask.present() ? mask.mask() : null, attDropMask, batch, time);
    }

    INDArray ctx4 = mm(probDropped, v4, false, false); // [hB, T, dk]
    ctx = fromHeads(ctx4);
    return Ops.linear(ctx, p.get(ATT_OUT_W), p.get(ATT_OUT_B));
  }

  /** Returns dL/dx and writes every parameter gradient of the module into {@code g}. */
  INDArray backward(INDArray dy, Map<String, INDArray> p, Map<String, INDArray> g) {
    int bh = h * batch;
    long bt = (long) batch * time;
    int rel = 2 * time - 1;
    DataType dt = dy.dataType();

    INDArray dctx =
        Ops.linearBackward(dy, ctx, p.get(ATT_OUT_W), g.get(ATT_OUT_W), g.get(ATT_OUT_B), true);
    INDArray dctx4 = toHeads(dctx);
    INDArray dv4 = mm(probDropped, dctx4, true, false);
    INDArray dprob = mm(dctx4, v4, false, true); // [hB, T, T]

    // softmax backward: dS = P ⊙ (dP − Σ_j dP ⊙ P); masked entries have P = 0 and get 0
    INDArray ds;
    INDArray dbdRaw;
    if (nd4j) {
      Ops.applyMaskInPlace(dprob, attDropMask);
      INDArray rowDot = dprob.mul(prob).sum(2); // [hB, T]
      Broadcast.sub(dprob, rowDot, dprob, 0, 1);
      ds = dprob.muli(prob).divi(scale);
      dbdRaw = Nd4j.zeros(dt, h, bt, rel);
      relShiftView(dbdRaw).assign(ds);
    } else {
      dbdRaw = AttentionRows.softmaxBackward(dprob, prob, attDropMask, h, time, scale);
      ds = dprob;
    }

    // AC = (q+u)·kᵀ: d(q+u) = dS·k, dk = dSᵀ·(q+u)
    INDArray dqu = mm(ds, k4, false, false); // [hB, T, dk]
    INDArray dk4 = mm(ds, qu.reshape('c', bh, time, dk), true, false);
    INDArray dqv = mm(dbdRaw, p3, false, false); // [h, BT, dk]
    INDArray dp3 = mm(dbdRaw, qv, true, false); // [h, 2T-1, dk]

    INDArray dqu3 = dqu.reshape('c', h, bt, dk);
    g.get(ATT_POS_BIAS_U).assign(dqu3.sum(1));
    g.get(ATT_POS_BIAS_V).assign(dqv.sum(1));
    INDArray dq4 = dqu3.addi(dqv);

    INDArray dx =
        Ops.linearBackward(
            fromHeads(dq4.reshape('c', bh, time, dk)),
            x,
            p.get(ATT_Q_W),
            g.get(ATT_Q_W),
            g.get(ATT_Q_B),
            true);
    dx.addi(
        Ops.linearBackward(
            fromHeads(dk4), x, p.get(ATT_K_W), g.get(ATT_K_W), g.get(ATT_K_B), true));
    dx.addi(
        Ops.linearBackward(
            fromHeads(dv4), x, p.get(ATT_V_W), g.get(ATT_V_W), g.get(ATT_V_B), true));

    INDArray dpos = dp3.permute(1, 0, 2).dup('c').reshape('c', rel, d);
    Ops.linearBackward(dpos, pe, p.get(ATT_POS_W), g.get(ATT_POS_W), null, false);
    return dx;
  }

  /** A batched product: OpenBLAS per head on the {@code java} kernels ({@link CpuBlas}), ND4J's matmul on {@code nd4j}. */
  private INDArray mm(INDArray a, INDArray b, boolean transposeA, boolean transposeB) {
    return nd4j
        ? Nd4j.matmul(a, b, transposeA, transposeB, false)
        : CpuBlas.matmul(a, b, transposeA, transposeB);
  }

  /** {@code [B·T, h·d_k]} → {@code [h·B, T, d_k]} (C order copy). */
  private INDArray toHeads(INDArray rows) {
    return rows.reshape('c', batch, time, h, dk)
        .permute(2, 0, 1, 3)
        .dup('c')
        .reshape('c', (long) h * batch, time, dk);
  }

  /** {@code [h·B, T, d_k]} → {@code [B·T, h·d_k]} (C order copy). */
  private INDArray fromHeads(INDArray heads) {
    return heads
        .reshape('c', h, batch, time, dk)
        .permute(1, 2, 0, 3)
        .dup('c')
        .reshape('c', (long) batch * time, d);
  }

  /**
   * The rel-shift as a view: for {@code raw [h·B, T, 2T−1]} (C order, contiguous), element
   * {@code [n, i, j]} of the view is {@code raw[n, i, T−1−i+j]}: offset T−1, strides
   * {@code (T·(2T−1), 2T−2, 1)}.
   */
  private INDArray relShiftView(INDArray raw) {
    long rel = 2L * time - 1;
    return Nd4j.create(
        raw.data(),
        new long[] {(long) h * batch, time, time},
        new long[] {time * rel, rel - 1, 1},
        raw.offset() + time - 1,
        'c',
        raw.dataType());
  }

  void clear() {
    x = null;
    pe = null;
    qu = null;
    qv = null;
    k4 = null;
    v4 = null;
    p3 = null;
    prob = null;
    probDropped = null;
    attDropMask = null;
    ctx = null;
  }
}
