package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.batch.NestBatch;
import org.nestspark.batch.NestBatchBuilder;
import org.nestspark.config.NestConfig;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.Npy;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.ssl.FrozenModules;

/**
 * What the model sees, for people looking at a run (notebooks/02): the first utterance of the run's first
 * training batch, built on an executor exactly as training builds it and written there to
 * {@code <run>/preview/}: {@code clean_features.npy} {@code [F, T]} (clean log-mel, the quantizer's input),
 * {@code noisy_features.npy} {@code [F, T]} (the augmented, block-masked input of the encoder),
 * {@code frame_mask.npy} {@code [T]} (bool, true = masked frame) and {@code preview.json} (the manifest entry,
 * frames, masked fraction, tokens in the loss). {@code T} is the utterance's valid frames.
 */
final class Preview {
  static final String DIR = "preview";

  private Preview() {}

  static void write(
      JavaSparkContext sc,
      NestConfig cfg,
      BatchSpec spec,
      List<ManifestEntry> noise,
      Path runDir,
      FrozenModules frozen) {
    SerializableHadoopConf conf = new SerializableHadoopConf(sc.hadoopConfiguration());
    String dir = new Path(runDir, DIR).toString();
    sc.setJobDescription("pretrain: preview of " + spec.where() + " -> " + dir);
    sc.parallelize(List.of(spec), 1)
        .foreach(s -> writeOnExecutor(cfg, s, noise, conf.get(), new Path(dir), frozen));
  }

  static void writeOnExecutor(
      NestConfig cfg,
      BatchSpec spec,
      List<ManifestEntry> noise,
      Configuration conf,
      Path dir,
      FrozenModules frozen)
      throws IOException {
    NestBatchBuilder builder =
        NestBatchBuilder.of(cfg.settings(), PretrainJob.TRAIN, noise, conf, frozen);
    NestBatchBuilder.Result r = builder.build(spec.entries(), conf, true, spec.seed());
    NestBatch b = r.batch();
    if (b == null) {
      return; // nothing loadable in the first batch: no preview (the batch's problems are reported
      // by training)
    }
    int f = b.numFeatures();
    int t = b.numFrames();
    int valid = Math.min(b.featureLengths()[0], b.cleanLengths()[0]);
    float[] clean = new float[f * valid];
    float[] noisy = new float[f * valid];
    boolean[] mask = new boolean[valid];
    int masked = 0;
    for (int i = 0; i < f; i++) {
      System.arraycopy(b.cleanFeatures(), i * t, clean, i * valid, valid);
      System.arraycopy(b.features(), i * t, noisy, i * valid, valid);
    }
    for (int j = 0; j < valid; j++) {
      mask[j] = b.frameMask()[j];
      masked += mask[j] ? 1 : 0;
    }
    int tokens = 0;
    float[] lm = b.labelsMask();
    for (int j = 0; j < b.numTokens(); j++) {
      tokens += lm[j] > 0.5f ? 1 : 0;
    }
    FileSystem fs = AtomicFiles.withoutChecksumFiles(dir.getFileSystem(conf));
    fs.mkdirs(dir);
    AtomicFiles.write(
        fs, new Path(dir, "clean_features.npy"), o -> Npy.write(o, new int[] {f, valid}, clean));
    AtomicFiles.write(
        fs, new Path(dir, "noisy_features.npy"), o -> Npy.write(o, new int[] {f, valid}, noisy));
    AtomicFiles.write(
        fs, new Path(dir, "frame_mask.npy"), o -> Npy.write(o, new int[] {valid}, mask));
    ManifestEntry e = r.entries().get(0);
    ObjectNode n = MetricsLog.JSON.createObjectNode();
    n.put("audio_filepath", e.audioFilepath());
    n.put("manifest", e.manifest());
    n.put("line", e.line());
    if (e.duration() != null) {
      n.put("duration", e.duration());
    }
    n.put("epoch", spec.epoch());
    n.put("batch", spec.index());
    n.put("seed", spec.seed());
    n.put("frames", valid);
    n.put("features", f);
    n.put("masked_frames", masked);
    n.put("masked_fraction", valid == 0 ? 0 : masked / (double) valid);
    n.put("tokens_in_loss", tokens);
    n.put("window_stride", cfg.getDouble("model.preprocessor.window_stride"));
    byte[] json =
        MetricsLog.JSON
            .writerWithDefaultPrettyPrinter()
            .writeValueAsString(n)
            .getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(dir, "preview.json"), o -> o.write(json));
  }
}
