package org.nestspark.featurize;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

import org.nestspark.audio.AudioException;
import org.nestspark.config.NestConfig;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.spark.JobProgress;
import org.nestspark.tarred.ShardPaths;
import org.nestspark.tarred.TarredDataset;

/**
 * {@code nest featurize}: log-mel features (spec §1) of every utterance of NeMo manifests, computed on
 * Spark executors and written as one float32 {@code .npy} of shape {@code [80, T_valid]} per utterance
 * (per-utterance normalisation, as NeMo with batch size 1, eval mode: no dither), named as NeMo's
 * {@code extract_features.py} names its outputs ({@link FeatureFileNames}), plus {@code features.json}:
 * each input entry with {@code feature_path} and {@code num_frames}, in manifest order.
 *
 * <p>The driver reads only the manifests; executors decode, featurize and write through Hadoop
 * {@code FileSystem}. Every file is written under a temporary name and renamed, so a rerun
 * ({@code featurize.overwrite=false}, the default) keeps complete outputs of an earlier run and only does
 * what is missing. A bad line or file is skipped and reported with manifest, line and reason; with
 * {@code data.on_error=fail} malformed manifest lines stop the job before any audio is read.
 *
 * <p>While it runs, a progress line (done/total utterances, utterances/s, audio-s/s, ETA) goes to {@code log}
 * every {@code featurize.progress_interval_seconds} ({@link JobProgress}).
 *
 * <p>With {@code featurize.tarred_audio_filepaths} the audio comes from NeMo tar shards ({@link TarredDataset}; the
 * manifests are then the tarred manifests) and each partition streams its shard.
 *
 * <p>The segment read is {@code [offset, offset + duration)} of the manifest entry, as NeMo's datasets
 * read it; NeMo's 1-second repeat padding is a training-time rule and is not applied here.
 */
public final class FeaturizeJob {
  private static final ObjectMapper JSON = JsonMapper.builder().enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private FeaturizeJob() {}

  /**
   * Runs the job.
   *
   * @throws ManifestException a manifest cannot be read, or has malformed lines and on_error=fail
   * @throws IOException the output folder or features.json cannot be written
   */
  public static FeaturizeReport run(JavaSparkContext sc, NestConfig config, List<String> manifests, String outDir, PrintStream log)
      throws ManifestException, IOException {
    long t0 = System.nanoTime();
    Configuration hadoopConf = sc.hadoopConfiguration();
    ManifestReadResult read = TarredDataset.readInputs(ManifestReader.unfiltered(hadoopConf), manifests,
        ShardPaths.configured(config, "featurize.tarred_audio_filepaths"));
    if ("fail".equals(config.getString("data.on_error"))) {
      read.failOnProblems();
    }
    Path out = NestPaths.fromUserString(outDir);
    FileSystem fs = out.getFileSystem(hadoopConf);
    if (fs.exists(out) && !fs.getFileStatus(out).isDirectory()) {
      throw new IOException(outDir + ": exists and is not a directory");
    }
    fs.mkdirs(out);

    FeatureFileNames names = new FeatureFileNames();
    List<NamedEntry> work = new ArrayList<>(read.entries().size());
    for (ManifestEntry e : read.entries()) {
      work.add(new NamedEntry(e, new Path(out, names.next(e)).toUri().toString()));
    }
    List<FeaturizeOutcome> outcomes = new ArrayList<>();
    if (!work.isEmpty()) {
      int partitions = config.getInt("featurize.num_partitions");
      int shards = TarredDataset.shardCount(read.entries());
      if (partitions == 0) {
        // tar shards: one partition per shard, so each task streams its shard once
        partitions = shards > 0 ? Math.min(work.size(), shards) : Math.max(1, Math.min(work.size(), sc.defaultParallelism() * 4));
      }
      SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);
      boolean overwrite = config.getBoolean("featurize.overwrite");
      sc.setJobDescription("featurize: decode audio, log-mel features, write .npy (" + work.size() + " utterances, " + partitions + " partitions)");
      JavaRDD<NamedEntry> rdd = sc.parallelize(work, partitions);
      try (JobProgress progress = JobProgress.start(sc, "featurize", "utterances", work.size(), config.getInt("featurize.progress_interval_seconds"),
          log)) {
        LongAccumulator done = progress.done();
        DoubleAccumulator audio = progress.audioSeconds();
        outcomes.addAll(rdd.mapPartitions(it -> featurizePartition(it, config, conf, overwrite, done, audio)).collect());
      }
      sc.setJobDescription(null);
    }
    outcomes.sort(Comparator.comparingLong(o -> o.id));

    String featuresJson = NestPaths.display(new Path(out, "features.json"));
    writeFeaturesJson(fs, new Path(out, "features.json"), outcomes);
    int written = 0;
    int existing = 0;
    double seconds = 0;
    List<FeaturizeOutcome> skipped = new ArrayList<>();
    for (FeaturizeOutcome o : outcomes) {
      switch (o.status) {
        case WRITTEN: written++; seconds += o.audioSeconds; break;
        case EXISTING: existing++; break;
        default: skipped.add(o);
      }
    }
    return new FeaturizeReport(written, existing, skipped, read.problems(), seconds, (System.nanoTime() - t0) / 1e9, featuresJson);
  }

  private static Iterator<FeaturizeOutcome> featurizePartition(Iterator<NamedEntry> it, NestConfig config, SerializableHadoopConf conf, boolean overwrite,
      LongAccumulator done, DoubleAccumulator audio) {
    UtteranceFeaturizer featurizer = new UtteranceFeaturizer(config);
    Configuration hadoopConf = conf.get();
    List<FeaturizeOutcome> result = new ArrayList<>();
    while (it.hasNext()) {
      NamedEntry n = it.next();
      FeaturizeOutcome o = featurizeOne(n, featurizer, hadoopConf, overwrite);
      result.add(o);
      done.add(1);
      audio.add(o.audioSeconds);
    }
    return result.iterator();
  }

  static FeaturizeOutcome featurizeOne(NamedEntry n, UtteranceFeaturizer featurizer, Configuration hadoopConf, boolean overwrite) {
    ManifestEntry e = n.entry;
    Path target = new Path(java.net.URI.create(n.target));
    String where = e.where() + ": " + NestPaths.display(e.audioPath());
    try {
      FileSystem fs = target.getFileSystem(hadoopConf);
      if (!overwrite && fs.exists(target)) {
        try (InputStream in = fs.open(target)) {
          NpyArray a = Npy.read(in);
          if (a.rank() == 2 && a.dim(0) == featurizer.numFeatures()) {
            return FeaturizeOutcome.done(e.id(), where, e.json(), n.target, a.dim(1), 0, true);
          }
        } catch (IOException | RuntimeException unreadable) {
          // not a complete output of ours: compute it again
        }
      }
      UtteranceFeaturizer.Result r = featurizer.featurize(e, hadoopConf);
      AtomicFiles.write(fs, target, os -> Npy.write(os, new int[] {r.numFeatures, r.numFrames}, r.features));
      return FeaturizeOutcome.done(e.id(), where, e.json(), n.target, r.numFrames, r.audioSeconds, false);
    } catch (AudioException ex) {
      return FeaturizeOutcome.skipped(e.id(), e.where(), e.json(), ex.getMessage());
    } catch (IOException ex) {
      return FeaturizeOutcome.skipped(e.id(), where, e.json(), "cannot write " + NestPaths.display(target) + ": " + ex.getMessage());
    } catch (RuntimeException ex) {
      return FeaturizeOutcome.skipped(e.id(), where, e.json(), "unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
    }
  }

  private static void writeFeaturesJson(FileSystem fs, Path target, List<FeaturizeOutcome> outcomes) throws IOException {
    StringBuilder sb = new StringBuilder();
    for (FeaturizeOutcome o : outcomes) {
      if (o.status == FeaturizeOutcome.Status.SKIPPED) {
        continue;
      }
      ObjectNode node = (ObjectNode) JSON.readTree(o.json);
      node.put("feature_path", NestPaths.display(new Path(java.net.URI.create(o.featurePath))));
      node.put("num_frames", o.numFrames);
      sb.append(JSON.writeValueAsString(node)).append('\n');
    }
    byte[] bytes = sb.toString().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, target, os -> os.write(bytes));
  }

  /** A manifest entry with the URI of its output file. */
  static final class NamedEntry implements java.io.Serializable {
    private static final long serialVersionUID = 1L;
    final ManifestEntry entry;
    final String target;

    NamedEntry(ManifestEntry entry, String target) {
      this.entry = entry;
      this.target = target;
    }
  }
}
