package org.nestspark.model.conformer;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/**
 * Benchmark (a main, not a test) of one ConformerLayer in training mode: NEST Small's layer (d_model
 * 176, 4 heads, kernel 9, batch_norm, dropout 0.1 everywhere as NeMo trains it), B = 8, T' = 125 (10 s
 * of audio after 8× subsampling), float32, lengths 125…~90. Measures {@code features → layer →
 * RnnOutputLayer(16, MSE)} through DL4J's ComputationGraph (training workspaces as in fit):
 * {@code feedForward(train)} and {@code computeGradientAndScore()} (forward + backward); the output
 * layer's share is measured separately and reported.
 *
 * <p>Threads: run once per setting, e.g. {@code OMP_NUM_THREADS=1} and {@code OMP_NUM_THREADS=2}
 * (ND4J and OpenBLAS read it at start-up). Args: {@code [d_model heads batch time iterations
 * [blasThreads]]}.
 */
public final class ConformerLayerBenchmark {
  private ConformerLayerBenchmark() {}

  public static void main(String[] args) {
    int d = args.length > 0 ? Integer.parseInt(args[0]) : 176;
    int heads = args.length > 1 ? Integer.parseInt(args[1]) : 4;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
    int time = args.length > 3 ? Integer.parseInt(args[3]) : 125;
    int iters = args.length > 4 ? Integer.parseInt(args[4]) : 30;
    if (args.length > 5) {
      Nd4j.factory().blas().setMaxThreads(Integer.parseInt(args[5]));
    }
    Nd4j.setDefaultDataTypes(DataType.FLOAT, DataType.FLOAT);

    ComputationGraph withLayer = graph(d, heads, true);
    ComputationGraph outputOnly = graph(d, heads, false);
    Nd4j.getRandom().setSeed(1);
    INDArray x = Nd4j.randn(DataType.FLOAT, batch, d, time);
    long[] lengths = new long[batch];
    for (int b = 0; b < batch; b++) {
      lengths[b] = time - (long) b * time / (3L * batch);
    }
    INDArray mask = TinyGolden.mask(lengths, time, DataType.FLOAT);
    INDArray labels = Nd4j.randn(DataType.FLOAT, batch, 16, time);

    double[] fwd =
        time(
            iters,
            () -> withLayer.feedForward(new INDArray[] {x}, true, true),
            withLayer,
            x,
            mask,
            labels,
            false);
    double[] step =
        time(iters, withLayer::computeGradientAndScore, withLayer, x, mask, labels, true);
    double[] outFwd =
        time(
            iters,
            () -> outputOnly.feedForward(new INDArray[] {x}, true, true),
            outputOnly,
            x,
            mask,
            labels,
            false);
    double[] outStep =
        time(iters, outputOnly::computeGradientAndScore, outputOnly, x, mask, labels, true);

    System.out.printf(
        "ConformerLayer d=%d h=%d B=%d T'=%d training, OMP_NUM_THREADS=%s, ND4J threads=%d, BLAS"
            + " threads=%d%n",
        d,
        heads,
        batch,
        time,
        System.getenv("OMP_NUM_THREADS"),
        Nd4j.getEnvironment().maxThreads(),
        Nd4j.factory().blas().getMaxThreads());
    report("forward (graph)", fwd);
    report("forward+backward (graph)", step);
    report("  of which output layer fwd", outFwd);
    report("  of which output layer fwd+bwd", outStep);
    System.out.printf(
        "layer alone (median): forward %.1f ms, forward+backward %.1f ms%n",
        fwd[1] - outFwd[1], step[1] - outStep[1]);
  }

  private static ComputationGraph graph(int d, int heads, boolean withLayer) {
    ComputationGraphConfiguration.GraphBuilder gb =
        new NeuralNetConfiguration.Builder()
            .seed(42)
            .dataType(DataType.FLOAT)
            .updater(new NoOp())
            .graphBuilder()
            .addInputs("features")
            .setInputTypes(InputType.recurrent(d));
    String prev = "features";
    if (withLayer) {
      gb.addLayer(
          "layer0",
          new ConformerLayer.Builder()
              .dModel(d)
              .nHeads(heads)
              .convKernelSize(9)
              .convNormType(ConformerLayer.BATCH_NORM)
              .dropout(0.1)
              .dropoutAtt(0.1)
              .build(),
          prev);
      prev = "layer0";
    }
    gb.addLayer(
        "out",
        new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE)
            .activation(Activation.IDENTITY)
            .nIn(d)
            .nOut(16)
            .build(),
        prev);
    ComputationGraph g = new ComputationGraph(gb.setOutputs("out").build());
    g.init();
    return g;
  }

  /** Returns {min, median, mean} ms over {@code iters} timed calls after {@code iters/3} warm-up calls. */
  private static double[] time(
      int iters,
      Runnable call,
      ComputationGraph g,
      INDArray x,
      INDArray mask,
      INDArray labels,
      boolean withLabels) {
    double[] ms = new double[iters];
    for (int i = -Math.max(3, iters / 3); i < iters; i++) {
      g.setInputs(x);
      g.setLayerMaskArrays(new INDArray[] {mask}, new INDArray[] {mask});
      if (withLabels) {
        g.setLabels(labels);
      }
      long t0 = System.nanoTime();
      call.run();
      long t1 = System.nanoTime();
      if (i >= 0) {
        ms[i] = (t1 - t0) / 1e6;
      }
    }
    double[] sorted = ms.clone();
    Arrays.sort(sorted);
    return new double[] {sorted[0], sorted[iters / 2], Arrays.stream(ms).average().orElse(0)};
  }

  private static void report(String what, double[] s) {
    System.out.printf(
        "%-34s min %7.1f ms  median %7.1f ms  mean %7.1f ms%n", what, s[0], s[1], s[2]);
  }
}
