package org.nestspark.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.config.NestConfig;
import org.nestspark.model.NemoStateDict;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.model.NestGraph;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointIO;
import org.nestspark.train.Provenance;
import org.nestspark.train.TrainStep;

/** NeMo's init_from dict form (docs/nest-numerics.md §10): include/exclude substrings, strict=False, shape mismatches refused. */
class InitFromPretrainedTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  @TempDir Path dir;

  private static NestConfig cfg(String... more) {
    List<String> o =
        new java.util.ArrayList<>(
            List.of(
                "model.encoder.n_layers=2",
                "model.encoder.d_model=16",
                "model.encoder.n_heads=2",
                "model.num_classes=8",
                "model.encoder.subsampling_conv_channels=4"));
    o.addAll(List.of(more));
    return NestConfig.load(
        List.of(REPO.resolve("conf/nest-tiny.conf").toString()), o, new Configuration(false));
  }

  private static ComputationGraph graph(NestConfig c, long seed) {
    Nd4j.getRandom().setSeed(seed);
    return NestGraph.build(c.settings());
  }

  @Test
  void encoderOnlyFromACheckpoint() throws Exception {
    NestConfig c = cfg();
    ComputationGraph source = graph(c, 1);
    Path file = dir.resolve("src.ckpt");
    CheckpointIO.write(
        org.apache.hadoop.fs.FileSystem.getLocal(new Configuration(false)),
        new org.apache.hadoop.fs.Path(file.toUri()),
        new Checkpoint(
            source,
            0,
            0,
            "0",
            1,
            TrainStep.Counters.ZERO,
            c.render(),
            Provenance.capture(c, Map.of()),
            org.nestspark.ssl.FrozenModules.drawn(c.settings())));
    ComputationGraph target = graph(cfg("data.seed=7"), 2);
    NemoStateDict decoderBefore = NemoStateDict.fromGraph(target).withPrefix("decoder.");
    NestConfig init =
        cfg(
            "init_from_pretrained.path=" + file,
            "init_from_pretrained.include=[encoder]",
            "init_from_pretrained.exclude=[layers.1.]");
    InitFromPretrained.Report r = InitFromPretrained.apply(init, target, new Configuration(false));
    NemoStateDict src = NemoStateDict.fromGraph(source);
    NemoStateDict after = NemoStateDict.fromGraph(target);
    int encoderKeys = 0;
    for (String k : src.keys()) {
      boolean expected = k.contains("encoder") && !k.contains("layers.1.");
      if (expected) {
        encoderKeys++;
        assertTrue(
            java.util.Arrays.equals(src.get(k).toFloatArray(), after.get(k).toFloatArray())
                || k.endsWith("num_batches_tracked"),
            k);
      }
    }
    assertEquals(encoderKeys, r.loaded().size());
    assertTrue(r.filteredOut().stream().anyMatch(k -> k.startsWith("decoder.")));
    for (String k : decoderBefore.keys()) {
      assertTrue(
          java.util.Arrays.equals(decoderBefore.get(k).toFloatArray(), after.get(k).toFloatArray()),
          "decoder untouched: " + k);
    }
    String layer1 = "encoder.layers.1.feed_forward1.linear1.weight";
    assertNotEquals(src.get(layer1).toFloatArray()[0], after.get(layer1).toFloatArray()[0]);
  }

  @Test
  void shapeMismatchIsAnErrorNamingTheKey() {
    NestGraph.build(cfg().settings());
    ComputationGraph small = graph(cfg(), 1);
    ComputationGraph wide = graph(cfg("model.num_classes=16"), 1);
    NemoStateDictException e =
        assertThrows(
            NemoStateDictException.class,
            () ->
                InitFromPretrained.apply(
                    "wide", NemoStateDict.fromGraph(wide), small, List.of(""), List.of()));
    assertTrue(
        e.getMessage().contains("decoder.") && e.getMessage().contains("wrong shape"),
        e.getMessage());
    // excluded, the same source loads
    InitFromPretrained.Report r =
        InitFromPretrained.apply(
            "wide", NemoStateDict.fromGraph(wide), small, List.of(""), List.of("decoder"));
    assertTrue(r.loaded().size() > 10 && r.notInSource().isEmpty(), r.summary());
  }

  @Test
  void nemoSelectionRule() {
    assertTrue(InitFromPretrained.selected("encoder.layers.0.x", List.of(""), List.of()));
    assertTrue(!InitFromPretrained.selected("decoder.w", List.of("encoder"), List.of()));
    assertTrue(
        !InitFromPretrained.selected(
            "encoder.pre_encode.w", List.of("encoder"), List.of("pre_encode")));
    assertTrue(!InitFromPretrained.selected("encoder.w", List.of(), List.of()));
  }
}
