package org.nestspark.job.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
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
 * {@code nest bench shards [N] [--rows R,...] [--flac]}: small files against tar shards on HDFS (issue 12,
 * "Measured"), in one run on Hadoop's {@link MiniDFSCluster} (one NameNode, one DataNode, in this JVM, default
 * HDFS settings) with Spark {@code local[*]}. The same N one-second 16 kHz WAVs (a tone and noise each, 32 KB) are
 * stored once as N single files and once packed into 32 shards ({@code audio_<i>.tar}, NeMo's layout, one tarred
 * manifest); writing them is not timed (the single files are written by 32 threads). Then the rows ({@link Row}):
 * <ol>
 *   <li>read + decode only: every utterance loaded by executors through {@link UtteranceLoader} (the input side
 *       alone), from single files and from the shards;</li>
 *   <li>{@code featurize}, the whole job: single files in, one {@code .npy} per utterance out; shards in, one
 *       {@code .npy} per utterance out; shards in, one tar shard of {@code .npy} members per task out
 *       ({@code featurize.format=tar}).</li>
 * </ol>
 * Each row prints wall time, utterances per second and the NameNode RPC calls it caused, by method, counted by the
 * NameNode's RPC server ({@code RpcDetailedActivity}: every client call, whether or not it succeeded; the
 * DataNode's heartbeats and block reports are left out). Every row starts with no shard open and nothing
 * buffered ({@link ShardCursors#clear}). With {@code --flac}, {@link FlacSeekBench} runs after it in the same
 * process (100 segments of a 1-hour FLAC file, whole-file decode vs seeking). Nothing here is faked: the numbers
 * are whatever this machine does.
 */
public final class ShardsBench {
  /** Shards the packed copy is split into. */
  public static final int SHARDS = 32;

  /** The client RPC methods shown one per column (all others are in the total). */
  private static final String[] OPS = {
    "getBlockLocations",
    "getFileInfo",
    "create",
    "addBlock",
    "complete",
    "rename",
    "getListing",
    "delete"
  };

  /** The DataNode's own calls to the NameNode, not counted. */
  private static final java.util.Set<String> DATANODE_OPS =
      java.util.Set.of(
          "sendHeartbeat",
          "sendLifeline",
          "blockReceivedAndDeleted",
          "blockReport",
          "cacheReport",
          "registerDatanode",
          "versionRequest",
          "errorReport",
          "reportBadBlocks",
          "commitBlockSynchronization");

  /** The rows, each selectable with {@code --rows}. */
  public enum Row {
    READ_FILES("read-files", "read + decode, single files"),
    READ_SHARDS("read-shards", "read + decode, 32 tar shards"),
    FILES("files", "featurize, files -> npy files"),
    SHARDS_NPY("shards-npy", "featurize, shards -> npy files"),
    SHARDS_TAR("shards-tar", "featurize, shards -> tar shards");

    /** The name {@code --rows} takes. */
    public final String key;

    final String label;

    Row(String key, String label) {
      this.key = key;
      this.label = label;
    }

    /** The row named {@code key}. */
    public static Row of(String key) {
      for (Row r : values()) {
        if (r.key.equals(key)) {
          return r;
        }
      }
      throw new IllegalArgumentException(
          "unknown row '" + key + "' (read-files, read-shards, files, shards-npy, shards-tar)");
    }
  }

  private ShardsBench() {}

  /** Runs the benchmark with N utterances and every row, and prints the table to {@code out} (progress to {@code log}). */
  public static void run(int n, PrintStream out, PrintStream log) throws Exception {
    run(n, java.util.EnumSet.allOf(Row.class), out, log);
  }

  /** Runs the benchmark with N utterances and the given rows, and prints the table to {@code out} (progress to {@code log}). */
  public static void run(int n, java.util.Set<Row> which, PrintStream out, PrintStream log)
      throws Exception {
    if (n < SHARDS) {
      throw new IllegalArgumentException(
          "N must be at least " + SHARDS + " (one utterance per shard), got " + n);
    }
    java.nio.file.Path tmp = Files.createTempDirectory("nest-bench-shards");
    Configuration hconf = new Configuration();
    hconf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, tmp.resolve("hdfs").toString());
    MiniDFSCluster cluster = new MiniDFSCluster.Builder(hconf).numDataNodes(1).build();
    Map<Row, String[]> rows = new java.util.EnumMap<>(Row.class);
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
        NestConfig tarCfg = cfg.with(Map.of("featurize.tarred_audio_filepaths", shards));
        for (Row row : which) {
          log.printf(Locale.ROOT, "[bench shards] %s ...%n", row.label);
          Work w;
          switch (row) {
            case READ_FILES:
              w = () -> readAll(sc, plain, cfg, sc.defaultParallelism() * 4);
              break;
            case READ_SHARDS:
              w = () -> readAll(sc, tarred, cfg, SHARDS);
              break;
            case FILES:
              w =
                  () ->
                      check(
                          FeaturizeJob.run(
                              sc, cfg, List.of(plainManifest), base + "/out/files", log),
                          n);
              break;
            case SHARDS_NPY:
              w =
                  () ->
                      check(
                          FeaturizeJob.run(
                              sc, tarCfg, List.of(tarManifest), base + "/out/shards-npy", log),
                          n);
              break;
            default:
              w =
                  () ->
                      check(
                          FeaturizeJob.run(
                              sc,
                              tarCfg.with(Map.of("featurize.format", "tar")),
                              List.of(tarManifest),
                              base + "/out/shards-tar",
                              log),
                          n);
          }
          rows.put(row, measure(cluster, row.label, n, w, log));
          log.println("[bench shards] " + String.join(" ", rows.get(row)));
        }
      }
      out.printf(
          Locale.ROOT,
          "%d one-second utterances on MiniDFSCluster (1 DataNode), Spark local[*] with %d cores%n",
          n,
          Runtime.getRuntime().availableProcessors());
      String fmt = "%-34s %8s %12s %9s" + " %8s".repeat(OPS.length) + "%n";
      Object[] head = new Object[4 + OPS.length];
      head[0] = "";
      head[1] = "wall s";
      head[2] = "utterances/s";
      head[3] = "NN RPCs";
      for (int i = 0; i < OPS.length; i++) {
        head[4 + i] = OPS[i].length() > 8 ? OPS[i].substring(0, 8) : OPS[i];
      }
      out.printf(Locale.ROOT, fmt, head);
      for (String[] r : rows.values()) {
        out.printf(Locale.ROOT, fmt, (Object[]) r);
      }
      ratio(out, rows, Row.READ_SHARDS, Row.READ_FILES, "read + decode");
      ratio(out, rows, Row.SHARDS_NPY, Row.FILES, "featurize, shards -> npy files vs files");
      ratio(
          out,
          rows,
          Row.SHARDS_TAR,
          Row.FILES,
          "featurize, shards -> tar shards vs files -> npy files (goal: 5x at N=20000)");
    } finally {
      cluster.shutdown();
      ShardCursors.clear();
      deleteTree(tmp);
    }
  }

  private interface Work {
    void run() throws Exception;
  }

  private static void ratio(PrintStream out, Map<Row, String[]> rows, Row a, Row b, String what) {
    if (rows.containsKey(a) && rows.containsKey(b)) {
      out.printf(
          Locale.ROOT,
          "%s: %.2fx the utterances/s, %.4fx the NameNode RPCs%n",
          what,
          Double.parseDouble(rows.get(a)[2]) / Double.parseDouble(rows.get(b)[2]),
          Double.parseDouble(rows.get(a)[3]) / Math.max(1, Double.parseDouble(rows.get(b)[3])));
    }
  }

  private static String[] measure(
      MiniDFSCluster cluster, String name, int n, Work w, PrintStream log) throws Exception {
    ShardCursors.clear();
    Map<String, Long> before = nameNodeCalls(cluster);
    long t0 = System.nanoTime();
    w.run();
    double s = (System.nanoTime() - t0) / 1e9;
    Map<String, Long> after = nameNodeCalls(cluster);
    String[] row = new String[4 + OPS.length];
    row[0] = name;
    row[1] = String.format(Locale.ROOT, "%.1f", s);
    row[2] = String.format(Locale.ROOT, "%.1f", n / s);
    long total = 0;
    StringBuilder others = new StringBuilder();
    java.util.Set<String> shown = java.util.Set.of(OPS);
    for (Map.Entry<String, Long> e : after.entrySet()) {
      long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
      if (!DATANODE_OPS.contains(e.getKey())) {
        total += d;
        if (d > 0 && !shown.contains(e.getKey())) {
          others.append(' ').append(e.getKey()).append('=').append(d);
        }
      }
    }
    log.println("[bench shards] " + name + ": NameNode RPCs not in the columns:" + others);
    for (int i = 0; i < OPS.length; i++) {
      row[4 + i] = Long.toString(after.getOrDefault(OPS[i], 0L) - before.getOrDefault(OPS[i], 0L));
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
   * Calls to the NameNode's client RPC server so far, by method ({@code RpcDetailedActivity}'s {@code <method>NumOps},
   * read from the server's metrics object directly, since its JMX view is a cache refreshed only every 10 s).
   */
  static Map<String, Long> nameNodeCalls(MiniDFSCluster cluster) throws Exception {
    org.apache.hadoop.hdfs.server.namenode.NameNodeRpcServer rpc =
        (org.apache.hadoop.hdfs.server.namenode.NameNodeRpcServer)
            cluster.getNameNode().getRpcServer();
    org.apache.hadoop.ipc.metrics.RpcDetailedMetrics detailed =
        rpc.getClientRpcServer().getRpcDetailedMetrics();
    java.lang.reflect.Field f = detailed.getClass().getDeclaredField("rates");
    f.setAccessible(true);
    Counters c = new Counters();
    ((org.apache.hadoop.metrics2.lib.MutableRatesWithAggregation) f.get(detailed))
        .snapshot(c, true);
    return c.calls;
  }

  /** Collects the {@code <method>NumOps} counters of a metrics snapshot. */
  private static final class Counters extends org.apache.hadoop.metrics2.MetricsRecordBuilder {
    final Map<String, Long> calls = new java.util.TreeMap<>();

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addCounter(
        org.apache.hadoop.metrics2.MetricsInfo info, long value) {
      String name = info.name();
      if (name.endsWith("NumOps")) {
        String m = name.substring(0, name.length() - "NumOps".length());
        calls.merge(Character.toLowerCase(m.charAt(0)) + m.substring(1), value, Long::sum);
      }
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addCounter(
        org.apache.hadoop.metrics2.MetricsInfo info, int value) {
      return addCounter(info, (long) value);
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder tag(
        org.apache.hadoop.metrics2.MetricsInfo info, String value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder add(
        org.apache.hadoop.metrics2.MetricsTag tag) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder add(
        org.apache.hadoop.metrics2.AbstractMetric metric) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder setContext(String value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addGauge(
        org.apache.hadoop.metrics2.MetricsInfo info, int value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addGauge(
        org.apache.hadoop.metrics2.MetricsInfo info, long value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addGauge(
        org.apache.hadoop.metrics2.MetricsInfo info, float value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsRecordBuilder addGauge(
        org.apache.hadoop.metrics2.MetricsInfo info, double value) {
      return this;
    }

    @Override
    public org.apache.hadoop.metrics2.MetricsCollector parent() {
      return null;
    }
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
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(32);
    List<java.util.concurrent.Future<?>> writes = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String name = String.format(Locale.ROOT, "u_%06d.wav", i);
      audio[i] = wav(16000, rnd);
      byte[] bytes = audio[i];
      writes.add(
          pool.submit(
              () -> {
                try (OutputStream os = hdfs.create(new Path("/bench/wav/" + name))) {
                  os.write(bytes);
                }
                return null;
              }));
      manifest
          .append("{\"audio_filepath\": \"wav/")
          .append(name)
          .append("\", \"duration\": 1.0}\n");
      perShard.get(i % SHARDS).add(i);
    }
    try {
      for (java.util.concurrent.Future<?> f : writes) {
        f.get();
      }
    } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
      throw new IOException("writing the single files: " + e, e);
    } finally {
      pool.shutdown();
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
