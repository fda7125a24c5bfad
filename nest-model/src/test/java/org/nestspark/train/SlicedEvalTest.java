package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nestspark.config.NestConfig;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;

/**
 * Eval-mode work on batch slices ({@link SlicedEval}) gives what the whole batch gives: in double precision,
 * after a few training steps (so the BatchNorm running statistics are not the initial ones), with padded
 * items and a partial selection, the validation loss, selected count, accuracy and every layer's output equal
 * the unsliced ones, for equal, unequal and more slices than items.
 */
class SlicedEvalTest {

  @ParameterizedTest
  @CsvSource({"4, 2", "5, 3", "3, 4"})
  void slicedEvalEqualsWholeBatch(int batchSize, int slices) {
    NestConfig c = SlicedStepTest.config();
    ComputationGraph g = SlicedStepTest.graph(c);
    TrainStep train = new TrainStep(g, 7, 0.05, 1);
    for (int i = 0; i < 3; i++) {
      train.fit(SlicedStepTest.batch(batchSize, 64, 20 + i));
    }
    MultiDataSet batch = SlicedStepTest.batch(batchSize, 64, 99);

    double wholeLoss = g.score(batch, false);
    MultiSoftmaxDecoderImpl d = NestGraph.decoder(g);
    long wholeSelected = d.getLastNumSelected();
    double wholeAccuracy = d.getLastAccuracy();
    String[] names = {NestGraph.layerName(0), NestGraph.layerName(1), NestGraph.DECODER};
    INDArray[] wholeOut =
        g.output(
            java.util.List.of(names), false, batch.getFeatures(), batch.getFeaturesMaskArrays());

    SlicedEval eval = new SlicedEval(g, slices);
    SlicedEval.Score s = eval.score(batch);
    assertTrue(wholeSelected > 0);
    assertEquals(wholeLoss, s.loss(), 1e-12 * Math.abs(wholeLoss));
    assertEquals(wholeSelected, s.selected());
    assertEquals(wholeAccuracy, s.accuracy(), 1e-12);
    INDArray[] out = eval.output(names, batch.getFeatures(), batch.getFeaturesMaskArrays());
    assertEquals(names.length, out.length);
    for (int k = 0; k < names.length; k++) {
      assertArrayEquals(wholeOut[k].shape(), out[k].shape(), names[k]);
      assertEquals(0.0, wholeOut[k].sub(out[k]).amaxNumber().doubleValue(), 1e-10, names[k]);
    }
    // the same instance follows the graph as it trains on
    train.fit(SlicedStepTest.batch(batchSize, 64, 30));
    double after = g.score(batch, false);
    assertTrue(Math.abs(after - wholeLoss) > 1e-9, "the step changed the loss");
    assertEquals(after, eval.score(batch).loss(), 1e-12 * Math.abs(after));
  }
}
