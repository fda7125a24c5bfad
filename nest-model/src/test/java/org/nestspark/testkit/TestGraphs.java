package org.nestspark.testkit;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.train.TrainableParams;

/**
 * The tiny graphs of the tests (nest-spark's test kit, in nest-model's test-jar). A standard DL4J head and
 * masked recurrent batches for the training tests: input {@code [mb, nIn, T]} with a features mask →
 * Dense(tanh) → BatchNormalization → Dropout (optional) → RnnOutputLayer (softmax, MCXENT) with a labels
 * mask, i.e. the shape of the NEST graph's head ({@link #graph}, {@link #batch}); and stacks of
 * ConformerLayers as the NEST graph wires them, NCW with a {@code [B, T']} mask ({@link #conformerStack}).
 */
public final class TestGraphs {
  public static final int N_IN = 6;
  public static final int HIDDEN = 8;
  public static final int CLASSES = 5;
  public static final int T = 7;
  public static final int MB = 3;

  private TestGraphs() {}

  /** A fresh graph with seeded initialisation. */
  public static ComputationGraph graph(
      IUpdater updater, DataType dt, double dropoutRetain, long seed) {
    ComputationGraphConfiguration.GraphBuilder b =
        new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(dt)
            .updater(updater)
            .weightInit(WeightInit.XAVIER)
            .graphBuilder()
            .addInputs("in")
            .setInputTypes(InputType.recurrent(N_IN));
    b.addLayer(
        "dense", new DenseLayer.Builder().nOut(HIDDEN).activation(Activation.TANH).build(), "in");
    b.addLayer("bn", new BatchNormalization.Builder().nOut(HIDDEN).build(), "dense");
    String last = "bn";
    if (dropoutRetain < 1.0) {
      b.addLayer("drop", new DropoutLayer.Builder(dropoutRetain).build(), "bn");
      last = "drop";
    }
    b.addLayer(
        "out",
        new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
            .activation(Activation.SOFTMAX)
            .nOut(CLASSES)
            .build(),
        last);
    b.setOutputs("out");
    ComputationGraph g = new ComputationGraph(b.build());
    g.init();
    return g;
  }

  /**
   * Batch number {@code index} of a deterministic stream: random features, prefix feature masks (lengths
   * T, T−2, 4), random one-hot labels, a labels mask selecting about half of the valid steps (at least
   * one), or nothing when {@code emptyLabelsMask}.
   */
  public static MultiDataSet batch(long index, DataType dt, boolean emptyLabelsMask) {
    Random r = new Random(1000 + index);
    INDArray f = Nd4j.zeros(dt, MB, N_IN, T);
    INDArray l = Nd4j.zeros(dt, MB, CLASSES, T);
    INDArray fm = Nd4j.zeros(dt, MB, T);
    INDArray lm = Nd4j.zeros(dt, MB, T);
    int[] lengths = {T, T - 2, 4};
    for (int b = 0; b < MB; b++) {
      for (int t = 0; t < T; t++) {
        for (int i = 0; i < N_IN; i++) {
          f.putScalar(new long[] {b, i, t}, r.nextGaussian());
        }
        l.putScalar(new long[] {b, r.nextInt(CLASSES), t}, 1.0);
        if (t < lengths[b]) {
          fm.putScalar(new long[] {b, t}, 1.0);
          if (!emptyLabelsMask && (r.nextBoolean() || t == 0)) {
            lm.putScalar(new long[] {b, t}, 1.0);
          }
        }
      }
    }
    return new org.nd4j.linalg.dataset.MultiDataSet(
        new INDArray[] {f}, new INDArray[] {l}, new INDArray[] {fm}, new INDArray[] {lm});
  }

  /** The raw (summed, not minibatch-divided) gradients of {@code graph} for {@code batch}, on a clone. */
  public static Map<String, INDArray> rawGradients(ComputationGraph graph, MultiDataSet batch) {
    ComputationGraph c = graph.clone();
    c.setListeners(new java.util.ArrayList<>());
    c.setInputs(batch.getFeatures());
    c.setLabels(batch.getLabels());
    c.setLayerMaskArrays(batch.getFeaturesMaskArrays(), batch.getLabelsMaskArrays());
    c.computeGradientAndScore();
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, INDArray> e : c.gradient().gradientForVariable().entrySet()) {
      out.put(e.getKey(), e.getValue().dup());
    }
    return out;
  }

  /** Every parameter of the graph as a double[] copy, keyed {@code layer_param}. */
  public static Map<String, double[]> params(ComputationGraph graph) {
    Map<String, double[]> out = new LinkedHashMap<>();
    for (TrainableParams.Param p : TrainableParams.of(graph)) {
      out.put(
          p.key(),
          p.value().dup().castTo(DataType.DOUBLE).reshape(p.value().length()).toDoubleVector());
    }
    return out;
  }

  public static double[] flat(INDArray a) {
    return a.dup().castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
  }

  /** A ConformerLayer builder as the NEST graph configures one (no embedding dropout). */
  public static ConformerLayer.Builder conformerLayer(
      int d, int heads, int kernel, String norm, double dropout) {
    return new ConformerLayer.Builder()
        .dModel(d)
        .nHeads(heads)
        .convKernelSize(kernel)
        .convNormType(norm)
        .dropout(dropout)
        .dropoutAtt(dropout)
        .dropoutEmb(0.0);
  }

  /**
   * {@code features [B, d, T]} → layer0 … layer{n−1}, then (when {@code nOut > 0}) an {@code out}
   * RnnOutputLayer (identity, MSE) with nOut classes; otherwise the last layer is the output.
   */
  public static ComputationGraph conformerStack(
      DataType dt,
      ConformerLayer.Builder layer,
      int nLayers,
      int nOut,
      IUpdater updater,
      long seed) {
    int d = layer.build().getDModel();
    ComputationGraphConfiguration.GraphBuilder gb =
        new NeuralNetConfiguration.Builder()
            .seed(seed)
            .dataType(dt)
            .updater(updater == null ? new NoOp() : updater)
            .graphBuilder()
            .addInputs("features")
            .setInputTypes(InputType.recurrent(d));
    String prev = "features";
    for (int i = 0; i < nLayers; i++) {
      gb.addLayer("layer" + i, layer.build(), prev);
      prev = "layer" + i;
    }
    if (nOut > 0) {
      gb.addLayer(
          "out",
          new RnnOutputLayer.Builder(LossFunctions.LossFunction.MSE)
              .activation(Activation.IDENTITY)
              .nIn(d)
              .nOut(nOut)
              .build(),
          prev);
      prev = "out";
    }
    ComputationGraph g = new ComputationGraph(gb.setOutputs(prev).build());
    g.init();
    return g;
  }
}
