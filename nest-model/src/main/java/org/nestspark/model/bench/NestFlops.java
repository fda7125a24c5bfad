package org.nestspark.model.bench;

import java.util.EnumMap;
import java.util.Map;
import org.nestspark.model.nn.PartTimer.Part;
import org.nestspark.model.subsampling.DepthwiseConv2dS2;

/**
 * Analytic floating-point operation counts of the NEST graph per part, for {@code bench train}'s GFLOP/s.
 *
 * <p>Counted: every multiply-add of a matrix product or convolution as 2 FLOPs, nothing else. With
 * {@code B} clips of {@code T} frames, {@code T'} encoder steps, {@code N = B·T'} rows, model width
 * {@code d}, feed-forward width {@code f = 4d}, {@code C} subsampling channels, conv kernel {@code K},
 * {@code V} classes and {@code S} selected (masked) tokens, the forward counts are:
 * <ul>
 *   <li>subsampling (NeMo's dw_striding, 3 stride-2 stages on {@code [T_s, F_s]} grids, {@code F_0 = 80}):
 *       first conv {@code 2·9·C·B·T_1·F_1}; per later stage a depthwise 3×3 {@code 2·9·C·B·T_s·F_s} and a
 *       pointwise {@code 2·C²·B·T_s·F_s}; the output Linear {@code 2·N·(C·F_3)·d};</li>
 *   <li>per Conformer layer, attention: q, k, v, out {@code 4·2·N·d²}, the positional projection
 *       {@code 2·(2T'−1)·d²}, the scores {@code (q+u)·kᵀ} {@code 2·B·T'²·d}, the positional scores
 *       {@code (q+v)·pᵀ} {@code 2·N·(2T'−1)·d}, probabilities × values {@code 2·B·T'²·d};</li>
 *   <li>per layer, the two feed-forward modules: {@code 2 · 2 · 2·N·d·f};</li>
 *   <li>per layer, the convolution module: pointwise 1 {@code 2·N·d·2d}, depthwise {@code 2·N·d·K},
 *       pointwise 2 {@code 2·N·d²};</li>
 *   <li>decoder: {@code 2·S·d·V} in training (logits of the selected tokens only), {@code 2·N·d·V} at
 *       evaluation (every position).</li>
 * </ul>
 * The backward of each product costs twice its forward (the input gradient and the weight gradient),
 * except the first subsampling convolution, whose input gradient is not computed (1×). The optimizer
 * (Adam / AdamW) is counted as 12 FLOPs per parameter (moments 7, the step 5). LayerNorm, BatchNorm,
 * softmax, Swish, GLU, dropout, residual adds and layout copies are not counted: their time is in the
 * parts' wall time but not in their FLOPs, so the GFLOP/s are of useful matrix work.
 */
public final class NestFlops {
  private NestFlops() {}

  /** Geometry of one batch and the model dimensions. */
  public record Shape(
      int batch,
      int frames,
      int featIn,
      int dModel,
      int ffDim,
      int convChannels,
      int convKernel,
      int layers,
      int classes,
      int selected,
      long params) {}

  /** Encoder steps T' after 3 stride-2 stages. */
  public static int encoderSteps(int frames) {
    int t = frames;
    for (int s = 0; s < 3; s++) {
      t = DepthwiseConv2dS2.outSize(t);
    }
    return t;
  }

  /** Forward FLOPs per part; {@code training} selects the decoder's count (selected tokens only). */
  public static Map<Part, Double> forward(Shape s, boolean training) {
    Map<Part, Double> m = new EnumMap<>(Part.class);
    double b = s.batch();
    double c = s.convChannels();
    int t = s.frames();
    int f = s.featIn();
    double sub = 0;
    for (int stage = 1; stage <= 3; stage++) {
      t = DepthwiseConv2dS2.outSize(t);
      f = DepthwiseConv2dS2.outSize(f);
      double pos = b * t * f;
      sub += stage == 1 ? 2.0 * 9 * c * pos : 2.0 * 9 * c * pos + 2.0 * c * c * pos;
    }
    double tp = t; // T'
    double n = b * tp;
    double d = s.dModel();
    sub += 2.0 * n * (c * f) * d;
    m.put(Part.SUBSAMPLING, sub);
    double att =
        8.0 * n * d * d
            + 2.0 * (2 * tp - 1) * d * d
            + 2.0 * b * tp * tp * d
            + 2.0 * n * (2 * tp - 1) * d
            + 2.0 * b * tp * tp * d;
    double ff = 2 * 2 * 2.0 * n * d * s.ffDim();
    double conv = 2.0 * n * d * 2 * d + 2.0 * n * d * s.convKernel() + 2.0 * n * d * d;
    m.put(Part.ATTENTION, att * s.layers());
    m.put(Part.FEED_FORWARD, ff * s.layers());
    m.put(Part.CONVOLUTION, conv * s.layers());
    m.put(Part.LAYER_OTHER, 0.0);
    m.put(Part.DECODER, 2.0 * (training ? s.selected() : n) * d * s.classes());
    m.put(Part.OPTIMIZER, 0.0);
    return m;
  }

  /** FLOPs of one training step (forward, backward, optimizer) per part. */
  public static Map<Part, Double> trainingStep(Shape s) {
    Map<Part, Double> fwd = forward(s, true);
    Map<Part, Double> m = new EnumMap<>(Part.class);
    for (Map.Entry<Part, Double> e : fwd.entrySet()) {
      m.put(e.getKey(), 3 * e.getValue());
    }
    // the first convolution has no input gradient: forward + weight gradient only
    int t1 = DepthwiseConv2dS2.outSize(s.frames());
    int f1 = DepthwiseConv2dS2.outSize(s.featIn());
    m.put(
        Part.SUBSAMPLING,
        m.get(Part.SUBSAMPLING) - 2.0 * 9 * s.convChannels() * (double) s.batch() * t1 * f1);
    m.put(Part.OPTIMIZER, 12.0 * s.params());
    return m;
  }

  /** The sum over parts. */
  public static double total(Map<Part, Double> m) {
    return m.values().stream().mapToDouble(Double::doubleValue).sum();
  }
}
