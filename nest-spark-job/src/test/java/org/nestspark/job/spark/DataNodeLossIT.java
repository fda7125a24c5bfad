package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.extract.ExtractJob;
import org.nestspark.job.extract.ExtractReport;
import org.nestspark.job.featurize.FeaturizeJob;
import org.nestspark.job.featurize.FeaturizeReport;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;
import org.nestspark.testkit.Golden;
import org.nestspark.testkit.MiniHdfs;

/**
 * featurize and extract while HDFS loses a DataNode (issue 16 item 3): a MiniDFSCluster of 3 DataNodes with
 * replication 2 holds the audio and the outputs; after the job's first tasks have finished (a Spark
 * {@code onTaskEnd}, not a timer) one DataNode is stopped while the rest of the tasks read and write. The job
 * finishes with every output complete and each utterance exactly once: features.json has one line per readable
 * input line, every .npy listed parses with its shape, no temporary file or part is left.
 */
class DataNodeLossIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MISSING = 4;

  /** A cluster for each test: each stops one of its DataNodes. */
  @RegisterExtension final MiniHdfs miniHdfs = new MiniHdfs(3).replication(2).perTest();

  @TempDir Path tmp;
  private MiniDFSCluster cluster;
  private FileSystem hdfs;
  private String base;

  @BeforeEach
  void hdfs() throws Exception {
    cluster = miniHdfs.cluster();
    hdfs = miniHdfs.fs();
    base = miniHdfs.uri();
  }

  /** Finished tasks, and how many finished after the DataNode was stopped. */
  private static final class StopDataNodeAfterFirstTasks extends SparkListener {
    final AtomicInteger ok = new AtomicInteger();
    final AtomicLong stoppedAtNanos = new AtomicLong(Long.MAX_VALUE);
    final AtomicInteger endedAfterStop = new AtomicInteger();
    final int after;
    final Runnable stop;
    volatile CompletableFuture<Void> stopping;

    StopDataNodeAfterFirstTasks(int after, Runnable stop) {
      this.after = after;
      this.stop = stop;
    }

    @Override
    public void onTaskEnd(SparkListenerTaskEnd e) {
      if (System.nanoTime() > stoppedAtNanos.get()) {
        endedAfterStop.incrementAndGet();
      }
      if (e.taskInfo().successful() && ok.incrementAndGet() == after) {
        // off the listener thread: a DataNode shutdown takes a moment
        stopping =
            CompletableFuture.runAsync(
                () -> {
                  stop.run();
                  stoppedAtNanos.set(System.nanoTime());
                });
      }
    }
  }

  /**
   * A manifest of {@code good} one-second utterances on HDFS (8 WAV files, each listed {@code good / 8} times:
   * outputs {@code _corpus_wav_uK_wav.npy}, {@code ..._wav__2.npy}, ...), with {@link #MISSING} missing files.
   */
  private String corpus(int good) throws Exception {
    byte[] wav;
    try (InputStream in = Golden.open("features/wav/speech_1s.wav")) {
      wav = in.readAllBytes();
    }
    for (int k = 0; k < 8; k++) {
      try (OutputStream out =
          hdfs.create(new org.apache.hadoop.fs.Path("/corpus/wav/u" + k + ".wav"))) {
        out.write(wav);
      }
    }
    StringBuilder m = new StringBuilder();
    for (int i = 0; i < good; i++) {
      m.append("{\"audio_filepath\": \"wav/u")
          .append(i % 8)
          .append(".wav\", \"duration\": 1.0, \"n\": ")
          .append(i)
          .append("}\n");
      if (i % (good / MISSING) == 0) {
        m.append("{\"audio_filepath\": \"wav/missing")
            .append(i)
            .append(".wav\", \"duration\": 1.0}\n");
      }
    }
    try (OutputStream out = hdfs.create(new org.apache.hadoop.fs.Path("/corpus/manifest.json"))) {
      out.write(m.toString().getBytes(StandardCharsets.UTF_8));
    }
    return base + "/corpus/manifest.json";
  }

  private StopDataNodeAfterFirstTasks stopper(JavaSparkContext sc) {
    StopDataNodeAfterFirstTasks l =
        new StopDataNodeAfterFirstTasks(2, () -> cluster.stopDataNode(1));
    sc.sc().addSparkListener(l);
    return l;
  }

  /** The output folder holds features.json, .npy files and nothing half-written; returns features.json's lines. */
  private List<JsonNode> checkOutput(String dir, int good, int[] shapeHead) throws Exception {
    List<JsonNode> lines = new ArrayList<>();
    try (InputStream in = hdfs.open(new org.apache.hadoop.fs.Path(dir, "features.json"))) {
      for (String l : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        lines.add(JSON.readTree(l));
      }
    }
    List<Integer> order = new ArrayList<>();
    Set<String> listed = new HashSet<>();
    for (JsonNode l : lines) {
      order.add(l.get("n").asInt());
      listed.add(new org.apache.hadoop.fs.Path(l.get("feature_path").asText()).getName());
    }
    assertEquals(
        java.util.stream.IntStream.range(0, good).boxed().toList(),
        order,
        "each utterance exactly once, in manifest order");
    int npy = 0;
    RemoteIterator<LocatedFileStatus> it = hdfs.listFiles(new org.apache.hadoop.fs.Path(dir), true);
    while (it.hasNext()) {
      LocatedFileStatus f = it.next();
      String name = f.getPath().getName();
      assertTrue(
          !name.startsWith(".") && !f.getPath().toString().contains(ManifestParts.DIR),
          "left behind: " + f.getPath());
      if (name.endsWith(".npy")) {
        npy++;
        assertTrue(listed.contains(name), "an output features.json does not list: " + name);
        try (InputStream in = hdfs.open(f.getPath())) {
          NpyArray a = Npy.read(in);
          for (int d = 0; d < shapeHead.length; d++) {
            assertEquals(shapeHead[d], a.dim(d), name);
          }
          assertTrue(a.floatData().length > 0, name);
        }
      } else {
        assertTrue(
            name.equals("features.json") || name.equals("skipped.txt"),
            "unexpected output " + f.getPath());
      }
    }
    assertEquals(good, npy);
    return lines;
  }

  @Test
  void featurizeFinishesCompleteWhenADataNodeStops() throws Exception {
    String manifest = corpus(96);
    NestConfig c =
        NestConfig.load(
            List.of(),
            List.of(
                "spark.master=local[2]",
                "featurize.num_partitions=12",
                "featurize.progress_interval_seconds=0"),
            new Configuration(false));
    try (JavaSparkContext sc = SparkContexts.create(c, "featurize-datanode-loss")) {
      sc.hadoopConfiguration().addResource(cluster.getConfiguration(0));
      StopDataNodeAfterFirstTasks stopper = stopper(sc);
      FeaturizeReport r =
          FeaturizeJob.run(
              sc,
              c,
              List.of(manifest),
              base + "/features",
              new PrintStream(new ByteArrayOutputStream()));
      stopper.stopping.get();
      System.out.println(
          "DataNodeLossIT: "
              + stopper.endedAfterStop.get()
              + " task(s) ended after the DataNode stopped");
      assertTrue(
          stopper.endedAfterStop.get() >= 4,
          "tasks ran after the DataNode stopped: " + stopper.endedAfterStop.get() + " of 12");
      assertEquals(96, r.featurized());
      assertEquals(MISSING, r.skippedCount);
      checkOutput("/features", 96, new int[] {80, 100});
    }
  }

  @Test
  void extractFinishesCompleteWhenADataNodeStops() throws Exception {
    String manifest = corpus(32);
    Path model = tmp.resolve("tiny.nemo");
    try (InputStream in = Golden.open("nemo/tiny_gz.nemo")) {
      java.nio.file.Files.copy(in, model);
    }
    NemoImport.Imported m =
        Restore.load(
            model.toString(),
            new Configuration(),
            List.of(),
            List.of(
                "spark.master=local[2]",
                "extract.batch_size=4",
                "extract.num_partitions=8",
                "extract.progress_interval_seconds=0"));
    try (JavaSparkContext sc = SparkContexts.create(m.config(), "extract-datanode-loss")) {
      sc.hadoopConfiguration().addResource(cluster.getConfiguration(0));
      StopDataNodeAfterFirstTasks stopper = stopper(sc);
      ExtractReport r =
          ExtractJob.run(
              sc,
              m,
              manifest,
              base + "/extract",
              "all",
              new PrintStream(new ByteArrayOutputStream()));
      stopper.stopping.get();
      System.out.println(
          "DataNodeLossIT: "
              + stopper.endedAfterStop.get()
              + " task(s) ended after the DataNode stopped");
      assertTrue(
          stopper.endedAfterStop.get() >= 4,
          "tasks ran after the DataNode stopped: " + stopper.endedAfterStop.get() + " of 8");
      assertEquals(32, r.extracted());
      assertEquals(MISSING, r.skippedCount);
      checkOutput("/extract", 32, new int[] {2, 64});
    }
  }
}
