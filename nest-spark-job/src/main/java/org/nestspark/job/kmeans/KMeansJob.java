package org.nestspark.job.kmeans;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.HashPartitioner;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaPairRDD;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.mllib.clustering.KMeans;
import org.apache.spark.mllib.clustering.KMeansModel;
import org.apache.spark.mllib.linalg.Vector;
import org.apache.spark.mllib.linalg.Vectors;
import org.apache.spark.storage.StorageLevel;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.batch.BatchPlanner;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.extract.FrameFeatures;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.job.featurize.FeatureFileNames;
import org.nestspark.job.spark.JobProgress;
import org.nestspark.job.spark.ManifestParts;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.labels.Centroids;
import org.nestspark.labels.LabelFiles;
import org.nestspark.labels.LabelFrames;
import org.nestspark.labels.LabelTargets;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.restore.NemoImport;
import scala.Tuple2;

/**
 * {@code nest kmeans}: HuBERT-style k-means pseudo-labels (ESPnet's hubert1 / fairseq's simple_kmeans recipe)
 * with Spark MLlib's distributed {@link KMeans} (k-means|| initialisation, seeded), for training with
 * {@code model.targets = labels}.
 *
 * <p><b>Features</b> ({@code kmeans.features}, {@link FrameFeatures}): {@code mfcc} (iteration 0: Kaldi MFCC +
 * Δ + ΔΔ, 39 dims), {@code logmel} (the model's normalised log-mel) or {@code layer} (ConformerLayer
 * {@code kmeans.layer} of a trained model, eval mode, through {@link LayerExtractor} as {@code nest extract}).
 * Audio is loaded as training loads it (offset/duration, mono, model rate) and padded to
 * {@code model.train_ds.min_audio_len_secs} as training pads it, so the label count is the encoder's frame
 * count of the training batch.
 *
 * <p><b>Fit</b>: executors decode and featurize; each frame joins the fit with probability
 * {@code kmeans.sample_fraction}, drawn from (seed, manifest position, frame), so the sample does not depend on
 * partitioning; the sample is laid out by frame key into {@code kmeans.fit_partitions} sorted partitions (MLlib's
 * k-means|| samples per partition: this makes the fit independent of the job's partitioning), cached (memory,
 * then disk), and MLlib fits k centroids, which are then ordered lexicographically ({@link Centroids#canonical}). Written: {@code DIR/centroids.npy} (float64 {@code [k, D]})
 * and {@code DIR/kmeans.json} (settings, fingerprint, sample size, cost). A rerun with the same settings keeps
 * the fit; {@code kmeans.centroids} labels with an earlier fit instead (the validation manifest).
 *
 * <p><b>Labels</b>: executors featurize again (features are recomputed rather than stored: 39 floats per 10 ms
 * frame of a large corpus are more than the audio) and write one int64 {@code .npy} per utterance to
 * {@code DIR/labels/} (names as {@code nest extract}'s), one label per encoder frame ({@link LabelFrames}:
 * the source frame at the encoder frame's centre). A complete label file of the same fit is kept on reruns.
 * The driver receives only counts and the first skips; each task writes its part of the labels manifest
 * ({@link ManifestParts}, merged by the driver in bounded memory). Formerly: the driver collected each utterance's outcome and wrote
 * {@code DIR/labels_manifest.json}: each input entry plus {@code label_filepath}, its {@code audio_filepath} resolved
 * (absolute, or the URI) since the manifest lives in another folder. A bad line or audio file is
 * skipped and reported with its manifest line and reason.
 */
public final class KMeansJob {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  /** The labels manifest's file name. */
  public static final String LABELS_MANIFEST = "labels_manifest.json";

  /** The skipped utterances and their reasons, one per line (only when some were skipped). */
  public static final String SKIPPED_TXT = "skipped.txt";

  /** Where the tasks write their parts of the labels manifest before the driver merges them. */
  static final String PARTS_DIR = "_labels_manifest.json.parts";

  /** The centroids' file name. */
  public static final String CENTROIDS = "centroids.npy";

  private KMeansJob() {}

  /**
   * Runs the job.
   *
   * @param config the configuration ({@code kmeans.*}, {@code model.*}, {@code data.*}); with a model, the model's
   * @param model the model for {@code kmeans.features = layer}, else null
   * @param manifest the input manifest (any Hadoop path)
   * @param outDir the output folder
   * @throws IllegalArgumentException inconsistent settings (layer without a model, a layer that does not exist,
   *     fewer sampled frames than k)
   * @throws ManifestException the manifest cannot be read, or has malformed lines and on_error=fail
   * @throws IOException the output cannot be written, or kmeans.centroids cannot be read
   */
  public static KMeansReport run(
      JavaSparkContext sc,
      NestConfig config,
      NemoImport.Imported model,
      String manifest,
      String outDir,
      PrintStream log)
      throws ManifestException, IOException {
    long t0 = System.nanoTime();
    Configuration hadoopConf = sc.hadoopConfiguration();
    String features = config.getString("kmeans.features");
    int layer = -1;
    if (features.equals("layer")) {
      if (model == null) {
        throw new IllegalArgumentException(
            "kmeans.features = layer needs --model (a .nemo or a checkpoint)");
      }
      int n = NestGraph.numLayers(model.graph());
      layer = config.getInt("kmeans.layer") < 0 ? n - 1 : config.getInt("kmeans.layer");
      if (layer >= n) {
        throw new IllegalArgumentException(
            "--layer " + layer + ": the model has " + n + " layers (0.." + (n - 1) + ")");
      }
    }
    ManifestReadResult read = ManifestReader.unfiltered(hadoopConf).read(List.of(manifest));
    if ("fail".equals(config.getString("data.on_error")) && !read.problems().isEmpty()) {
      throw new ManifestException(
          read.problems().size()
              + " malformed manifest line(s) and data.on_error=fail; first: "
              + read.problems().get(0));
    }
    Path out = NestPaths.fromUserString(outDir);
    FileSystem fs = out.getFileSystem(hadoopConf);
    if (fs.exists(out) && !fs.getFileStatus(out).isDirectory()) {
      throw new IOException(outDir + ": exists and is not a directory");
    }
    fs.mkdirs(out);
    Path labelsDir = new Path(out, "labels");

    // the work: batches of similar durations (encoder batches for layer features)
    List<ManifestEntry> entries = read.entries();
    int n = entries.size();
    double[] durations = new double[n];
    for (int i = 0; i < n; i++) {
      Double d = entries.get(i).duration();
      durations[i] = d == null ? 0 : d;
    }
    int batchSize = features.equals("layer") ? config.getInt("kmeans.batch_size") : 1;
    List<int[]> plan =
        n == 0
            ? List.of()
            : new BatchPlanner(
                    batchSize, false, false, Math.max(1, (n + batchSize - 1) / batchSize), 0L)
                .plan(durations, 0);
    FeatureFileNames names = new FeatureFileNames();
    String[] targets = new String[n];
    for (int i = 0; i < n; i++) {
      targets[i] = new Path(labelsDir, names.next(entries.get(i))).toUri().toString();
    }
    List<Batch> batches = new ArrayList<>(plan.size());
    for (int[] idx : plan) {
      List<ManifestEntry> es = new ArrayList<>();
      List<String> ts = new ArrayList<>();
      for (int i : idx) {
        es.add(entries.get(i));
        ts.add(targets[i]);
      }
      batches.add(new Batch(es, ts));
    }
    int partitions = config.getInt("kmeans.num_partitions");
    if (partitions == 0) {
      partitions = Math.max(1, Math.min(Math.max(1, batches.size()), sc.defaultParallelism() * 2));
    }
    Payload payload =
        new Payload(
            UUID.randomUUID().toString(),
            config,
            features,
            layer,
            model == null
                ? null
                : model.graph().params().castTo(DataType.FLOAT).dup('c').data().asFloat());
    String fingerprint = fingerprint(config, features, layer, payload.params, read.sha256());
    Broadcast<Payload> bc = sc.broadcast(payload);
    SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);

    // ------------------------------------------------------------------ the fit
    Path centroidsPath = new Path(out, CENTROIDS);
    Path summaryPath = new Path(out, LabelTargets.SUMMARY);
    Centroids centroids;
    String fit;
    long sampled = 0;
    double cost = Double.NaN;
    boolean overwrite = config.getBoolean("kmeans.overwrite");
    ObjectNode summary = JSON.createObjectNode();
    if (config.isSet("kmeans.centroids")) {
      Path given = NestPaths.fromUserString(config.getString("kmeans.centroids"));
      try (InputStream in = given.getFileSystem(hadoopConf).open(given)) {
        centroids = Centroids.read(in, NestPaths.display(given));
      }
      int want = featureDim(config, features, model);
      if (centroids.dim() != want) {
        throw new IllegalArgumentException(
            "kmeans.centroids "
                + NestPaths.display(given)
                + " holds "
                + centroids.dim()
                + "-dim centroids; "
                + features
                + " features have "
                + want
                + " dims");
      }
      fit = "given";
      summary.put("centroids_from", NestPaths.display(given));
      fingerprint = fingerprint + ":" + sha256Of(centroids);
      if (overwrite || keptFit(fs, summaryPath, centroidsPath, fingerprint) == null) {
        removeLabels(fs, labelsDir, log); // label files of other centroids
      }
    } else {
      centroids = overwrite ? null : keptFit(fs, summaryPath, centroidsPath, fingerprint);
      fit = "kept";
    }
    if (centroids == null) {
      removeLabels(fs, labelsDir, log);
      fs.delete(summaryPath, false);
      int k = config.getInt("kmeans.num_clusters");
      double fraction = config.getDouble("kmeans.sample_fraction");
      long seed = config.getLong("kmeans.seed");
      sc.setJobDescription(
          "kmeans: "
              + features
              + " features of "
              + n
              + " utterances, frames sampled with p="
              + fraction);
      JavaPairRDD<Long, Vector> frames =
          sc.parallelize(batches, partitions)
              .mapPartitionsToPair(it -> samplePartition(it, bc.value(), conf, fraction, seed));
      JavaRDD<Vector> sample =
          canonicalPartitions(frames, config.getInt("kmeans.fit_partitions"))
              .persist(StorageLevel.MEMORY_AND_DISK());
      sampled = sample.count();
      if (sampled < k) {
        sample.unpersist(false);
        throw new IllegalArgumentException(
            "kmeans: "
                + sampled
                + " frames sampled, fewer than k = "
                + k
                + " (raise kmeans.sample_fraction or lower kmeans.num_clusters)");
      }
      sc.setJobDescription(
          "kmeans: MLlib KMeans k=" + k + " on " + sampled + " frames (k-means||)");
      Fit f = fit(sample, config);
      sample.unpersist(false);
      cost = f.cost();
      centroids = f.centroids();
      if (centroids.k() < k) {
        log.println(
            "kmeans: MLlib returned "
                + centroids.k()
                + " centroids for k = "
                + k
                + " (fewer distinct frames than k)");
      }
      Centroids c = centroids;
      AtomicFiles.write(fs, centroidsPath, c::write);
      fit = "fitted";
      summary.put("sampled_frames", sampled);
      summary.put("cost", cost);
    } else if (fit.equals("given")) {
      Centroids c = centroids;
      AtomicFiles.write(fs, centroidsPath, c::write);
    }
    if (!fit.equals("kept")) {
      summary.put("fingerprint", fingerprint);
      summary.put("num_clusters", centroids.k());
      summary.put("dim", centroids.dim());
      summary.put("features", features);
      if (layer >= 0) {
        summary.put("layer", layer);
      }
      summary.put("manifest", manifest);
      summary.put("sample_fraction", config.getDouble("kmeans.sample_fraction"));
      summary.put("seed", config.getLong("kmeans.seed"));
      summary.put("centroids", CENTROIDS);
      byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(summary);
      AtomicFiles.write(fs, summaryPath, os -> os.write(bytes));
    }

    // ------------------------------------------------------------------ the labels
    Path parts = new Path(out, PARTS_DIR);
    ManifestParts.clear(fs, parts);
    String partsUri = parts.toUri().toString();
    PartSummary sum = new PartSummary();
    int numParts = 0;
    if (!batches.isEmpty()) {
      Broadcast<Centroids> bcC = sc.broadcast(centroids);
      sc.setJobDescription("kmeans: labels of " + n + " utterances (k=" + centroids.k() + ")");
      try (JobProgress progress =
          JobProgress.start(
              sc,
              "kmeans",
              "utterances",
              n,
              config.getInt("kmeans.progress_interval_seconds"),
              log)) {
        LongAccumulator done = progress.done();
        DoubleAccumulator audio = progress.audioSeconds();
        JavaRDD<Batch> rdd = sc.parallelize(batches, partitions);
        numParts = rdd.getNumPartitions();
        sum =
            rdd.mapPartitions(
                    it -> labelPartition(it, bc.value(), bcC.value(), conf, partsUri, done, audio))
                .reduce(PartSummary::merge);
      }
      bcC.destroy();
    }
    sc.setJobDescription(null);
    bc.destroy();
    Path manifestOut = new Path(out, LABELS_MANIFEST);
    Path skippedTxt = new Path(out, SKIPPED_TXT);
    ManifestParts.merge(fs, parts, numParts, manifestOut, skippedTxt, sum.skipped > 0);
    return new KMeansReport(
        fit,
        centroids.k(),
        centroids.dim(),
        sampled,
        cost,
        (int) sum.written,
        (int) sum.existing,
        sum.skipped,
        sum.examples(),
        sum.skipped > 0 ? NestPaths.display(skippedTxt) : null,
        read.problems(),
        sum.audioSeconds,
        (System.nanoTime() - t0) / 1e9,
        NestPaths.display(manifestOut),
        NestPaths.display(centroidsPath));
  }

  /**
   * The sample in a layout that depends on the frames only: hashed by (utterance, frame) key into
   * {@code fitPartitions} partitions, each sorted by key. MLlib's k-means|| draws its candidates per partition
   * (a random stream per partition index), so without this the fit would change with the job's partitioning.
   */
  public static JavaRDD<Vector> canonicalPartitions(
      JavaPairRDD<Long, Vector> frames, int fitPartitions) {
    return frames.repartitionAndSortWithinPartitions(new HashPartitioner(fitPartitions)).values();
  }

  /** A fit: the centroids in canonical order and MLlib's training cost (sum of squared distances). */
  public record Fit(Centroids centroids, double cost) {}

  /**
   * Spark MLlib's {@link KMeans} on {@code frames}: k = {@code kmeans.num_clusters}, k-means|| initialisation with
   * {@code kmeans.init_steps} rounds, at most {@code kmeans.max_iter} Lloyd iterations, {@code kmeans.tol},
   * {@code kmeans.seed}; the centroids ordered lexicographically ({@link Centroids#canonical}).
   */
  public static Fit fit(JavaRDD<Vector> frames, NestConfig config) {
    KMeansModel m =
        new KMeans()
            .setK(config.getInt("kmeans.num_clusters"))
            .setMaxIterations(config.getInt("kmeans.max_iter"))
            .setInitializationMode(KMeans.K_MEANS_PARALLEL())
            .setInitializationSteps(config.getInt("kmeans.init_steps"))
            .setEpsilon(config.getDouble("kmeans.tol"))
            .setSeed(config.getLong("kmeans.seed"))
            .run(frames.rdd());
    Vector[] cs = m.clusterCenters();
    double[][] raw = new double[cs.length][];
    for (int i = 0; i < cs.length; i++) {
      raw[i] = cs[i].toArray();
    }
    return new Fit(Centroids.canonical(raw), m.trainingCost());
  }

  /** The settings that decide the fit, hashed: a rerun with the same fingerprint keeps the fit. */
  static String fingerprint(
      NestConfig c, String features, int layer, float[] params, Map<String, String> manifestSha) {
    StringBuilder sb = new StringBuilder();
    for (String key :
        List.of(
            "kmeans.num_clusters",
            "kmeans.max_iter",
            "kmeans.init_steps",
            "kmeans.tol",
            "kmeans.seed",
            "kmeans.sample_fraction",
            "model.train_ds.min_audio_len_secs",
            "model.train_ds.pad_audio_mode",
            "model.sample_rate",
            "data.downmix",
            "data.resample")) {
      sb.append(key).append('=').append(c.config().getValue(key).render()).append('\n');
    }
    sb.append("features=").append(features).append("\nlayer=").append(layer).append('\n');
    if (features.equals("logmel") || features.equals("layer")) {
      sb.append("preprocessor=")
          .append(c.config().getValue("model.preprocessor").render())
          .append('\n');
    }
    if (params != null) {
      sb.append("params=")
          .append(java.util.Arrays.hashCode(params))
          .append('/')
          .append(params.length)
          .append('\n');
    }
    sb.append("manifest=").append(new java.util.TreeMap<>(manifestSha)).append('\n');
    return sha256(sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static String sha256Of(Centroids c) throws IOException {
    java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
    c.write(b);
    return sha256(b.toByteArray());
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Deletes the label files of an earlier run whose centroids were others. */
  private static void removeLabels(FileSystem fs, Path labelsDir, PrintStream log)
      throws IOException {
    if (fs.exists(labelsDir)) {
      log.println(
          "kmeans: new centroids: removing the label files of the earlier ones ("
              + NestPaths.display(labelsDir)
              + ")");
      fs.delete(labelsDir, true);
    }
  }

  /** The dimension of a frame: 39 (MFCC), the preprocessor's features (log-mel) or d_model (a layer). */
  static int featureDim(NestConfig c, String features, NemoImport.Imported model) {
    switch (features) {
      case "mfcc":
        return org.nestspark.features.KaldiMfcc.DIM;
      case "logmel":
        return c.getInt("model.preprocessor.features");
      default:
        return model.config().getInt("model.encoder.d_model");
    }
  }

  /** The centroids of an earlier run with the same fingerprint, or null. */
  private static Centroids keptFit(
      FileSystem fs, Path summaryPath, Path centroidsPath, String fingerprint) {
    try {
      if (!fs.exists(summaryPath) || !fs.exists(centroidsPath)) {
        return null;
      }
      com.fasterxml.jackson.databind.JsonNode s;
      try (InputStream in = fs.open(summaryPath)) {
        s = JSON.readTree(in);
      }
      if (s == null || !fingerprint.equals(s.path("fingerprint").asText())) {
        return null;
      }
      try (InputStream in = fs.open(centroidsPath)) {
        Centroids c = Centroids.read(in, NestPaths.display(centroidsPath));
        return c.k() == s.path("num_clusters").asInt() ? c : null;
      }
    } catch (IOException | RuntimeException damaged) {
      return null; // fit again
    }
  }

  // ------------------------------------------------------------------ executors

  /** A batch of utterances and their label files. */
  record Batch(List<ManifestEntry> entries, List<String> targets) implements Serializable {}

  /** What executors need: the configuration, the feature kind and, for layer features, the model's parameters. */
  record Payload(String id, NestConfig config, String features, int layer, float[] params)
      implements Serializable {}

  /** Feature computers built in this JVM, per broadcast payload (layer extractors are not thread-safe: one per task at a time). */
  private static final Map<String, ConcurrentLinkedQueue<FrameFeatures>> POOL =
      new ConcurrentHashMap<>();

  private static FrameFeatures borrow(Payload p) {
    FrameFeatures f = POOL.computeIfAbsent(p.id(), k -> new ConcurrentLinkedQueue<>()).poll();
    if (f != null) {
      return f;
    }
    switch (p.features()) {
      case "mfcc":
        return FrameFeatures.mfcc(p.config().getInt("model.sample_rate"));
      case "logmel":
        return FrameFeatures.logmel(new FilterbankFeatures(p.config().settings().preprocessor()));
      default:
        ComputationGraph g = NestGraph.build(p.config().settings());
        g.setParams(Nd4j.create(p.params(), new long[] {1, p.params().length}, 'c'));
        return FrameFeatures.layer(
            new LayerExtractor(
                g,
                new FilterbankFeatures(p.config().settings().preprocessor()),
                new int[] {p.layer()}));
    }
  }

  /** The utterances of a batch that load, as training loads and pads them, and the skipped ones. */
  static final class Loaded {
    final List<Integer> index = new ArrayList<>();
    final List<float[]> audio = new ArrayList<>();
    final List<LabelOutcome> skipped = new ArrayList<>();
  }

  static Loaded load(
      Batch b, Payload p, Configuration conf, LabelFrames frames, LabelFrames.Source source) {
    UtteranceLoader loader = UtteranceLoader.of(p.config().settings());
    MinLengthPadding padding = MinLengthPadding.of(p.config().settings().dataset("model.train_ds"));
    Loaded l = new Loaded();
    for (int i = 0; i < b.entries().size(); i++) {
      ManifestEntry e = b.entries().get(i);
      String where = e.whereAndAudio();
      try {
        AudioSegment seg = loader.load(e, conf);
        float[] a = padding.apply(seg.samples());
        for (float v : a) {
          if (!Float.isFinite(v)) {
            throw new AudioException(
                NestPaths.display(e.audioPath()), "samples are not finite (NaN or infinity)");
          }
        }
        if (frames.encoderFrames(a.length) == 0) {
          throw new AudioException(
              NestPaths.display(e.audioPath()),
              "too short: " + a.length + " samples give no encoder frame");
        }
        if (frames.sourceFrames(source, a.length) == 0) {
          throw new AudioException(
              NestPaths.display(e.audioPath()),
              "too short for a 25 ms MFCC frame: " + a.length + " samples (at least 400)");
        }
        l.index.add(i);
        l.audio.add(a);
      } catch (AudioException ex) {
        l.skipped.add(LabelOutcome.skipped(e.id(), where, e.json(), ex.getMessage()));
      } catch (RuntimeException ex) {
        l.skipped.add(
            LabelOutcome.skipped(
                e.id(),
                where,
                e.json(),
                "unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage()));
      }
    }
    return l;
  }

  /** The sampled frames of a partition's utterances, keyed by (manifest position, frame): {@code id · 2^24 + frame}. */
  private static Iterator<Tuple2<Long, Vector>> samplePartition(
      Iterator<Batch> it, Payload p, SerializableHadoopConf conf, double fraction, long seed) {
    FrameFeatures f = borrow(p);
    Configuration hadoopConf = conf.get();
    LabelFrames frames = LabelFrames.of(p.config().settings());
    List<Tuple2<Long, Vector>> out = new ArrayList<>();
    try {
      while (it.hasNext()) {
        Batch b = it.next();
        Loaded l = load(b, p, hadoopConf, frames, f.source());
        if (l.audio.isEmpty()) {
          continue;
        }
        List<FrameFeatures.Frames> fs = f.compute(l.audio);
        for (int u = 0; u < fs.size(); u++) {
          FrameFeatures.Frames x = fs.get(u);
          // one stream per utterance, one draw per frame: the sample does not depend on batches or
          // partitions
          long id = b.entries().get(l.index.get(u)).id();
          SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + id);
          for (int t = 0; t < x.frames(); t++) {
            if (rng.nextDouble() < fraction) {
              double[] v = new double[x.dim()];
              for (int d = 0; d < v.length; d++) {
                v[d] = x.values()[t * x.dim() + d];
              }
              out.add(new Tuple2<>((id << 24) + t, Vectors.dense(v)));
            }
          }
        }
      }
    } finally {
      POOL.get(p.id()).add(f);
    }
    return out.iterator();
  }

  /**
   * One task: labels its utterances, writes its part of labels_manifest.json ({@link ManifestParts}) and
   * returns only counts and the first skips ({@link PartSummary}): the driver never holds per-utterance records.
   */
  private static Iterator<PartSummary> labelPartition(
      Iterator<Batch> it,
      Payload p,
      Centroids c,
      SerializableHadoopConf conf,
      String partsUri,
      LongAccumulator done,
      DoubleAccumulator audio)
      throws IOException {
    FrameFeatures f = borrow(p);
    Configuration hadoopConf = conf.get();
    LabelFrames frames = LabelFrames.of(p.config().settings());
    int sr = p.config().getInt("model.sample_rate");
    ManifestParts.Part part = new ManifestParts.Part(partsUri, TaskContext.getPartitionId());
    try {
      while (it.hasNext()) {
        Batch b = it.next();
        List<LabelOutcome> r = labelBatch(b, p, c, hadoopConf, f, frames, sr);
        for (LabelOutcome o : r) {
          switch (o.status()) {
            case WRITTEN:
              part.written(o.id(), labelsLine(o), o.audioSeconds());
              break;
            case EXISTING:
              part.existing(o.id(), labelsLine(o));
              break;
            default:
              part.skipped(o.id(), o.where(), o.reason());
          }
        }
        done.add(r.size());
        audio.add(r.stream().mapToDouble(LabelOutcome::audioSeconds).sum());
      }
    } finally {
      POOL.get(p.id()).add(f);
    }
    part.write(hadoopConf);
    return List.of(part.summary()).iterator();
  }

  static List<LabelOutcome> labelBatch(
      Batch b,
      Payload p,
      Centroids c,
      Configuration conf,
      FrameFeatures f,
      LabelFrames frames,
      int sr) {
    List<LabelOutcome> out = new ArrayList<>();
    List<Integer> todo = new ArrayList<>();
    for (int i = 0; i < b.entries().size(); i++) {
      ManifestEntry e = b.entries().get(i);
      int complete = completeLabels(b.targets().get(i), conf);
      if (complete > 0) {
        out.add(
            LabelOutcome.done(
                e.id(),
                e.whereAndAudio(),
                e.json(),
                NestPaths.display(e.audioPath()),
                b.targets().get(i),
                complete,
                0,
                true));
      } else {
        todo.add(i);
      }
    }
    if (todo.isEmpty()) {
      return out;
    }
    List<ManifestEntry> es = new ArrayList<>();
    List<String> ts = new ArrayList<>();
    for (int i : todo) {
      es.add(b.entries().get(i));
      ts.add(b.targets().get(i));
    }
    Batch rest = new Batch(es, ts);
    Loaded l = load(rest, p, conf, frames, f.source());
    out.addAll(l.skipped);
    if (l.audio.isEmpty()) {
      return out;
    }
    List<FrameFeatures.Frames> fs = f.compute(l.audio);
    for (int u = 0; u < fs.size(); u++) {
      ManifestEntry e = rest.entries().get(l.index.get(u));
      String target = rest.targets().get(l.index.get(u));
      String where = e.whereAndAudio();
      FrameFeatures.Frames x = fs.get(u);
      int numSamples = l.audio.get(u).length;
      long[] labels = labels(x, c, frames, f.source(), numSamples);
      Path path = new Path(URI.create(target));
      try {
        AtomicFiles.write(
            path.getFileSystem(conf), path, os -> Npy.write(os, new int[] {labels.length}, labels));
        out.add(
            LabelOutcome.done(
                e.id(),
                where,
                e.json(),
                NestPaths.display(e.audioPath()),
                target,
                labels.length,
                numSamples / (double) sr,
                false));
      } catch (IOException | RuntimeException ex) {
        out.add(
            LabelOutcome.skipped(
                e.id(),
                where,
                e.json(),
                "cannot write " + NestPaths.display(path) + ": " + ex.getMessage()));
      }
    }
    return out;
  }

  /** One label per encoder frame: the nearest centroid of the source frame at the encoder frame's centre ({@link LabelFrames}). */
  static long[] labels(
      FrameFeatures.Frames x,
      Centroids c,
      LabelFrames frames,
      LabelFrames.Source source,
      int numSamples) {
    if (x.dim() != c.dim()) {
      throw new IllegalArgumentException(
          "features have " + x.dim() + " dimensions, the centroids " + c.dim());
    }
    long[] labels = new long[frames.encoderFrames(numSamples)];
    for (int j = 0; j < labels.length; j++) {
      labels[j] = c.nearest(x.values(), frames.sourceIndex(source, j, x.frames()) * x.dim());
    }
    return labels;
  }

  /** Labels in a complete label file (a readable rank-1 integer npy), or 0. */
  static int completeLabels(String target, Configuration conf) {
    Path p = new Path(URI.create(target));
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        return 0;
      }
      try (InputStream in = fs.open(p)) {
        NpyArray a = Npy.read(in);
        return a.rank() == 1 && (a.dtype() == NpyDtype.INT64 || a.dtype() == NpyDtype.INT32)
            ? a.dim(0)
            : 0;
      }
    } catch (IOException | RuntimeException damaged) {
      return 0; // computed again
    }
  }

  /** The labels manifest line of a labelled utterance: its input entry, audio path resolved, plus label_filepath. */
  private static String labelsLine(LabelOutcome o) throws IOException {
    ObjectNode node = (ObjectNode) JSON.readTree(o.json());
    node.put("audio_filepath", o.audio());
    node.put(LabelFiles.FIELD, NestPaths.display(new Path(URI.create(o.labelPath()))));
    return JSON.writeValueAsString(node);
  }
}
