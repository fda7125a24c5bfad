package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.NoOp;

/** DL4J's own training loop on the NEST graph: fit steps, dropout only in training and reproducible by reseeding. */
class NestGraphTrainingTest {

  static MultiDataSet batch(int classes, long seed) {
    Nd4j.getRandom().setSeed(seed);
    int b = 3;
    int t = 64;
    INDArray x = Nd4j.randn(DataType.FLOAT, b, 80, t);
    INDArray fMask = GoldenModel.prefixMask(new int[] {64, 50, 23}, t, DataType.FLOAT);
    INDArray labels = GradientChecks.randomTokens(b, 1, 8, classes, seed).castTo(DataType.FLOAT);
    INDArray lMask = Nd4j.zeros(DataType.FLOAT, b, 8);
    for (int[] s : new int[][] {{0, 1}, {0, 2}, {0, 6}, {1, 3}, {1, 4}, {2, 0}, {2, 2}}) {
      lMask.putScalar(s[0], s[1], 1);
    }
    return new MultiDataSet(
        new INDArray[] {x},
        new INDArray[] {labels},
        new INDArray[] {fMask},
        new INDArray[] {lMask});
  }

  @Test
  void fitStepsLowerTheLoss() {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(32)
            .nHeads(4)
            .nLayers(1)
            .subsamplingConvChannels(8)
            .numClasses(16)
            .allDropouts(0)
            .updater(new Adam(3e-3))
            .build();
    MultiDataSet ds = batch(16, 1);
    double first = g.score(ds, false);
    for (int i = 0; i < 15; i++) {
      g.fit(ds);
    }
    double last = g.score(ds, false);
    System.out.printf("fit: eval loss %.4f -> %.4f after 15 Adam steps%n", first, last);
    assertTrue(last < first - 0.5, first + " -> " + last);
    assertEquals(7, NestGraph.decoder(g).getLastNumSelected());
  }

  @Test
  void dropoutActsOnlyInTrainingAndFollowsNd4jsRng() {
    ComputationGraph g =
        NestGraph.builder()
            .dModel(32)
            .nHeads(4)
            .nLayers(1)
            .subsamplingConvChannels(8)
            .numClasses(16)
            .dropoutPreEncoder(0.3)
            .dropout(0.1)
            .dropoutAtt(0.1)
            .updater(new NoOp())
            .build();
    MultiDataSet ds = batch(16, 2);
    assertEquals(g.score(ds, false), g.score(ds, false), 0.0);
    Nd4j.getRandom().setSeed(77);
    double a = g.score(ds, true);
    Nd4j.getRandom().setSeed(77);
    double b = g.score(ds, true);
    double c = g.score(ds, true);
    assertEquals(a, b, 0.0);
    assertNotEquals(a, c);
    assertNotEquals(g.score(ds, false), a);
  }
}
