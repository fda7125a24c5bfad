package org.nestspark.model.subsampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.GoldenModel;
import org.nestspark.model.nn.HeapArrays;

/**
 * {@link DepthwiseConv2dS2} against ND4J's native {@code depthwise_conv2d} / {@code depthwise_conv2d_bp}
 * (NHWC, stride 2, padding 1, weights {@code [1, C, 3, 3]}, i.e. NeMo's (C, 1, 3, 3) memory), on shapes
 * large enough for the multi-threaded paths, odd and even sizes.
 */
class DepthwiseConv2dS2Test {

  @Test
  void outSizeIsCeilHalf() {
    assertEquals(0, DepthwiseConv2dS2.outSize(0));
    assertEquals(1, DepthwiseConv2dS2.outSize(1));
    assertEquals(1, DepthwiseConv2dS2.outSize(2));
    assertEquals(2, DepthwiseConv2dS2.outSize(3));
    assertEquals(552, DepthwiseConv2dS2.outSize(1104));
    assertEquals(
        138, DepthwiseConv2dS2.outSize(DepthwiseConv2dS2.outSize(DepthwiseConv2dS2.outSize(1100))));
  }

  @Test
  void floatMatchesNativeOps() {
    check(DataType.FLOAT, 3, 37, 20, 24, 2e-5);
  }

  @Test
  void doubleMatchesNativeOps() {
    check(DataType.DOUBLE, 2, 16, 9, 5, 1e-12);
  }

  private static void check(DataType dt, int batch, int h, int w, int c, double tol) {
    Nd4j.getRandom().setSeed(3);
    INDArray x = Nd4j.rand(dt, batch, h, w, c).subi(0.5);
    INDArray wt = Nd4j.rand(dt, c, 1, 3, 3).subi(0.5);
    INDArray b = Nd4j.rand(dt, c).subi(0.5);
    int ho = DepthwiseConv2dS2.outSize(h);
    int wo = DepthwiseConv2dS2.outSize(w);
    INDArray dy = Nd4j.rand(dt, batch, ho, wo, c).subi(0.5);
    int[] args = {3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 1};
    INDArray yRef = Nd4j.create(dt, batch, ho, wo, c);
    Nd4j.exec(
        DynamicCustomOp.builder("depthwise_conv2d")
            .addInputs(x, wt.reshape(1, c, 3, 3), b)
            .addOutputs(yRef)
            .addIntegerArguments(args)
            .build());
    INDArray dxRef = x.ulike();
    INDArray dwRef = wt.reshape(1, c, 3, 3).ulike();
    INDArray dbRef = b.ulike();
    Nd4j.exec(
        DynamicCustomOp.builder("depthwise_conv2d_bp")
            .addInputs(x, wt.reshape(1, c, 3, 3), b, dy)
            .addOutputs(dxRef, dwRef, dbRef)
            .addIntegerArguments(args)
            .build());

    INDArray y = yRef.ulike();
    INDArray dx = x.ulike();
    INDArray dw = wt.ulike();
    INDArray db = b.ulike();
    if (dt == DataType.FLOAT) {
      float[] yy = new float[(int) y.length()];
      DepthwiseConv2dS2.forward(
          HeapArrays.floats(x, null),
          batch,
          h,
          w,
          c,
          HeapArrays.floats(wt, null),
          HeapArrays.floats(b, null),
          null,
          yy);
      HeapArrays.put(yy, y);
      float[] dxx = new float[(int) dx.length()];
      DepthwiseConv2dS2.backwardInput(
          HeapArrays.floats(dy, null), batch, h, w, c, HeapArrays.floats(wt, null), null, dxx);
      HeapArrays.put(dxx, dx);
      float[] dww = new float[c * 9];
      float[] dbb = new float[c];
      DepthwiseConv2dS2.backwardWeights(
          HeapArrays.floats(x, null), HeapArrays.floats(dy, null), batch, h, w, c, dww, dbb);
      HeapArrays.put(dww, dw);
      HeapArrays.put(dbb, db);
    } else {
      double[] yy = new double[(int) y.length()];
      DepthwiseConv2dS2.forward(
          HeapArrays.doubles(x, null),
          batch,
          h,
          w,
          c,
          HeapArrays.doubles(wt, null),
          HeapArrays.doubles(b, null),
          null,
          yy);
      HeapArrays.put(yy, y);
      double[] dxx = new double[(int) dx.length()];
      DepthwiseConv2dS2.backwardInput(
          HeapArrays.doubles(dy, null), batch, h, w, c, HeapArrays.doubles(wt, null), null, dxx);
      HeapArrays.put(dxx, dx);
      double[] dww = new double[c * 9];
      double[] dbb = new double[c];
      DepthwiseConv2dS2.backwardWeights(
          HeapArrays.doubles(x, null), HeapArrays.doubles(dy, null), batch, h, w, c, dww, dbb);
      HeapArrays.put(dww, dw);
      HeapArrays.put(dbb, db);
    }
    assertTrue(GoldenModel.maxAbsDiff(y, yRef) <= tol, "forward");
    assertTrue(GoldenModel.maxAbsDiff(dx, dxRef) <= tol, "input gradient");
    assertTrue(
        GoldenModel.maxAbsDiff(dw, dwRef.reshape(c, 1, 3, 3)) <= tol * 10, "weight gradient");
    assertTrue(GoldenModel.maxAbsDiff(db, dbRef) <= tol * 10, "bias gradient");
  }
}
