package org.nestspark.job.extract;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.URI;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.batch.BatchPlanner;
import org.nestspark.config.NestConfig;
import org.nestspark.data.UtteranceLoader;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.job.featurize.FeatureFileNames;
import org.nestspark.job.featurize.FeaturizeJob;
import org.nestspark.job.spark.JobProgress;
import org.nestspark.job.spark.ManifestParts;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.job.spark.TaskDevices;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.restore.NemoImport;
import org.nestspark.tarred.ShardPaths;
import org.nestspark.tarred.TarredDataset;
import scala.Tuple2;

/**
 * {@code nest extract}: per-layer encoder features of a trained model (a {@code .nemo} or a nest-spark
 * checkpoint) for every utterance of an input, as NeMo's {@code scripts/ssl/extract_features.py} makes
 * them (docs/nest-numerics.md §10), in eval mode (no dither, no dropout, BatchNorm running statistics; docs/nest-numerics.md §14: the
 * script itself forgets {@code eval()}).
 *
 * <p><b>Input</b>: a NeMo manifest ({@code .json} / {@code .jsonl}, paths relative to it), a folder
 * (searched recursively for {@code extract.audio_extensions}, default wav and flac) or one audio file;
 * any Hadoop path. <b>Output</b> ({@code extract.format}): {@code npy} writes one float32
 * {@code [L, D, T_valid]} file per utterance, named as the script names them ({@link FeatureFileNames},
 * with {@code __n} for repeated paths); {@code parquet} writes one file per batch
 * ({@link ParquetFeatureWriter}: one row per utterance and layer). Both write {@code features.json}: each
 * input entry plus {@code feature_path} (and {@code num_frames}, {@code layers}).
 *
 * <p>With {@code extract.tarred_audio_filepaths} the audio comes from NeMo tar shards ({@link TarredDataset}; the
 * input is then the tarred manifest(s)); batches are then consecutive entries in shard order, so each shard is
 * streamed once.
 *
 * <p><b>How</b>: the driver lists the input only (manifest lines or file names and sizes), sorts the
 * utterances by duration (manifest {@code duration}; for files without one the file size stands in) into
 * batches of {@code extract.batch_size} ({@link BatchPlanner}, so a batch holds similar lengths and little
 * padding), and broadcasts the model's configuration and parameters. Executors decode, featurize,
 * run the encoder up to the deepest requested layer ({@link LayerExtractor}, the decoder is not run) and
 * write through Hadoop {@code FileSystem} under a temporary name, then rename; memory is bounded by one
 * batch (plus a partition's lines of {@code features.json}). Each task writes those lines as a part
 * ({@link ManifestParts}) and returns only counts, the first skips and timings; the driver merges the parts by
 * input order into {@code features.json} as streams and lists every skip in {@code skipped.txt}, so it never
 * holds a record per utterance, and a retried task rewrites its own part (each utterance once). Reruns keep complete outputs ({@code extract.overwrite=false}) and only do what is missing; a
 * damaged output (unreadable, truncated, wrong shape) is computed again. A bad line or audio file is
 * skipped and reported with its manifest line or path and the reason; {@code data.on_error=fail} stops on
 * malformed manifest lines before any audio is read. While it runs, a progress line (done/total utterances,
 * utterances/s, audio-s/s, ETA) goes to {@code log} every {@code extract.progress_interval_seconds}
 * ({@link JobProgress}; counted per finished batch).
 */
public final class ExtractJob {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  /** Bytes per second of 16-bit mono audio at 16 kHz: the duration stand-in for files without one. */
  private static final double BYTES_PER_SECOND = 32000;

  private ExtractJob() {}

  /**
   * Runs the job.
   *
   * @param model the model ({@link org.nestspark.restore.Restore#load}); its configuration also holds the
   *     {@code extract.*}, {@code data.*} and {@code spark.*} settings
   * @param layersSpec {@code all}, {@code last} or {@code i,j,k}
   * @throws ManifestException the manifest cannot be read, or has malformed lines and on_error=fail
   * @throws IOException the input does not exist, or the output folder or features.json cannot be written
   * @throws IllegalArgumentException a bad {@code --layers}
   */
  public static ExtractReport run(
      JavaSparkContext sc,
      NemoImport.Imported model,
      String input,
      String outDir,
      String layersSpec,
      PrintStream log)
      throws ManifestException, IOException {
    long t0 = System.nanoTime();
    NestConfig config = model.config();
    Configuration hadoopConf = sc.hadoopConfiguration();
    int[] layers = LayerExtractor.parseLayers(layersSpec, NestGraph.numLayers(model.graph()));
    String format = config.getString("extract.format");
    Inputs in = listInputs(input, config, hadoopConf);
    if ("fail".equals(config.getString("data.on_error")) && !in.problems.isEmpty()) {
      throw new ManifestException(
          in.problems.size()
              + " malformed input line(s) and data.on_error=fail; first: "
              + in.problems.get(0));
    }
    Path out = NestPaths.fromUserString(outDir);
    FileSystem fs = out.getFileSystem(hadoopConf);
    if (fs.exists(out) && !fs.getFileStatus(out).isDirectory()) {
      throw new IOException(outDir + ": exists and is not a directory");
    }
    fs.mkdirs(out);

    // the plan: batches of similar durations, in a fixed order (the parquet part files are named by
    // it)
    int n = in.entries.size();
    int batchSize = config.getInt("extract.batch_size");
    // tar shards: consecutive entries (shard and member order), so each shard is streamed once
    List<int[]> plan =
        n == 0
            ? List.of()
            : TarredDataset.shardCount(in.entries) > 0
                ? consecutive(n, batchSize)
                : new BatchPlanner(
                        batchSize, false, false, Math.max(1, (n + batchSize - 1) / batchSize), 0L)
                    .plan(in.durations, 0);
    FeatureFileNames names = new FeatureFileNames();
    String[] targets = new String[n];
    for (int i = 0; i < n; i++) {
      targets[i] = new Path(out, names.next(in.entries.get(i))).toUri().toString();
    }
    List<Batch> batches = new ArrayList<>(plan.size());
    for (int b = 0; b < plan.size(); b++) {
      List<ManifestEntry> es = new ArrayList<>();
      List<String> ts = new ArrayList<>();
      for (int i : plan.get(b)) {
        es.add(in.entries.get(i));
        ts.add(targets[i]);
      }
      String part =
          new Path(out, String.format(Locale.ROOT, "part-%05d.parquet", b)).toUri().toString();
      batches.add(new Batch(b, es, ts, part));
    }

    if ("parquet".equals(format)) {
      removeStaleParts(fs, out, batches.size(), log);
    }
    Path parts = ManifestParts.dir(out);
    ManifestParts.clear(fs, parts);
    PartSummary sum = new PartSummary();
    ExtractTimings timings = new ExtractTimings();
    int numParts = 0;
    if (!batches.isEmpty()) {
      int partitions = config.getInt("extract.num_partitions");
      if (partitions == 0) {
        partitions = Math.max(1, Math.min(batches.size(), sc.defaultParallelism() * 2));
      }
      ModelPayload payload =
          new ModelPayload(
              UUID.randomUUID().toString(),
              config,
              model.graph().params().castTo(DataType.FLOAT).dup('c').data().asFloat(),
              layers);
      Broadcast<ModelPayload> bc = sc.broadcast(payload);
      SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);
      boolean overwrite = config.getBoolean("extract.overwrite");
      String partsUri = parts.toUri().toString();
      sc.setJobDescription(
          "extract: decode, log-mel, encoder layers "
              + layersSpec
              + ", write "
              + format
              + " ("
              + n
              + " utterances, "
              + batches.size()
              + " batches, "
              + partitions
              + " partitions)");
      JavaRDD<Batch> rdd = sc.parallelize(batches, partitions);
      numParts = rdd.getNumPartitions();
      Tuple2<PartSummary, ExtractTimings> result;
      try (JobProgress progress =
          JobProgress.start(
              sc,
              "extract",
              "utterances",
              n,
              config.getInt("extract.progress_interval_seconds"),
              log)) {
        LongAccumulator done = progress.done();
        DoubleAccumulator audio = progress.audioSeconds();
        result =
            rdd.mapPartitions(
                    it ->
                        extractPartition(
                            it, bc.value(), conf, overwrite, format, partsUri, done, audio))
                .reduce((x, y) -> new Tuple2<>(x._1().merge(y._1()), x._2().add(y._2())));
      }
      sc.setJobDescription(null);
      bc.destroy();
      sum = result._1();
      timings = result._2();
    }
    int leftovers = AtomicFiles.deleteTemporaryFiles(fs, out);
    if (leftovers > 0) {
      log.println(
          "extract: removed "
              + leftovers
              + " temporary file(s) left by writers that died before their rename (killed task attempts)");
    }
    Path featuresJson = new Path(out, "features.json");
    Path skippedTxt = new Path(out, FeaturizeJob.SKIPPED_TXT);
    ManifestParts.merge(fs, parts, numParts, featuresJson, skippedTxt, sum.skipped > 0);
    return new ExtractReport(
        sum,
        in.problems,
        (System.nanoTime() - t0) / 1e9,
        timings,
        NestPaths.display(featuresJson),
        sum.skipped > 0 ? NestPaths.display(skippedTxt) : null,
        layers);
  }

  /** Deletes {@code part-NNNNN.parquet} files of an earlier run whose index is beyond this plan's batches. */
  static void removeStaleParts(FileSystem fs, Path out, int numBatches, PrintStream log)
      throws IOException {
    for (FileStatus st : fs.listStatus(out)) {
      java.util.regex.Matcher m =
          java.util.regex.Pattern.compile("part-(\\d{5,})\\.parquet")
              .matcher(st.getPath().getName());
      if (st.isFile() && m.matches() && Long.parseLong(m.group(1)) >= numBatches) {
        log.println(
            "extract: removing "
                + NestPaths.display(st.getPath())
                + " (a batch of an earlier run with another input or batch size)");
        fs.delete(st.getPath(), false);
      }
    }
  }

  // ------------------------------------------------------------------ input listing (driver)

  /** The utterances of an input, with a duration (or stand-in) each, and the malformed lines. */
  static final class Inputs {
    final List<ManifestEntry> entries;
    final double[] durations;
    final List<ManifestProblem> problems;

    Inputs(List<ManifestEntry> entries, double[] durations, List<ManifestProblem> problems) {
      this.entries = entries;
      this.durations = durations;
      this.problems = problems;
    }
  }

  static boolean isManifest(String input) {
    String s = input.toLowerCase(Locale.ROOT);
    return s.endsWith(".json") || s.endsWith(".jsonl");
  }

  private static List<int[]> consecutive(int n, int batchSize) {
    List<int[]> plan = new ArrayList<>();
    for (int i = 0; i < n; i += batchSize) {
      plan.add(java.util.stream.IntStream.range(i, Math.min(n, i + batchSize)).toArray());
    }
    return plan;
  }

  static Inputs listInputs(String input, NestConfig config, Configuration conf)
      throws ManifestException, IOException {
    List<String> shards = ShardPaths.configured(config, "extract.tarred_audio_filepaths");
    if (!shards.isEmpty()) {
      ManifestReadResult r =
          TarredDataset.read(ManifestReader.unfiltered(conf), List.of(input), shards).result();
      return new Inputs(r.entries(), new double[r.entries().size()], r.problems());
    }
    if (isManifest(input)) {
      ManifestReadResult r = ManifestReader.unfiltered(conf).read(List.of(input));
      List<ManifestEntry> es = r.entries();
      double[] d = new double[es.size()];
      for (int i = 0; i < d.length; i++) {
        ManifestEntry e = es.get(i);
        d[i] = e.duration() != null ? e.duration() : sizeSeconds(e.audioPath(), conf);
      }
      return new Inputs(es, d, r.problems());
    }
    Path p = NestPaths.fromUserString(input);
    FileSystem fs = p.getFileSystem(conf);
    if (!fs.exists(p)) {
      throw new IOException("--input " + input + ": no such file or folder");
    }
    FileStatus st = fs.getFileStatus(p);
    List<FileStatus> files = new ArrayList<>();
    if (st.isDirectory()) {
      List<String> exts = new ArrayList<>();
      for (String e : config.config().getStringList("extract.audio_extensions")) {
        exts.add("." + e.toLowerCase(Locale.ROOT).replaceFirst("^\\.", ""));
      }
      RemoteIterator<LocatedFileStatus> it = fs.listFiles(p, true);
      while (it.hasNext()) {
        LocatedFileStatus f = it.next();
        String name = f.getPath().getName().toLowerCase(Locale.ROOT);
        if (f.isFile()
            && !AtomicFiles.isTemporary(f.getPath())
            && exts.stream().anyMatch(name::endsWith)) {
          files.add(f);
        }
      }
      files.sort(Comparator.comparing(f -> f.getPath().toString()));
    } else {
      files.add(st);
    }
    List<ManifestEntry> es = new ArrayList<>(files.size());
    double[] d = new double[files.size()];
    String source = NestPaths.display(p);
    for (int i = 0; i < files.size(); i++) {
      Path f = files.get(i).getPath();
      ObjectNode node = JSON.createObjectNode();
      String shown = NestPaths.display(f);
      node.put("audio_filepath", shown);
      es.add(
          new ManifestEntry(
              source, i + 1, i, f.toUri(), shown, null, 0.0, JSON.writeValueAsString(node)));
      d[i] = files.get(i).getLen() / BYTES_PER_SECOND;
    }
    return new Inputs(es, d, List.of());
  }

  private static double sizeSeconds(Path audio, Configuration conf) {
    try {
      return audio.getFileSystem(conf).getFileStatus(audio).getLen() / BYTES_PER_SECOND;
    } catch (IOException | RuntimeException e) {
      return 0; // reported by the executor that tries to read it
    }
  }

  // ------------------------------------------------------------------ executors

  /** One batch of the plan: its entries, their npy targets and its parquet part file. */
  static final class Batch implements Serializable {
    private static final long serialVersionUID = 1L;
    final int index;
    final List<ManifestEntry> entries;
    final List<String> targets;
    final String part;

    Batch(int index, List<ManifestEntry> entries, List<String> targets, String part) {
      this.index = index;
      this.entries = entries;
      this.targets = targets;
      this.part = part;
    }
  }

  /** What the executors need to rebuild the model: the configuration and the flat parameters. */
  static final class ModelPayload implements Serializable {
    private static final long serialVersionUID = 1L;
    final String id;
    final NestConfig config;
    final float[] params;
    final int[] layers;

    ModelPayload(String id, NestConfig config, float[] params, int[] layers) {
      this.id = id;
      this.config = config;
      this.params = params;
      this.layers = layers;
    }
  }

  static final class BatchResult implements Serializable {
    private static final long serialVersionUID = 1L;
    final List<ExtractOutcome> outcomes = new ArrayList<>();
    final ExtractTimings timings = new ExtractTimings();
  }

  /** Extractors built in this JVM, per broadcast model: a task takes one (or builds one) and gives it back. */
  private static final Map<String, ConcurrentLinkedQueue<LayerExtractor>> POOL =
      new ConcurrentHashMap<>();

  private static LayerExtractor borrow(ModelPayload m, String poolKey) {
    LayerExtractor x = POOL.computeIfAbsent(poolKey, k -> new ConcurrentLinkedQueue<>()).poll();
    if (x != null) {
      return x;
    }
    ComputationGraph g = NestGraph.build(m.config.settings());
    g.setParams(Nd4j.create(m.params, new long[] {1, m.params.length}, 'c'));
    return new LayerExtractor(
        g, new FilterbankFeatures(m.config.settings().preprocessor()), m.layers);
  }

  /**
   * One task: extracts its batches, writes its part of features.json ({@link ManifestParts}) and returns only
   * counts and timings.
   */
  private static Iterator<Tuple2<PartSummary, ExtractTimings>> extractPartition(
      Iterator<Batch> it,
      ModelPayload m,
      SerializableHadoopConf conf,
      boolean overwrite,
      String format,
      String partsUri,
      LongAccumulator done,
      DoubleAccumulator audio)
      throws IOException {
    // on GPU executors: this task's GPU; extractors are pooled per device (their arrays live there)
    String poolKey = m.id + "@" + TaskDevices.bindTaskGpu().orElse("cpu");
    LayerExtractor x = borrow(m, poolKey);
    Configuration hadoopConf = conf.get();
    BatchWork work = new BatchWork(x, m.config, hadoopConf, overwrite, "parquet".equals(format));
    ManifestParts.Part part = new ManifestParts.Part(partsUri, TaskContext.getPartitionId());
    ExtractTimings timings = new ExtractTimings();
    try {
      while (it.hasNext()) {
        BatchResult r = work.run(it.next());
        double seconds = 0;
        for (ExtractOutcome o : r.outcomes) {
          switch (o.status) {
            case WRITTEN:
              part.written(o.id, featuresLine(o, m.layers), o.audioSeconds);
              break;
            case EXISTING:
              part.existing(o.id, featuresLine(o, m.layers));
              break;
            default:
              part.skipped(o.id, o.where, o.reason);
          }
          seconds += o.audioSeconds;
        }
        timings.add(r.timings);
        done.add(r.outcomes.size());
        audio.add(seconds);
      }
    } finally {
      POOL.get(poolKey).add(x);
    }
    part.write(hadoopConf);
    return List.of(new Tuple2<>(part.summary(), timings)).iterator();
  }

  /** One batch on an executor: skip what is complete, decode, extract, write. */
  static final class BatchWork {
    final LayerExtractor x;
    final Configuration hadoopConf;
    final boolean overwrite;
    final boolean parquet;
    final int sampleRate;
    final UtteranceLoader loader;
    final int dim;

    BatchWork(
        LayerExtractor x,
        NestConfig c,
        Configuration hadoopConf,
        boolean overwrite,
        boolean parquet) {
      this.x = x;
      this.hadoopConf = hadoopConf;
      this.overwrite = overwrite;
      this.parquet = parquet;
      this.sampleRate = c.getInt("model.sample_rate");
      this.loader = UtteranceLoader.of(c.settings());
      this.dim = c.getInt("model.encoder.d_model");
    }

    BatchResult run(Batch b) {
      BatchResult r = new BatchResult();
      int nl = x.layers().length;
      if (parquet && !overwrite) {
        List<ExtractOutcome> done = ParquetFeatureWriter.existing(b, hadoopConf, nl, dim);
        if (done != null) {
          r.outcomes.addAll(done);
          return r;
        }
      }
      List<Integer> todo = new ArrayList<>();
      for (int i = 0; i < b.entries.size(); i++) {
        ManifestEntry e = b.entries.get(i);
        if (!parquet && !overwrite) {
          int frames = completeNpy(b.targets.get(i), nl);
          if (frames >= 0) {
            r.outcomes.add(
                ExtractOutcome.done(
                    e.id(), e.whereAndAudio(), e.json(), b.targets.get(i), frames, 0, true));
            continue;
          }
        }
        todo.add(i);
      }
      // decode
      long t0 = System.nanoTime();
      List<Integer> ok = new ArrayList<>();
      List<float[]> audio = new ArrayList<>();
      for (int i : todo) {
        ManifestEntry e = b.entries.get(i);
        try {
          audio.add(load(e));
          ok.add(i);
        } catch (AudioException ex) {
          r.outcomes.add(ExtractOutcome.skipped(e.id(), e.where(), e.json(), ex.getMessage()));
        } catch (RuntimeException ex) {
          r.outcomes.add(
              ExtractOutcome.skipped(
                  e.id(),
                  e.whereAndAudio(),
                  e.json(),
                  "unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage()));
        }
      }
      r.timings.decodeSeconds += (System.nanoTime() - t0) / 1e9;
      if (ok.isEmpty()) {
        return r;
      }
      double f0 = x.featurizeSeconds();
      double e0 = x.encoderSeconds();
      List<LayerExtractor.Output> outs = x.extract(audio.toArray(new float[0][]));
      r.timings.featurizeSeconds += x.featurizeSeconds() - f0;
      r.timings.encoderSeconds += x.encoderSeconds() - e0;
      long w0 = System.nanoTime();
      if (parquet) {
        List<ManifestEntry> es = new ArrayList<>();
        for (int i : ok) {
          es.add(b.entries.get(i));
        }
        try {
          ParquetFeatureWriter.write(b, es, outs, x.layers(), hadoopConf);
          for (int k = 0; k < ok.size(); k++) {
            ManifestEntry e = es.get(k);
            r.outcomes.add(
                ExtractOutcome.done(
                    e.id(),
                    e.whereAndAudio(),
                    e.json(),
                    b.part,
                    outs.get(k).frames(),
                    audio.get(k).length / (double) sampleRate,
                    false));
          }
        } catch (IOException | RuntimeException ex) {
          for (ManifestEntry e : es) {
            r.outcomes.add(
                ExtractOutcome.skipped(
                    e.id(),
                    e.whereAndAudio(),
                    e.json(),
                    "cannot write " + b.part + ": " + ex.getMessage()));
          }
        }
      } else {
        for (int k = 0; k < ok.size(); k++) {
          ManifestEntry e = b.entries.get(ok.get(k));
          String target = b.targets.get(ok.get(k));
          LayerExtractor.Output o = outs.get(k);
          Path p = new Path(URI.create(target));
          try {
            AtomicFiles.write(
                p.getFileSystem(hadoopConf),
                p,
                os -> Npy.write(os, new int[] {o.layers(), o.dim(), o.frames()}, o.values()));
            r.outcomes.add(
                ExtractOutcome.done(
                    e.id(),
                    e.whereAndAudio(),
                    e.json(),
                    target,
                    o.frames(),
                    audio.get(k).length / (double) sampleRate,
                    false));
          } catch (IOException | RuntimeException ex) {
            r.outcomes.add(
                ExtractOutcome.skipped(
                    e.id(),
                    e.whereAndAudio(),
                    e.json(),
                    "cannot write " + NestPaths.display(p) + ": " + ex.getMessage()));
          }
        }
      }
      r.timings.writeSeconds += (System.nanoTime() - w0) / 1e9;
      return r;
    }

    /** Frames of a complete npy output of ours ([L, d_model, T] float32, fully readable), or -1. */
    int completeNpy(String target, int nl) {
      Path p = new Path(URI.create(target));
      try {
        FileSystem fs = p.getFileSystem(hadoopConf);
        if (!fs.exists(p)) {
          return -1;
        }
        try (InputStream in = fs.open(p)) {
          NpyArray a = Npy.read(in);
          if (a.rank() == 3 && a.dim(0) == nl && a.dim(1) == dim && a.floatData() != null) {
            return a.dim(2);
          }
        }
      } catch (IOException | RuntimeException damaged) {
        // not a complete output of ours: compute it again
      }
      return -1;
    }

    float[] load(ManifestEntry e) throws AudioException {
      String name = NestPaths.display(e.audioPath());
      AudioSegment seg = loader.load(e, hadoopConf);
      if (seg.numSamples() < 160) {
        // fewer than one 10 ms hop: no feature frame, so no encoder frame
        throw new AudioException(
            name,
            "too short for the encoder: "
                + seg.numSamples()
                + " samples (at least 160, one feature frame)");
      }
      float[] s = seg.samples();
      for (float v : s) {
        if (!Float.isFinite(v)) {
          throw new AudioException(name, "samples are not finite (NaN or infinity)");
        }
      }
      return s;
    }
  }

  /** The features.json line of an utterance with an output: its input entry plus feature_path, num_frames and layers. */
  private static String featuresLine(ExtractOutcome o, int[] layers) throws IOException {
    ObjectNode node = (ObjectNode) JSON.readTree(o.json);
    node.put("feature_path", NestPaths.display(new Path(URI.create(o.featurePath))));
    node.put("num_frames", o.frames);
    com.fasterxml.jackson.databind.node.ArrayNode ls = node.putArray("layers");
    for (int l : layers) {
      ls.add(l);
    }
    return JSON.writeValueAsString(node);
  }
}
