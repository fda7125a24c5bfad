package org.nestspark.job.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.job.featurize.FeaturizeJob;
import org.nestspark.job.featurize.FeaturizeReport;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.nemo.TarWriter;
import org.nestspark.tarred.ShardCursors;
import org.nestspark.tarred.TarredDataset;

/**
 * {@code nest bench shards [N]}: small files against tar shards on HDFS (issue 12, "Measured"), in one run on
 * Hadoop's {@link MiniDFSCluster} (one NameNode, one DataNode, in this JVM) with Spark {@code local[*]}. The same N
 * one-second 16 kHz WAVs (a tone and noise each, 32 KB) are stored once as N single files and once packed into
 * 32 shards ({@code audio_<i>.tar}, NeMo's layout, one tarred manifest); writing them is not timed. Then, for both:
 * <ol>
 *   <li>read + decode only: every utterance loaded by executors through {@link UtteranceLoader} (the input side
 *       alone);</li>
 *   <li>{@code featurize}: the whole job, which also writes one {@code .npy} per utterance to HDFS (the same N
 *       outputs in both cases).</li>
 * </ol>
 * Each row prints wall time, utterances per second and the NameNode operations it caused (the NameNode's
 * {@code NameNodeActivity} counters: block-location lookups, file-info calls, creates, renames, listings, deletes).
 * Every row starts with no shard open and nothing buffered ({@link ShardCursors#clear}). Nothing here is faked: the numbers are whatever this machine does.
 */
public final class ShardsBench {
  /** Shards the packed copy is split into. */
  public static final int SHARDS = 32;

  private static final String[] OPS = {
    "GetBlockLocations",
    "FileInfoOps",
    "CreateFileOps",
    "FilesRenamed",
    "GetListingOps",
    "DeleteFileOps"
  };

  private ShardsBench() {}

  /** Runs the benchmark with N utterances and prints the table to {@code out} (progress to {@code log}). */
  public static void run(int n, PrintStream out, PrintStream log) throws Exception {
    if (n < SHARDS) {
      throw new IllegalArgumentException(
          "N must be at least " + SHARDS + " (one utterance per shard), got " + n);
    }
    java.nio.file.Path tmp = Files.createTempDirectory("nest-bench-shards");
    Configuration hconf = new Configuration();
    hconf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("hdfs").toString());
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(hconf).numDataNodes(1).build();
    try {
      cluster.waitActive();
      FileSystem hdfs = cluster.getFileSystem();
      String base = hdfs.getUri().toString();
      long t0 = System.nanoTime();
      write(hdfs, n);
      log.printf(
          Locale.ROOT,
          "[bench shards] wrote %d WAV files and %d shards to %s in %.1f s%n",
          n,
          SHARDS,
          base,
          (System.nanoTime() - t0) / 1e9);

      NestConfig cfg =
          NestConfig.load(
              List.of(),
              List.of("featurize.progress_interval_seconds=0"),
              new Configuration(false));
      String plainManifest = base + "/bench/manifest.json";
      String tarManifest = base + "/bench/tarred/tarred_audio_manifest.json";
      String shards = base + "/bench/tarred/audio_{0.." + (SHARDS - 1) + "}.tar";
      List<String[]> rows = new ArrayList<>();
      try (JavaSparkContext sc = SparkContexts.create(cfg, "bench-shards")) {
        Configuration conf = sc.hadoopConfiguration();
        List<ManifestEntry> plain =
            ManifestReader.unfiltered(conf).read(List.of(plainManifest)).entries();
        List<ManifestEntry> tarred =
            TarredDataset.read(
                    ManifestReader.unfiltered(conf), List.of(tarManifest), List.of(shards))
                .entries();
        // warm-up (JIT, Spark): a few hundred of each, not counted
        readAll(sc, plain.subList(0, Math.min(256, n)), cfg, 4);
        readAll(sc, tarred.subList(0, Math.min(256, n)), cfg, 4);
        rows.add(
            measure(
                "read + decode, single files",
                n,
                () -> readAll(sc, plain, cfg, sc.defaultParallelism() * 4)));
        rows.add(
            measure("read + decode, 32 tar shards", n, () -> readAll(sc, tarred, cfg, SHARDS)));
        NestConfig tarCfg = cfg.with(Map.of("featurize.tarred_audio_filepaths", shards));
        rows.add(
            measure(
                "featurize, single files",
                n,
                () ->
                    check(
                        FeaturizeJob.run(sc, cfg, List.of(plainManifest), base + "/out/plain", log),
                        n)));
        rows.add(
            measure(
                "featurize, 32 tar shards",
                n,
                () ->
                    check(
                        FeaturizeJob.run(
                            sc, tarCfg, List.of(tarManifest), base + "/out/tarred", log),
                        n)));
      }
      out.printf(
          Locale.ROOT,
          "%d one-second utterances on MiniDFSCluster (1 DataNode), Spark local[*] with %d cores%n",
          n,
          Runtime.getRuntime().availableProcessors());
      out.printf(
          Locale.ROOT,
          "%-30s %9s %12s %10s %9s %9s %8s %8s %8s %8s%n",
          "",
          "wall s",
          "utterances/s",
          "NN ops",
          "getBlkLoc",
          "fileInfo",
          "create",
          "rename",
          "listing",
          "delete");
      for (String[] r : rows) {
        out.printf(Locale.ROOT, "%-30s %9s %12s %10s %9s %9s %8s %8s %8s %8s%n", (Object[]) r);
      }
      double readX = Double.parseDouble(rows.get(1)[2]) / Double.parseDouble(rows.get(0)[2]);
      double featX = Double.parseDouble(rows.get(3)[2]) / Double.parseDouble(rows.get(2)[2]);
      out.printf(
          Locale.ROOT,
          "tar shards vs single files: read + decode %.2fx, featurize %.2fx (goal: 5x at N=20000)%n",
          readX,
          featX);
    } finally {
      cluster.shutdown();
      ShardCursors.clear();
      deleteTree(tmp);
    }
  }

  private interface Work {
    void run() throws Exception;
  }

  private static String[] measure(String name, int n, Work w) throws Exception {
    ShardCursors.clear();
    Map<String, Long> before = nameNodeOps();
    long t0 = System.nanoTime();
    w.run();
    double s = (System.nanoTime() - t0) / 1e9;
    Map<String, Long> after = nameNodeOps();
    String[] row = new String[4 + OPS.length];
    row[0] = name;
    row[1] = String.format(Locale.ROOT, "%.1f", s);
    row[2] = String.format(Locale.ROOT, "%.0f", n / s);
    long total = 0;
    for (int i = 0; i < OPS.length; i++) {
      long d = after.get(OPS[i]) - before.get(OPS[i]);
      total += d;
      row[4 + i] = Long.toString(d);
    }
    row[3] = Long.toString(total);
    return row;
  }

  private static void check(FeaturizeReport r, int n) {
    if (r.featurized() != n) {
      throw new IllegalStateException(
          "featurized "
              + r.featurized()
              + " of "
              + n
              + " utterances; skipped: "
              + r.skippedTotal());
    }
  }

  /** Loads every entry on the executors; fails unless all N load. */
  private static void readAll(
      JavaSparkContext sc, List<ManifestEntry> entries, NestConfig cfg, int partitions) {
    UtteranceLoader loader = UtteranceLoader.of(cfg.settings());
    SerializableHadoopConf conf = new SerializableHadoopConf(sc.hadoopConfiguration());
    long samples =
        sc.parallelize(entries, Math.min(entries.size(), partitions))
            .map(e -> (long) loader.load(e, conf.get()).numSamples())
            .reduce(Long::sum);
    if (samples != 16000L * entries.size()) {
      throw new IllegalStateException(
          "read " + samples + " samples, expected " + 16000L * entries.size());
    }
  }

  /**
   * The NameNode's operation counters ({@code NameNodeActivity}: the NameNode's own metrics object, read directly
   * because its JMX view is a cache refreshed only every 10 s).
   */
  static Map<String, Long> nameNodeOps() throws Exception {
    Object metrics = org.apache.hadoop.hdfs.server.namenode.NameNode.getNameNodeMetrics();
    Map<String, Long> out = new LinkedHashMap<>();
    for (String op : OPS) {
      java.lang.reflect.Field f =
          metrics
              .getClass()
              .getDeclaredField(Character.toLowerCase(op.charAt(0)) + op.substring(1));
      f.setAccessible(true);
      out.put(op, ((org.apache.hadoop.metrics2.lib.MutableCounterLong) f.get(metrics)).value());
    }
    return out;
  }

  /** N WAVs under /bench/wav with a manifest, and the same packed into 32 shards with a tarred manifest. */
  private static void write(FileSystem hdfs, int n) throws IOException {
    SplittableRandom rnd = new SplittableRandom(12);
    StringBuilder manifest = new StringBuilder();
    StringBuilder tarred = new StringBuilder();
    List<List<Integer>> perShard = new ArrayList<>();
    for (int s = 0; s < SHARDS; s++) {
      perShard.add(new ArrayList<>());
    }
    byte[][] audio = new byte[n][];
    for (int i = 0; i < n; i++) {
      String name = String.format(Locale.ROOT, "u_%06d.wav", i);
      audio[i] = wav(16000, rnd);
      try (OutputStream os = hdfs.create(new Path("/bench/wav/" + name))) {
        os.write(audio[i]);
      }
      manifest
          .append("{\"audio_filepath\": \"wav/")
          .append(name)
          .append("\", \"duration\": 1.0}\n");
      perShard.get(i % SHARDS).add(i);
    }
    for (int s = 0; s < SHARDS; s++) {
      try (OutputStream os = hdfs.create(new Path("/bench/tarred/audio_" + s + ".tar"))) {
        TarWriter tar = new TarWriter(os, 0);
        for (int i : perShard.get(s)) {
          String name = String.format(Locale.ROOT, "u_%06d.wav", i);
          tar.file(name, audio[i]);
          tarred
              .append("{\"audio_filepath\": \"")
              .append(name)
              .append("\", \"duration\": 1.0, \"shard_id\": ")
              .append(s)
              .append("}\n");
        }
        tar.finish();
      }
    }
    try (OutputStream os = hdfs.create(new Path("/bench/manifest.json"))) {
      os.write(manifest.toString().getBytes(StandardCharsets.UTF_8));
    }
    try (OutputStream os = hdfs.create(new Path("/bench/tarred/tarred_audio_manifest.json"))) {
      os.write(tarred.toString().getBytes(StandardCharsets.UTF_8));
    }
  }

  /** One second of a tone plus noise, 16-bit mono 16 kHz. */
  private static byte[] wav(int samples, SplittableRandom rnd) {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * samples).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII))
        .putInt(36 + 2 * samples)
        .put("WAVE".getBytes(StandardCharsets.US_ASCII))
        .put("fmt ".getBytes(StandardCharsets.US_ASCII))
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1)
        .putInt(16000)
        .putInt(32000)
        .putShort((short) 2)
        .putShort((short) 16)
        .put("data".getBytes(StandardCharsets.US_ASCII))
        .putInt(2 * samples);
    double f = 150 + 400 * rnd.nextDouble();
    for (int i = 0; i < samples; i++) {
      double v = 0.05 * (rnd.nextDouble() * 2 - 1) + 0.3 * Math.sin(2 * Math.PI * f * i / 16000);
      b.putShort((short) Math.round(v * 32767));
    }
    return b.array();
  }

  private static void deleteTree(java.nio.file.Path p) {
    try (var walk = Files.walk(p)) {
      walk.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    } catch (IOException ignored) {
      // a temporary folder left behind is harmless
    }
  }
}
