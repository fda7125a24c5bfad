package org.nestspark.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.CollectionAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

import org.nestspark.config.NestConfig;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.spark.NestKryoRegistrator;
import org.nestspark.train.AdamW;

/**
 * The worker hook (global step, NaN rollback, records) and validation on executors (deterministic, equal to
 * the same computation in one JVM), on real sample-corpus batches.
 */
class StepHookAndValidatorTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  private static NestConfig cfg() {
    return NestConfig.load(List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
        List.of("model.encoder.n_layers=1", "model.encoder.d_model=32", "model.encoder.n_heads=2", "model.num_classes=64",
            "model.masking.mask_prob=0.1"), new Configuration(false));
  }

  private static List<ManifestEntry> entries(String manifest) throws Exception {
    return ManifestReader.unfiltered(new Configuration(false)).read(List.of(REPO.resolve("deploy/sample/" + manifest).toString())).entries();
  }

  private static List<BatchSpec> specs(List<ManifestEntry> e, int n, int size) {
    List<BatchSpec> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(new BatchSpec(-1, i, BatchSpec.validationSeed(42, i), e.subList(i * size, i * size + size)));
    }
    return out;
  }

  private static JavaSparkContext jsc;

  @org.junit.jupiter.api.BeforeAll
  static void spark() {
    SparkConf sc = new SparkConf().setMaster("local[2]").setAppName("validator-test").set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer").set("spark.kryo.registrator", NestKryoRegistrator.class.getName());
    jsc = new JavaSparkContext(sc);
  }

  @org.junit.jupiter.api.AfterAll
  static void stop() {
    jsc.close();
  }

  @Test
  void hookContinuesTheDriverStepAndUndoesANonFiniteStep() throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(3);
    ComputationGraph driver = NestGraph.build(c, AdamW.fromConfig(c));
    driver.getConfiguration().setIterationCount(40);
    CollectionAccumulator<StepRecord> records = jsc.sc().collectionAccumulator("steps");
    StepHook hook = new StepHook(42, 0.01, records);
    hook.setDriverGraph(driver);
    // what a worker gets: the hook as Spark ships it, a graph whose configuration clone lost the count
    // Spark serializes the hook into the round's task: that is when it takes the driver's count
    org.apache.commons.lang3.SerializationUtils.serialize(hook);
    StepHook shipped = hook;
    ComputationGraph worker = new ComputationGraph(driver.getConfiguration().clone());
    worker.init(driver.params().dup(), false);
    assertEquals(0, worker.getIterationCount(), "DL4J's clone drops the iteration count");

    BatchSource source = new BatchSource(c, PretrainJob.TRAIN, entries("noise_manifest.json"), new Configuration(false), true,
        DataCounters.unregistered());
    List<MultiDataSet> batches = source.buildAll(specs(entries("train_manifest.json"), 2, 4));
    assertEquals(2, batches.size());

    shipped.preUpdate(batches.get(0), worker);
    worker.fit(batches.get(0));
    shipped.postUpdate(batches.get(0), worker);
    assertEquals(41, worker.getIterationCount());
    StepRecord first = records.value().get(0);
    assertEquals(41, first.step());
    assertFalse(first.undone());
    assertTrue(Double.isFinite(first.loss()) && first.selected() > 0 && first.audioSeconds() > 1, first.toString());

    MultiDataSet poisoned = batches.get(1).copy();
    poisoned.getFeatures(0).putScalar(new long[] {0, 0, 0}, Double.NaN);
    INDArray before = worker.params().dup();
    INDArray stateBefore = worker.getUpdater().getStateViewArray().dup();
    shipped.preUpdate(poisoned, worker);
    worker.fit(poisoned);
    shipped.postUpdate(poisoned, worker);
    StepRecord second = records.value().get(1);
    assertEquals(42, second.step());
    assertTrue(second.undone());
    assertEquals(before, worker.params());
    assertEquals(stateBefore, worker.getUpdater().getStateViewArray());
  }

  @Test
  void validationOnExecutorsIsDeterministicAndEqualsOneJvm() throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(5);
    ComputationGraph g = NestGraph.build(c, AdamW.fromConfig(c));
    List<BatchSpec> specs = specs(entries("train_manifest.json"), 4, 3);
    {
      DataCounters counters = new DataCounters(jsc, "val");
      BatchSource source = new BatchSource(c, PretrainJob.VALIDATION, entries("noise_manifest.json"), new Configuration(false), false, counters);
      Validator.Result a = Validator.validate(jsc, g, specs, source, 2);
      Validator.Result b = Validator.validate(jsc, g, specs, source, 3);
      assertEquals(a, b);
      assertEquals(4, a.batches());
      assertTrue(Double.isFinite(a.valLoss()) && a.selectedTokens() > 0, a.toString());
      Validator.Result local = Validator.validateLocally(g, source.buildAll(specs));
      assertEquals(a.valLoss(), local.valLoss(), 1e-6);
      assertEquals(a.valMaskedAccuracy(), local.valMaskedAccuracy(), 1e-12);
    }
  }
}
