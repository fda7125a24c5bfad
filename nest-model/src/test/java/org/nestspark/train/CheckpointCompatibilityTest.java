package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.config.NestConfig;
import org.nestspark.restore.Restore;
import org.nestspark.ssl.FrozenModules;

/**
 * A checkpoint written by nest-spark 0.1.0 (schema 2; see {@code compat/README.md} in the test resources for
 * how it was made) loads, continues and computes the same numbers in every later version. DL4J stores the
 * layers' class names in {@code model.zip}, so moving or renaming a layer class, changing a layer's JSON
 * fields or its parameter layout fails here, not in a user's resumed run. If a change alters the numbers on
 * purpose, say so in the change and pin the new ones; never regenerate the file.
 */
class CheckpointCompatibilityTest {
  private static final Configuration CONF = new Configuration(false);

  static Checkpoint load() throws Exception {
    Path p =
        new Path(
            CheckpointCompatibilityTest.class
                .getResource("/compat/v0.1.0-schema2-step-000004.ckpt")
                .toURI());
    return CheckpointIO.load(p, CONF);
  }

  /** A deterministic batch of 2 utterances (80 mel bins, 96 frames, the second one padded). */
  static MultiDataSet batch() {
    int frames = 96;
    INDArray x =
        Nd4j.linspace(DataType.FLOAT, -3.0, 3.0, 2L * 80 * frames).reshape('c', 2, 80, frames);
    x = org.nd4j.linalg.ops.transforms.Transforms.sin(x.mul(7.0), false);
    INDArray fMask = Nd4j.ones(DataType.FLOAT, 2, frames);
    fMask
        .get(
            org.nd4j.linalg.indexing.NDArrayIndex.point(1),
            org.nd4j.linalg.indexing.NDArrayIndex.interval(70, frames))
        .assign(0);
    int tEnc = frames / 8;
    INDArray labels = Nd4j.create(DataType.FLOAT, 2, 1, tEnc);
    INDArray lMask = Nd4j.zeros(DataType.FLOAT, 2, tEnc);
    for (int b = 0; b < 2; b++) {
      for (int t = 0; t < tEnc; t++) {
        labels.putScalar(b, 0, t, (7 * t + 3 * b) % 32);
        if ((t + b) % 3 == 0 && (b == 0 || t < 9)) {
          lMask.putScalar(b, t, 1);
        }
      }
    }
    return new MultiDataSet(
        new INDArray[] {x},
        new INDArray[] {labels},
        new INDArray[] {fMask},
        new INDArray[] {lMask});
  }

  @Test
  void version010CheckpointLoadsAndComputesTheSameNumbers() throws Exception {
    Checkpoint c = load();
    assertEquals(4, c.step());
    assertEquals(0, c.epoch());
    assertEquals(42, c.seed());
    assertEquals("{\"epoch\":0,\"batch\":7}", c.dataPosition());
    assertEquals(7, c.counters().stepsDone());
    assertEquals("0.1.0-SNAPSHOT", c.provenance().nestSparkVersion());
    ComputationGraph g = c.model();
    assertEquals(9057, g.numParams());
    assertEquals(PARAM_SUM, g.params().sumNumber().doubleValue(), 1e-4);
    assertEquals(
        ADAM_STATE_SUM, g.getUpdater().getStateViewArray().sumNumber().doubleValue(), 1e-6);
    assertNotNull(c.frozen());
    NestConfig cfg = NestConfig.load(List.of(), Restore.modelOverrides(c.config()), CONF);
    FrozenModules f =
        c.frozenModules(
            cfg,
            w -> {
              throw new AssertionError(w);
            });
    assertArrayEquals(new int[] {1, 32, 16}, f.tensors().get(FrozenModules.CODEBOOKS).shape());
    assertEquals("drawn from data.seed=42", f.origin());

    MultiDataSet b = batch();
    INDArray out = g.output(false, b.getFeatures(), b.getFeaturesMaskArrays())[0];
    assertArrayEquals(new long[] {2, 32, 12}, out.shape());
    assertEquals(OUTPUT_SUM, out.sumNumber().doubleValue(), 1e-3);
    assertEquals(OUTPUT_0_0_0, out.getDouble(0, 0, 0), 1e-5);
    // continues: one more step with the stored optimizer state and step counter
    TrainStep step = new TrainStep(g, c.seed(), 0.0, 1);
    TrainStep.StepResult r = step.fit(b);
    assertEquals(5, r.step());
    assertEquals(STEP_LOSS, r.score(), 1e-5);
    assertEquals(PARAM_SUM_AFTER, g.params().sumNumber().doubleValue(), 1e-4);
  }

  // computed by this version (0.1.0) when the fixture was written
  static final double PARAM_SUM = 124.52545929;
  static final double ADAM_STATE_SUM = 0.2873212993;
  static final double OUTPUT_SUM = -2868.84130859;
  static final double OUTPUT_0_0_0 = -4.43733931;
  static final double STEP_LOSS = 3.60831509;
  static final double PARAM_SUM_AFTER = 124.24877930;
}
