package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.config.NestConfig;
import org.nestspark.config.NestConfigException;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.nn.ComputeThreads;

/**
 * A batch cut into slices on replicas ({@code trainer.batch_slices}) trains exactly as the whole batch: in
 * double precision, with the conformer BatchNorm in training mode (batch statistics shared across slices),
 * padded items of different lengths, a partial token selection, gradient clipping that bites and AdamW's
 * weight decay, three steps give the same scores, metrics, parameters (BatchNorm running statistics
 * included) and optimizer state as the unsliced step, for equal and unequal slices.
 */
class SlicedStepTest {
  private static final int CLASSES = 32;

  static NestConfig config(String... more) {
    List<String> o =
        new java.util.ArrayList<>(
            List.of(
                "model.encoder.d_model=16",
                "model.encoder.n_heads=2",
                "model.encoder.n_layers=2",
                "model.encoder.subsampling_conv_channels=4",
                "model.encoder.dropout=0",
                "model.encoder.dropout_pre_encoder=0",
                "model.encoder.dropout_att=0",
                "model.encoder.dropout_emb=0",
                "model.num_classes=" + CLASSES,
                "model.decoder.num_classes=" + CLASSES,
                "model.decoder.feat_in=16",
                "model.optim.gradient_clip_val=0.05"));
    o.addAll(List.of(more));
    return NestConfig.load(List.of(), o, new Configuration(false));
  }

  static ComputationGraph graph(NestConfig c) {
    return NestGraph.builder(c.settings())
        .dataType(DataType.DOUBLE)
        .updater(AdamW.of(c.settings().optim()))
        .build();
  }

  static MultiDataSet batch(int b, int frames, long seed) {
    Random r = new Random(seed);
    Nd4j.getRandom().setSeed(seed);
    INDArray x = Nd4j.randn(DataType.DOUBLE, b, 80, frames);
    int tEnc = (frames + 7) / 8;
    INDArray fMask = Nd4j.zeros(DataType.DOUBLE, b, frames);
    INDArray labels = Nd4j.zeros(DataType.DOUBLE, b, 1, tEnc);
    INDArray lMask = Nd4j.zeros(DataType.DOUBLE, b, tEnc);
    for (int i = 0; i < b; i++) {
      int len =
          i == 0 ? frames : frames - 7 * i - r.nextInt(5); // padded items of different lengths
      for (int t = 0; t < len; t++) {
        fMask.putScalar(i, t, 1);
      }
      for (int t = 0; t < tEnc; t++) {
        labels.putScalar(i, 0, t, r.nextInt(CLASSES));
        if (t < (len + 7) / 8 && r.nextDouble() < 0.4) {
          lMask.putScalar(i, t, 1);
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
  void aNonFiniteSliceStopsTheWholeStepBeforeAnythingChanges() {
    // the NaN is in the last slice's rows: slice 0's own score is finite, the merged gradient is
    // not
    NestConfig c = config();
    ComputationGraph g = graph(c);
    ComputationGraph reference = graph(c);
    TrainStep t = new TrainStep(g, 42, 0.05, 2);
    TrainStep tr = new TrainStep(reference, 42, 0.05, 2);
    MultiDataSet first = batch(4, 96, 400);
    assertTrue(t.fit(first).done());
    assertTrue(tr.fit(first).done());
    INDArray p = g.params().dup();
    INDArray s = g.getUpdater().getStateViewArray().dup();
    MultiDataSet bad = batch(4, 96, 401);
    bad.getFeatures(0).putScalar(new long[] {3, 5, 2}, Double.NaN);
    TrainStep.StepResult r = t.fit(bad);
    assertEquals(TrainStep.Outcome.SKIPPED_NON_FINITE, r.outcome());
    assertTrue(Double.isNaN(r.score()), "the whole batch's score: " + r.score());
    assertEquals(p, g.params());
    assertEquals(s, g.getUpdater().getStateViewArray());
    assertEquals(1, g.getIterationCount());
    // the compute threads are given back, and the next step is the reference's exactly
    MultiDataSet next = batch(4, 96, 402);
    assertTrue(t.fit(next).done());
    assertTrue(tr.fit(next).done());
    assertEquals(reference.params(), g.params());
    assertEquals(reference.getUpdater().getStateViewArray(), g.getUpdater().getStateViewArray());
    assertEquals(new TrainStep.Counters(2, 0, 1), t.counters());
  }

  @ParameterizedTest
  @CsvSource({"4, 2", "5, 3", "3, 4"})
  void slicedStepsEqualUnslicedSteps(int batchSize, int slices) {
    NestConfig c = config();
    ComputationGraph whole = graph(c);
    ComputationGraph cut = graph(c);
    assertEquals(whole.params(), cut.params());
    TrainStep a = new TrainStep(whole, 7, 0.05, 1);
    TrainStep s = new TrainStep(cut, 7, 0.05, slices);
    for (int step = 0; step < 3; step++) {
      MultiDataSet ds = batch(batchSize, 96, 100 + step);
      TrainStep.StepResult ra = a.fit(ds);
      TrainStep.StepResult rs = s.fit(ds);
      assertTrue(ra.done() && rs.done());
      assertEquals(ra.score(), rs.score(), 1e-12 * Math.abs(ra.score()), "score at step " + step);
      MultiSoftmaxDecoderImpl da = (MultiSoftmaxDecoderImpl) whole.getLayer(NestGraph.DECODER);
      MultiSoftmaxDecoderImpl ds2 = (MultiSoftmaxDecoderImpl) cut.getLayer(NestGraph.DECODER);
      assertEquals(da.getLastNumSelected(), ds2.getLastNumSelected());
      assertEquals(da.getLastAccuracy(), ds2.getLastAccuracy(), 1e-12);
      assertEquals(da.getLastLoss(), ds2.getLastLoss(), 1e-12 * Math.abs(da.getLastLoss()));
    }
    assertTrue(
        a.clipping().lastFactor() < 1.0,
        "clipping bit, so it saw the merged gradient: " + a.clipping().lastFactor());
    assertEquals(a.clipping().lastFactor(), s.clipping().lastFactor(), 1e-10);
    double dp = whole.params().sub(cut.params()).amaxNumber().doubleValue();
    double du =
        whole
            .getUpdater()
            .getStateViewArray()
            .sub(cut.getUpdater().getStateViewArray())
            .amaxNumber()
            .doubleValue();
    assertTrue(dp < 1e-10, "parameters differ by " + dp);
    assertTrue(du < 1e-10, "optimizer state differs by " + du);
    assertEquals(whole.getIterationCount(), cut.getIterationCount());
    assertTrue(
        whole.params().sub(graph(c).params()).amaxNumber().doubleValue() > 1e-4,
        "the steps moved the parameters");
  }

  /**
   * With dropout on, a sliced run is reproducible (each slice's thread seeds its own RNG per step and slice)
   * and stays close to the unsliced run, whose masks are drawn differently.
   */
  @Test
  void slicedStepsWithDropoutAreReproducible() {
    NestConfig c =
        config(
            "model.encoder.dropout=0.1",
            "model.encoder.dropout_att=0.1",
            "model.encoder.dropout_pre_encoder=0.1");
    ComputationGraph one = graph(c);
    ComputationGraph two = graph(c);
    ComputationGraph whole = graph(c);
    TrainStep s1 = new TrainStep(one, 7, 0.05, 2);
    TrainStep s2 = new TrainStep(two, 7, 0.05, 2);
    TrainStep w = new TrainStep(whole, 7, 0.05, 1);
    double score1 = 0;
    double scoreW = 0;
    for (int step = 0; step < 3; step++) {
      MultiDataSet ds = batch(4, 96, 200 + step);
      score1 = s1.fit(ds).score();
      assertEquals(score1, s2.fit(ds).score(), 0.0, "same slices, same seeds: the same bits");
      scoreW = w.fit(ds).score();
    }
    assertEquals(0.0, one.params().sub(two.params()).amaxNumber().doubleValue(), 0.0);
    assertTrue(
        Math.abs(score1 - scoreW) < 0.05 * Math.abs(scoreW), score1 + " vs unsliced " + scoreW);
    assertTrue(
        one.params().sub(whole.params()).amaxNumber().doubleValue() > 0,
        "different dropout draws than the unsliced run");
  }

  /**
   * {@code trainer.sync_batchnorm=false}: each slice's BatchNorm normalises with its own rows, as each GPU does
   * in NeMo without SyncBatchNorm. The step's loss is then the slices' own training losses (each computed as an
   * unsliced batch of its rows) weighted by their share of the selected tokens, which differs from the shared
   * statistics' loss; the first layer's running mean, averaged over the slices by size, is still the whole batch's.
   */
  @Test
  void unsyncedBatchNormUsesEachSlicesOwnStatistics() {
    NestConfig c = config();
    ComputationGraph synced = graph(c);
    ComputationGraph own = graph(c);
    ComputationGraph whole = graph(c);
    ComputationGraph probe = graph(c);
    MultiDataSet ds = batch(4, 96, 300);
    // each half as a batch of its own, in training mode, before any step
    double expected = 0;
    long total = org.nestspark.model.decoder.MultiMLMLoss.countSelected(ds.getLabelsMaskArray(0));
    for (int[] r : new int[][] {{0, 2}, {2, 4}}) {
      org.nd4j.linalg.dataset.api.MultiDataSet half = SlicedStep.slice(ds, r[0], r[1]);
      long n = org.nestspark.model.decoder.MultiMLMLoss.countSelected(half.getLabelsMaskArray(0));
      expected += probe.score(half, true) * n / total;
    }
    double ownScore = new TrainStep(own, 7, 0.0, 2, false).fit(ds).score();
    double syncedScore = new TrainStep(synced, 7, 0.0, 2, true).fit(ds).score();
    new TrainStep(whole, 7, 0.0, 1).fit(ds);
    assertEquals(expected, ownScore, 1e-12 * Math.abs(expected));
    assertTrue(
        Math.abs(ownScore - syncedScore) > 1e-6 * Math.abs(syncedScore),
        ownScore + " vs " + syncedScore);
    assertTrue(
        own.params().sub(synced.params()).amaxNumber().doubleValue() > 1e-9,
        "other statistics, another step");
    // the first layer's BatchNorm input does not depend on any statistics: its running mean,
    // averaged over the
    // slices by size, is the whole batch's
    for (int l = 0; l < 1; l++) {
      INDArray mOwn =
          own.getLayer(NestGraph.layerName(l))
              .getParam(org.nestspark.model.conformer.ConformerLayer.CONV_BN_MEAN);
      INDArray mWhole =
          whole
              .getLayer(NestGraph.layerName(l))
              .getParam(org.nestspark.model.conformer.ConformerLayer.CONV_BN_MEAN);
      assertTrue(mWhole.amaxNumber().doubleValue() > 1e-6, "the running mean moved");
      assertEquals(
          0.0, mOwn.sub(mWhole).amaxNumber().doubleValue(), 1e-12, "running mean of layer " + l);
    }
    assertThrows(NestConfigException.class, () -> config("trainer.sync_batchnorm=sometimes"));
  }

  @Test
  void aFailingSliceFailsTheStepWithoutHangingTheOthers() {
    ComputationGraph g = graph(config());
    TrainStep s = new TrainStep(g, 7, 0.05, 2);
    MultiDataSet ds = batch(4, 96, 5);
    ds.getLabels(0)
        .putScalar(3, 0, 0, CLASSES + 3); // a token outside the codebook, in the second slice
    ds.getLabelsMaskArray(0).putScalar(3, 0, 1);
    IllegalArgumentException e =
        assertTimeoutPreemptively(
            Duration.ofSeconds(60),
            () -> assertThrows(IllegalArgumentException.class, () -> s.fit(ds)));
    assertTrue(e.getMessage().contains("outside [0, " + CLASSES + ")"), e.getMessage());
    // the graph is usable afterwards
    assertTrue(s.fit(batch(4, 96, 6)).done());
  }

  @Test
  void batchSlicesSetting() {
    assertEquals(
        3,
        TrainStep.resolveBatchSlices(
            config("trainer.batch_slices=3").settings().trainer().batchSlices()));
    assertEquals(
        ComputeThreads.configured(),
        TrainStep.resolveBatchSlices(config().settings().trainer().batchSlices()));
    NestConfigException e =
        assertThrows(NestConfigException.class, () -> config("trainer.batch_slices=0"));
    assertTrue(e.getMessage().contains("trainer.batch_slices"), e.getMessage());
    assertThrows(NestConfigException.class, () -> config("trainer.batch_slices=many"));
  }
}
