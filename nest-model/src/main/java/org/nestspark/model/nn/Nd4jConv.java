package org.nestspark.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;

/**
 * libnd4j's 2-D convolution ops on channels-last ({@code NHWC}) arrays with PyTorch's weight layout, for
 * the {@code model.kernels = nd4j} path ({@link Kernels#ND4J}): {@code conv2d}, {@code depthwise_conv2d}
 * and their {@code _bp} ops, which the CUDA backend runs on the device (with cuDNN where libnd4j has it).
 *
 * <p>Integer arguments of these ops, in libnd4j's order: kernel (kH, kW), stride (sH, sW), padding (pH,
 * pW, the same on both sides), dilation (1, 1), padding mode 0 (explicit), data format 1 (NHWC) and
 * weight format 1 ({@code [oC, iC, kH, kW]}, PyTorch's; for the depthwise ops {@code [mC, iC, kH, kW]}
 * with depth multiplier mC = 1, i.e. PyTorch's {@code (C, 1, kH, kW)} read as {@code (1, C, kH, kW)}).
 * Output size per axis: {@code (n + 2p − k) / s + 1}, rounded down.
 */
public final class Nd4jConv {
  private Nd4jConv() {}

  /** Runs op {@code name}; the kernel size is read from the weights {@code w} ([., ., kH, kW]). */
  private static void exec(
      String name, INDArray[] inputs, INDArray[] outputs, INDArray w, int s, int pH, int pW) {
    Nd4j.exec(
        DynamicCustomOp.builder(name)
            .addInputs(inputs)
            .addOutputs(outputs)
            .addIntegerArguments((int) w.size(2), (int) w.size(3), s, s, pH, pW, 1, 1, 0, 1, 1)
            .build());
  }

  /** Output length of one axis. */
  public static int outSize(int n, int k, int s, int p) {
    return Math.floorDiv(n + 2 * p - k, s) + 1;
  }

  /**
   * Convolution: {@code x [B, H, W, iC]}, {@code w [oC, iC, kH, kW]}, {@code bias [oC]} into {@code out
   * [B, Ho, Wo, oC]}.
   */
  public static void conv2d(
      INDArray x, INDArray w, INDArray bias, INDArray out, int stride, int pH, int pW) {
    exec("conv2d", new INDArray[] {x, w, bias}, new INDArray[] {out}, w, stride, pH, pW);
  }

  /** Gradients of {@link #conv2d}: {@code dx} like x, {@code dw} like w, {@code db} like bias. */
  public static void conv2dBp(
      INDArray x,
      INDArray w,
      INDArray bias,
      INDArray dOut,
      INDArray dx,
      INDArray dw,
      INDArray db,
      int stride,
      int pH,
      int pW) {
    exec(
        "conv2d_bp",
        new INDArray[] {x, w, bias, dOut},
        new INDArray[] {dx, dw, db},
        w,
        stride,
        pH,
        pW);
  }

  /**
   * Depthwise convolution (groups = channels): {@code x [B, H, W, C]}, {@code w [1, C, kH, kW]},
   * {@code bias [C]} into {@code out [B, Ho, Wo, C]}.
   */
  public static void depthwise(
      INDArray x, INDArray w, INDArray bias, INDArray out, int stride, int pH, int pW) {
    exec("depthwise_conv2d", new INDArray[] {x, w, bias}, new INDArray[] {out}, w, stride, pH, pW);
  }

  /** Gradients of {@link #depthwise}: {@code dx} like x, {@code dw} like w, {@code db} like bias. */
  public static void depthwiseBp(
      INDArray x,
      INDArray w,
      INDArray bias,
      INDArray dOut,
      INDArray dx,
      INDArray dw,
      INDArray db,
      int stride,
      int pH,
      int pW) {
    exec(
        "depthwise_conv2d_bp",
        new INDArray[] {x, w, bias, dOut},
        new INDArray[] {dx, dw, db},
        w,
        stride,
        pH,
        pW);
  }
}
