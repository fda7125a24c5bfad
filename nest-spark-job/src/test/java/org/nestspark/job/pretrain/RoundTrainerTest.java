package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.config.NestConfig;
import org.nestspark.job.spark.NestKryoRegistrator;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.AdamW;

/**
 * Rounds on persistent workers (both strategies against the same computation done by hand in one JVM,
 * kept graphs, lost state, re-run tasks) and validation on executors (deterministic, equal to the same
 * computation in one JVM), on real sample-corpus batches.
 */
class RoundTrainerTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  private static NestConfig cfg() {
    return NestConfig.load(
        List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
        List.of(
            "model.encoder.n_layers=1",
            "model.encoder.d_model=32",
            "model.encoder.n_heads=2",
            "model.num_classes=64",
            "model.masking.mask_prob=0.1"),
        new Configuration(false));
  }

  private static List<ManifestEntry> entries(String manifest) throws Exception {
    return ManifestReader.unfiltered(new Configuration(false))
        .read(List.of(REPO.resolve("deploy/sample/" + manifest).toString()))
        .entries();
  }

  private static List<BatchSpec> specs(List<ManifestEntry> e, int n, int size) {
    List<BatchSpec> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(
          new BatchSpec(
              -1, i, BatchSpec.validationSeed(42, i), e.subList(i * size, i * size + size)));
    }
    return out;
  }

  private static JavaSparkContext jsc;

  @org.junit.jupiter.api.BeforeAll
  static void spark() {
    SparkConf sc =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("validator-test")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
            .set("spark.kryo.registrator", NestKryoRegistrator.class.getName());
    jsc = new JavaSparkContext(sc);
  }

  @org.junit.jupiter.api.AfterAll
  static void stop() {
    jsc.close();
  }

  private static RoundWorker.Attempt attempt(NestConfig c, ComputationGraph g, TrainingStrategy s)
      throws Exception {
    BatchSource source =
        new BatchSource(
            c,
            PretrainJob.TRAIN,
            entries("noise_manifest.json"),
            new Configuration(false),
            true,
            null,
            FrozenModules.drawn(c.settings()));
    return new RoundWorker.Attempt(
        java.util.UUID.randomUUID().toString(),
        g.getConfiguration().toJson(),
        42,
        1.0,
        s,
        source,
        new org.nestspark.io.SerializableHadoopConf(new Configuration(false)),
        4);
  }

  private static TrainingStrategy strategy(
      TrainingStrategy.Kind kind, int steps, org.nestspark.train.DeltaDtype dtype) {
    return new TrainingStrategy(kind, 2, steps, true, 0.7, 0.9, true, dtype, 0, 0, 1, true);
  }

  private static List<List<BatchSpec>> perWorker(List<ManifestEntry> train, int round, int steps) {
    List<List<BatchSpec>> out = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      List<BatchSpec> specs = new ArrayList<>();
      for (int k = 0; k < steps; k++) {
        int i = (round * steps + k) * 2 + w;
        specs.add(
            new BatchSpec(
                0,
                i,
                BatchSpec.trainingSeed(42, 0, i),
                train.subList((i * 3) % 24, (i * 3) % 24 + 3)));
      }
      out.add(specs);
    }
    return out;
  }

  @Test
  void dilocoRoundOnSparkEqualsTheWorkersStepsAndTheOuterNesterovStep() throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(3);
    ComputationGraph driver = NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
    driver.getConfiguration().setIterationCount(40);
    ComputationGraph reference = driver.clone();
    TrainingStrategy s =
        strategy(TrainingStrategy.Kind.DILOCO, 2, org.nestspark.train.DeltaDtype.FLOAT32);
    List<ManifestEntry> train = entries("train_manifest.json");

    // the same two rounds computed by hand in this JVM: each worker's inner steps (its own AdamW
    // state
    // carried from round to round), then the mean delta through torch's SGD(nesterov) formula
    RoundWorker.Attempt local = attempt(c, reference, s);
    boolean[] trainable = RoundTrainer.trainableMask(reference);
    float[] theta = RoundWorker.floats(reference.params());
    float[] buffer = new float[theta.length];
    for (int round = 0; round < 2; round++) {
      List<List<BatchSpec>> pw = perWorker(train, round, 2);
      float[] mean = new float[theta.length];
      for (int w = 0; w < 2; w++) {
        RoundResult r =
            RoundWorker.run(
                local,
                new RoundWorker.Input(
                    round, 40 + 2 * round, 0, theta.clone(), null, null, null, null),
                new RoundWorker.Task(w, pw.get(w), round - 1));
        assertEquals(round == 0 ? 1 : 0, r.starts, "a worker is built once and kept");
        assertEquals(2, r.records.size());
        assertEquals(41 + 2 * round, r.records.get(0).step());
        float[] d = r.vectorSum();
        for (int i = 0; i < mean.length; i++) {
          mean[i] += d[i];
        }
      }
      for (int i = 0; i < theta.length; i++) {
        float g = mean[i] / 2;
        if (!trainable[i]) {
          theta[i] = theta[i] - g;
          continue;
        }
        buffer[i] = 0.9f * buffer[i] + g;
        theta[i] = theta[i] - 0.7f * (g + 0.9f * buffer[i]);
      }
    }

    BatchSource source =
        new BatchSource(
            c,
            PretrainJob.TRAIN,
            entries("noise_manifest.json"),
            new Configuration(false),
            true,
            null,
            FrozenModules.drawn(c.settings()));
    try (RoundTrainer trainer =
        new RoundTrainer(jsc, driver, s, source, 42, 1.0, new Configuration(false))) {
      RoundTrainer.Outcome first = trainer.run(perWorker(train, 0, 2), 0, null);
      assertEquals(2, first.starts());
      assertEquals(42, driver.getIterationCount());
      RoundTrainer.Outcome second = trainer.run(perWorker(train, 1, 2), 0, null);
      assertEquals(0, second.starts(), "the executors kept both workers' graphs");
      assertEquals(0, second.restarts());
      assertEquals(4, second.records().size());
      assertEquals(44, driver.getIterationCount());
      assertEquals(2L * 4 * theta.length, second.bytesUp(), "two float32 deltas");
      org.junit.jupiter.api.Assertions.assertArrayEquals(
          theta, RoundWorker.floats(driver.params()));
      org.junit.jupiter.api.Assertions.assertArrayEquals(buffer, trainer.outerMomentum());

      // a worker whose executor lost its state starts again from the round's weights with zero
      // moments, counted
      WorkerSlots.clear();
      RoundTrainer.Outcome third = trainer.run(perWorker(train, 2, 2), 0, null);
      assertEquals(2, third.restarts());
      assertTrue(Double.isFinite(third.records().get(0).loss()));
    }
  }

  @Test
  void parameterAveragingTakesTheMeanOfParametersAndMoments() throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(4);
    ComputationGraph driver = NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
    ComputationGraph reference = driver.clone();
    TrainingStrategy s =
        strategy(
            TrainingStrategy.Kind.PARAMETER_AVERAGING, 1, org.nestspark.train.DeltaDtype.FLOAT32);
    List<ManifestEntry> train = entries("train_manifest.json");
    RoundWorker.Attempt local = attempt(c, reference, s);
    float[] theta = RoundWorker.floats(reference.params());
    float[] state = RoundWorker.floats(reference.getUpdater().getStateViewArray());
    float[] p = new float[theta.length];
    float[] m = new float[state.length];
    for (int w = 0; w < 2; w++) {
      RoundResult r =
          RoundWorker.run(
              local,
              new RoundWorker.Input(0, 0, 0, theta, state, null, null, null),
              new RoundWorker.Task(w, perWorker(train, 0, 1).get(w), -1));
      for (int i = 0; i < p.length; i++) {
        p[i] += r.sum[i];
      }
      for (int i = 0; i < m.length; i++) {
        m[i] += r.stateSum[i];
      }
    }
    for (int i = 0; i < p.length; i++) {
      p[i] /= 2;
    }
    for (int i = 0; i < m.length; i++) {
      m[i] /= 2;
    }
    BatchSource source =
        new BatchSource(
            c,
            PretrainJob.TRAIN,
            entries("noise_manifest.json"),
            new Configuration(false),
            true,
            null,
            FrozenModules.drawn(c.settings()));
    try (RoundTrainer trainer =
        new RoundTrainer(jsc, driver, s, source, 42, 1.0, new Configuration(false))) {
      RoundTrainer.Outcome o = trainer.run(perWorker(train, 0, 1), 0, null);
      assertEquals(
          2L * 4 * (theta.length + state.length),
          o.bytesUp(),
          "parameters and moments from both workers");
    }
    org.junit.jupiter.api.Assertions.assertArrayEquals(p, RoundWorker.floats(driver.params()));
    org.junit.jupiter.api.Assertions.assertArrayEquals(
        m, RoundWorker.floats(driver.getUpdater().getStateViewArray()));
  }

  @Test
  void aTaskRunAgainAfterItsRoundAnswersFromTheKeptStateAndSixteenBitDeltasAreRounded()
      throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(6);
    ComputationGraph g = NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
    TrainingStrategy s =
        strategy(TrainingStrategy.Kind.DILOCO, 1, org.nestspark.train.DeltaDtype.BFLOAT16);
    RoundWorker.Attempt a = attempt(c, g, s);
    float[] theta = RoundWorker.floats(g.params());
    RoundWorker.Input in = new RoundWorker.Input(0, 0, 0, theta, null, null, null, null);
    RoundWorker.Task t =
        new RoundWorker.Task(0, perWorker(entries("train_manifest.json"), 0, 1).get(0), -1);
    RoundResult first = RoundWorker.run(a, in, t);
    RoundResult again = RoundWorker.run(a, in, t);
    assertEquals(1, again.reruns);
    assertEquals(0, again.starts);
    assertEquals(first.records, again.records);
    org.junit.jupiter.api.Assertions.assertArrayEquals(first.encoded, again.encoded);
    assertEquals(org.nestspark.train.DeltaDtype.BFLOAT16, first.dtype);
    float[] decoded = first.vectorSum();
    boolean moved = false;
    for (float v : decoded) {
      assertEquals(v, org.nestspark.train.DeltaDtype.BFLOAT16.round(v), 0f, "a bfloat16 value");
      moved |= v != 0;
    }
    assertTrue(moved, "the worker's step moved the weights");
  }

  @Test
  void validationOnExecutorsIsDeterministicAndEqualsOneJvm() throws Exception {
    NestConfig c = cfg();
    Nd4j.getRandom().setSeed(5);
    ComputationGraph g = NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
    List<BatchSpec> specs = specs(entries("train_manifest.json"), 4, 3);
    {
      DataCounters counters = new DataCounters(jsc, "val");
      BatchSource source =
          new BatchSource(
              c,
              PretrainJob.VALIDATION,
              entries("noise_manifest.json"),
              new Configuration(false),
              false,
              counters,
              FrozenModules.drawn(c.settings()));
      Validator.Result a = Validator.validate(jsc, g, specs, source, 2, 1);
      Validator.Result b = Validator.validate(jsc, g, specs, source, 3, 1);
      assertEquals(a, b);
      // every batch scored as 3 slices at once (trainer.batch_slices): the same numbers up to float
      // rounding
      Validator.Result sliced = Validator.validate(jsc, g, specs, source, 2, 3);
      assertEquals(a.batches(), sliced.batches());
      assertEquals(a.selectedTokens(), sliced.selectedTokens());
      assertEquals(a.valLoss(), sliced.valLoss(), 1e-5);
      assertEquals(a.valMaskedAccuracy(), sliced.valMaskedAccuracy(), 1e-12);
      assertEquals(4, a.batches());
      assertTrue(Double.isFinite(a.valLoss()) && a.selectedTokens() > 0, a.toString());
      Validator.Result local = Validator.validateLocally(g, source.buildAll(specs));
      assertEquals(a.valLoss(), local.valLoss(), 1e-6);
      assertEquals(a.valMaskedAccuracy(), local.valMaskedAccuracy(), 1e-12);
    }
  }
}
