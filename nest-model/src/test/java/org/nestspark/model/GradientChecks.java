package org.nestspark.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Runs DL4J's {@link GradientCheckUtil} in double precision (the default data type is restored after). */
public final class GradientChecks {
  private GradientChecks() {}

  public static boolean check(
      ComputationGraph g,
      INDArray[] inputs,
      INDArray[] labels,
      INDArray[] inputMasks,
      INDArray[] labelMasks) {
    return check(g, inputs, labels, inputMasks, labelMasks, java.util.Set.of(), 1e-10);
  }

  /**
   * As {@link #check(ComputationGraph, INDArray[], INDArray[], INDArray[], INDArray[])}, skipping some
   * parameters (buffers), with a given absolute error below which a relative error is not counted.
   */
  public static boolean check(
      ComputationGraph g,
      INDArray[] inputs,
      INDArray[] labels,
      INDArray[] inputMasks,
      INDArray[] labelMasks,
      java.util.Set<String> exclude,
      double minAbsoluteError) {
    DataType df = Nd4j.dataType();
    DataType fp = Nd4j.defaultFloatingPointType();
    Nd4j.setDefaultDataTypes(DataType.DOUBLE, DataType.DOUBLE);
    // thousands of tiny forward passes: one thread avoids OpenMP spin/hand-off costs on a busy
    // machine
    int threads = Nd4j.getEnvironment().maxThreads();
    int master = Nd4j.getEnvironment().maxMasterThreads();
    int blas = Nd4j.factory().blas().getMaxThreads();
    Nd4j.getEnvironment().setMaxThreads(1);
    Nd4j.getEnvironment().setMaxMasterThreads(1);
    Nd4j.factory().blas().setMaxThreads(1);
    try {
      return GradientCheckUtil.checkGradients(
          new GradientCheckUtil.GraphConfig()
              .net(g)
              .inputs(inputs)
              .labels(labels)
              .inputMask(inputMasks)
              .labelMask(labelMasks)
              .epsilon(1e-6)
              .maxRelError(1e-5)
              .minAbsoluteError(minAbsoluteError)
              .print(GradientCheckUtil.PrintMode.FAILURES_ONLY)
              .exitOnFirstError(false)
              .excludeParams(exclude));
    } finally {
      Nd4j.getEnvironment().setMaxThreads(threads);
      Nd4j.getEnvironment().setMaxMasterThreads(master);
      Nd4j.factory().blas().setMaxThreads(blas);
      Nd4j.setDefaultDataTypes(df, fp);
    }
  }

  /** Random token labels [B, books, T] in [0, classes). */
  public static INDArray randomTokens(int batch, int books, int time, int classes, long seed) {
    java.util.Random r = new java.util.Random(seed);
    INDArray l = Nd4j.create(DataType.DOUBLE, batch, books, time);
    for (int i = 0; i < l.length(); i++) {
      l.putScalar(i, r.nextInt(classes));
    }
    return l;
  }
}
