package org.nestspark.job.bench;

import java.io.File;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.config.NestConfig;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.Npy;
import org.nestspark.model.NestGraph;

/**
 * Extraction throughput ({@code nest bench extract}; not a test): the work one {@code nest extract} task
 * does per batch, on this machine, for the Small and Large presets (random weights; {@code --layers all}):
 * decode in-memory 16-bit WAVs (8 clips of 10 s, noise and tones, lengths jittered by up to −5 %),
 * featurize (eval mode), run the encoder, write one npy per utterance through Hadoop's local file system
 * (temporary name + rename). Reported: hours of audio per hour of wall time per core (the run uses the
 * threads ND4J is given, normally {@code OMP_NUM_THREADS=1}: then per core = per task) and each stage's
 * share of the time. A warm-up batch precedes the measurement.
 */
public final class ExtractBench {
  private ExtractBench() {}

  /** Runs both presets for about {@code seconds} each and returns the table. */
  public static String run(int seconds, int batchSize, double clipSeconds) throws IOException {
    StringBuilder sb = new StringBuilder();
    String threads = System.getenv().getOrDefault("OMP_NUM_THREADS", "(unset)");
    sb.append(
        String.format(
            Locale.ROOT,
            "extract throughput, batch %d x %.1f s, layers all, OMP_NUM_THREADS=%s, ~%d s per preset%n",
            batchSize,
            clipSeconds,
            threads,
            seconds));
    sb.append(
        String.format(
            Locale.ROOT,
            "%-7s %7s %6s %11s %12s  %s%n",
            "preset",
            "layers",
            "d",
            "audio s/s",
            "h/h per core",
            "time shares"));
    for (String preset : List.of("small", "large")) {
      sb.append(one(preset, seconds, batchSize, clipSeconds, threads)).append('\n');
    }
    return sb.toString();
  }

  static String one(String preset, int seconds, int batchSize, double clipSeconds, String threads)
      throws IOException {
    NestConfig c =
        NestConfig.load(List.of(presetFile(preset)), List.of(), new Configuration(false));
    ComputationGraph g = NestGraph.build(c.settings());
    int n = NestGraph.numLayers(g);
    LayerExtractor x =
        new LayerExtractor(
            g,
            new FilterbankFeatures(c.settings().preprocessor()),
            LayerExtractor.parseLayers("all", n));
    int sr = c.getInt("model.sample_rate");
    byte[][] wavs = new byte[batchSize][];
    SplittableRandom rnd = new SplittableRandom(42);
    for (int i = 0; i < batchSize; i++) {
      int len = (int) Math.round(clipSeconds * sr * (1 - 0.05 * rnd.nextDouble()));
      wavs[i] = wav(len, sr, rnd);
    }
    java.nio.file.Path dir = Files.createTempDirectory("nest-bench-extract");
    FileSystem fs = FileSystem.getLocal(new Configuration());
    try {
      batch(x, wavs, sr, fs, dir, new double[4]); // warm-up
      double[] t = new double[4];
      double audio = 0;
      long start = System.nanoTime();
      do {
        audio += batch(x, wavs, sr, fs, dir, t);
      } while ((System.nanoTime() - start) / 1e9 < seconds);
      double wall = (System.nanoTime() - start) / 1e9;
      double cores =
          threads.matches("[0-9]+")
              ? Integer.parseInt(threads)
              : Runtime.getRuntime().availableProcessors();
      double total = t[0] + t[1] + t[2] + t[3];
      return String.format(
          Locale.ROOT,
          "%-7s %7d %6d %11.1f %12.1f  decode %.1f %%, featurize %.1f %%, encoder %.1f %%, write %.1f %%",
          preset,
          n,
          c.getInt("model.encoder.d_model"),
          audio / wall,
          audio / wall / cores,
          100 * t[0] / total,
          100 * t[1] / total,
          100 * t[2] / total,
          100 * t[3] / total);
    } finally {
      fs.delete(new Path(dir.toUri()), true);
    }
  }

  /** One batch; adds decode, featurize, encoder and write seconds to {@code t}; returns seconds of audio. */
  private static double batch(
      LayerExtractor x, byte[][] wavs, int sr, FileSystem fs, java.nio.file.Path dir, double[] t)
      throws IOException {
    long t0 = System.nanoTime();
    float[][] audio = new float[wavs.length][];
    double seconds = 0;
    for (int i = 0; i < wavs.length; i++) {
      try {
        audio[i] = AudioSegment.decode(wavs[i], "bench-" + i + ".wav", 0, 0, sr).samples();
      } catch (AudioException e) {
        throw new IllegalStateException(e);
      }
      seconds += audio[i].length / (double) sr;
    }
    long t1 = System.nanoTime();
    double f0 = x.featurizeSeconds();
    double e0 = x.encoderSeconds();
    List<LayerExtractor.Output> outs = x.extract(audio);
    double fs1 = x.featurizeSeconds() - f0;
    double es1 = x.encoderSeconds() - e0;
    long t2 = System.nanoTime();
    for (int i = 0; i < outs.size(); i++) {
      LayerExtractor.Output o = outs.get(i);
      Path p = new Path(new File(dir.toFile(), "utt_" + i + ".npy").toURI());
      AtomicFiles.write(
          fs, p, os -> Npy.write(os, new int[] {o.layers(), o.dim(), o.frames()}, o.values()));
    }
    long t3 = System.nanoTime();
    t[0] += (t1 - t0) / 1e9;
    t[1] += fs1;
    t[2] += es1;
    t[3] += (t3 - t2) / 1e9;
    return seconds;
  }

  /** conf/nest-&lt;preset&gt;.conf from the working directory or from the installation the classes run from. */
  static String presetFile(String preset) {
    String rel = "conf/nest-" + preset + ".conf";
    if (new File(rel).isFile()) {
      return rel;
    }
    try {
      File f =
          new File(ExtractBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      for (int up = 0; up < 4 && f != null; up++, f = f.getParentFile()) {
        File cand = new File(f, rel);
        if (cand.isFile()) {
          return cand.getPath();
        }
      }
    } catch (Exception ignored) {
      // fall through to the error
    }
    throw new IllegalArgumentException(rel + " not found (run from the nest-spark folder)");
  }

  /** A 16-bit mono WAV of noise plus two tones. */
  static byte[] wav(int samples, int sr, SplittableRandom rnd) {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * samples).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .putInt(36 + 2 * samples)
        .put("WAVE".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .put("fmt ".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1)
        .putInt(sr)
        .putInt(2 * sr)
        .putShort((short) 2)
        .putShort((short) 16)
        .put("data".getBytes(java.nio.charset.StandardCharsets.US_ASCII))
        .putInt(2 * samples);
    double f1 = 200 + 300 * rnd.nextDouble();
    double f2 = 1000 + 2000 * rnd.nextDouble();
    for (int i = 0; i < samples; i++) {
      double v =
          0.1 * (rnd.nextDouble() * 2 - 1)
              + 0.3 * Math.sin(2 * Math.PI * f1 * i / sr)
              + 0.1 * Math.sin(2 * Math.PI * f2 * i / sr);
      b.putShort((short) Math.round(v * 32767));
    }
    return b.array();
  }
}
