package org.nestspark.model.conformer;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;

/** Small ComputationGraphs around ConformerLayers, as the NEST graph wires them (NCW, [B, T'] mask). */
final class TestGraphs {
  private TestGraphs() {}

  static ConformerLayer.Builder layer(int d, int heads, int kernel, String norm, double dropout) {
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
  static ComputationGraph stack(
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
