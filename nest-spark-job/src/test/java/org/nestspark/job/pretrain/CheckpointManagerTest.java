package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.model.NestGraph;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.Provenance;
import org.nestspark.train.TrainStep;

/** Retention (last k + best k by val_loss, min and max), best.json, and resume skipping a damaged newest file. */
class CheckpointManagerTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  @TempDir Path dir;

  private static NestConfig cfg() {
    return NestConfig.load(
        List.of(REPO.resolve("conf/nest-tiny.conf").toString()),
        List.of(
            "model.encoder.n_layers=1",
            "model.encoder.d_model=16",
            "model.encoder.n_heads=2",
            "model.num_classes=8",
            "model.encoder.subsampling_conv_channels=4"),
        new Configuration(false));
  }

  private static Checkpoint ckpt(ComputationGraph g, long step, NestConfig c) {
    g.getConfiguration().setIterationCount((int) step);
    return new Checkpoint(
        g,
        step,
        0,
        "{\"epoch\":0,\"batch\":" + step + "}",
        1,
        TrainStep.Counters.ZERO,
        c.render(),
        Provenance.capture(c, Map.of()),
        org.nestspark.ssl.FrozenModules.drawn(c.settings()));
  }

  private static List<String> names(CheckpointManager m) throws Exception {
    return m.names();
  }

  @Test
  void keepsTheLastKAndTheBest() throws Exception {
    NestConfig c = cfg();
    ComputationGraph g = NestGraph.build(c.settings());
    Configuration conf = new Configuration(false);
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    CheckpointManager m = new CheckpointManager(run, conf, 2, 1, "min");
    m.save(ckpt(g, 10, c), 5.0);
    m.save(ckpt(g, 20, c), 3.0); // best
    m.save(ckpt(g, 30, c), 4.0);
    m.save(ckpt(g, 35, c), Double.NaN); // not validated
    m.save(ckpt(g, 40, c), 4.5);
    assertEquals(List.of("step-000020.ckpt", "step-000035.ckpt", "step-000040.ckpt"), names(m));
    assertEquals(20L, m.bestStep().orElseThrow());
    JsonNode best = MetricsLog.JSON.readTree(dir.resolve("checkpoints/best.json").toFile());
    assertEquals("step-000020.ckpt", best.get("checkpoint").asText());
    assertEquals(3.0, best.get("metric").asDouble());

    CheckpointManager max =
        new CheckpointManager(
            new org.apache.hadoop.fs.Path(dir.resolve("max").toUri()), conf, 1, 2, "max");
    max.save(ckpt(g, 1, c), 0.1);
    max.save(ckpt(g, 2, c), 0.9);
    max.save(ckpt(g, 3, c), 0.5);
    max.save(ckpt(g, 4, c), 0.2);
    assertEquals(List.of("step-000002.ckpt", "step-000003.ckpt", "step-000004.ckpt"), names(max));
  }

  @Test
  void resumeSkipsADamagedNewestCheckpoint() throws Exception {
    NestConfig c = cfg();
    ComputationGraph g = NestGraph.build(c.settings());
    Configuration conf = new Configuration(false);
    CheckpointManager m =
        new CheckpointManager(new org.apache.hadoop.fs.Path(dir.toUri()), conf, 5, 1, "min");
    m.save(ckpt(g, 7, c), Double.NaN);
    Path newest = dir.resolve("checkpoints/step-000009.ckpt");
    Files.copy(dir.resolve("checkpoints/step-000007.ckpt"), newest);
    byte[] bytes = Files.readAllBytes(newest);
    Files.write(
        newest,
        java.util.Arrays.copyOf(
            bytes, bytes.length / 2)); // a driver killed mid-write (without our rename)
    List<String> warnings = new java.util.ArrayList<>();
    Checkpoint r = m.resume(warnings::add).orElseThrow();
    assertEquals(7, r.step());
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).contains("step-000009.ckpt"), warnings.toString());
  }
}
