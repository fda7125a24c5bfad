package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.batch.NestBatch;
import org.nestspark.batch.NestBatchBuilder;
import org.nestspark.batch.NestBatchPipeline;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.NoiseSampler;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation;
import org.nestspark.ssl.RandomBlockMasking;
import org.nestspark.ssl.RandomProjectionVectorQuantizer;
import org.nestspark.ssl.TokenSelection;

/**
 * The whole chain on the real NEST graph: sample-corpus audio -> NestBatchBuilder (noise, augmentation,
 * features, tokens, masks) -> TrainStep with AdamW + Noam -> checkpoint -> resume. N steps, save, load, M
 * more equals N + M straight (dropout on, batch norm in training), and the loss goes down.
 */
class NestGraphResumeTest {
  static final java.nio.file.Path REPO =
      java.nio.file.Path.of(System.getProperty("user.dir")).getParent();

  private static NestConfig config() {
    return NestConfig.load(
        List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
        List.of(
            "model.encoder.d_model=32",
            "model.encoder.n_heads=2",
            "model.encoder.n_layers=1",
            "model.encoder.subsampling_conv_channels=8",
            "model.num_classes=64",
            "model.masking.mask_prob=0.1",
            "model.optim.weight_decay=0.001",
            "model.optim.sched.warmup_steps=4",
            "model.optim.gradient_clip_val=5.0"),
        new Configuration(false));
  }

  private static List<MultiDataSet> batches(NestConfig c, int n) throws Exception {
    Configuration conf = new Configuration(false);
    List<ManifestEntry> train =
        ManifestReader.unfiltered(conf)
            .read(List.of(REPO.resolve("deploy/sample/train_manifest.json").toString()))
            .entries();
    List<ManifestEntry> noise =
        ManifestReader.unfiltered(conf)
            .read(List.of(REPO.resolve("deploy/sample/noise_manifest.json").toString()))
            .entries();
    NestBatchBuilder builder =
        new NestBatchBuilder(
            new NestBatchPipeline(
                new FilterbankFeatures(c.settings().preprocessor()),
                RandomProjectionVectorQuantizer.of(c.settings().quantizer(), 11L),
                RandomBlockMasking.of(c.settings().masking(), 12L),
                TokenSelection.of(c.settings().loss())),
            MultiSpeakerNoiseAugmentation.of(
                c.settings().augmentor("model.train_ds.batch_augmentor")),
            NoiseSampler.withAudio(noise, 16000, conf),
            MinLengthPadding.of(c.settings().dataset("model.train_ds")),
            16000);
    List<MultiDataSet> out = new ArrayList<>();
    for (int i = 0; out.size() < n; i++) {
      NestBatch b = builder.build(train.subList(2 * i, 2 * i + 2), conf, true, 100 + i).batch();
      if (!b.isEmpty()) {
        out.add(toMultiDataSet(b));
      }
    }
    return out;
  }

  static MultiDataSet toMultiDataSet(NestBatch b) {
    int bs = b.batchSize();
    INDArray x = Nd4j.create(b.features(), new long[] {bs, b.numFeatures(), b.numFrames()}, 'c');
    INDArray fMask = Nd4j.create(b.featuresMask(), new long[] {bs, b.numFrames()}, 'c');
    int[] tokens = b.tokens();
    float[] labels = new float[tokens.length];
    for (int i = 0; i < tokens.length; i++) {
      labels[i] = tokens[i];
    }
    // tokens are [B, T', H]; the decoder takes [B, H, T'] (H = 1 here, so the layout is the same)
    INDArray y = Nd4j.create(labels, new long[] {bs, 1, b.numTokens()}, 'c');
    INDArray lMask = Nd4j.create(b.labelsMask(), new long[] {bs, b.numTokens()}, 'c');
    return new MultiDataSet(
        new INDArray[] {x}, new INDArray[] {y}, new INDArray[] {fMask}, new INDArray[] {lMask});
  }

  private static ComputationGraph fresh(NestConfig c) {
    Nd4j.getRandom().setSeed(5);
    return NestGraph.build(c.settings(), AdamW.of(c.settings().optim()));
  }

  @Test
  void resumeEqualsStraightTrainingAndTheLossGoesDown(@TempDir java.nio.file.Path dir)
      throws Exception {
    NestConfig c = config();
    List<MultiDataSet> data = batches(c, 3);
    int n = 4;
    int m = 3;

    ComputationGraph straight = fresh(c);
    TrainStep s = TrainStep.of(straight, c.settings());
    double first = straight.score(data.get(0), false);
    for (int i = 0; i < n + m; i++) {
      assertTrue(s.fit(data.get(i % data.size())).done());
    }

    ComputationGraph part = fresh(c);
    TrainStep p = TrainStep.of(part, c.settings());
    for (int i = 0; i < n; i++) {
      p.fit(data.get(i % data.size()));
    }
    Configuration conf = new Configuration(false);
    Path ckptDir = new Path(dir.toUri());
    Path file =
        CheckpointIO.save(
            ckptDir,
            Checkpoint.of(
                p,
                String.valueOf(n),
                c,
                java.util.Map.of(),
                org.nestspark.ssl.FrozenModules.drawn(c.settings())),
            conf);
    Checkpoint back = CheckpointIO.load(file, conf);
    assertEquals(n, back.step());
    TrainStep resumed =
        new TrainStep(
            back.model(),
            back.seed(),
            c.getDouble("model.optim.gradient_clip_val"),
            TrainStep.resolveBatchSlices(c.settings().trainer().batchSlices()));
    resumed.restoreCounters(back.counters());
    for (int i = n; i < n + m; i++) {
      resumed.fit(data.get(i % data.size()));
    }
    INDArray a = straight.params();
    INDArray b = back.model().params();
    double maxDiff = a.sub(b).amax().getDouble(0);
    assertTrue(maxDiff <= 1e-6, "resumed training differs from straight training by " + maxDiff);
    assertEquals(n + m, back.model().getIterationCount());
    assertEquals(DataType.FLOAT, a.dataType());

    for (int i = 0; i < 20; i++) {
      s.fit(data.get(0));
    }
    double last = straight.score(data.get(0), false);
    assertTrue(last < first - 0.3, "loss on a repeated batch: " + first + " -> " + last);
  }
}
