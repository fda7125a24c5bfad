package org.nestspark.job.featurize;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
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
import org.nestspark.job.spark.JobProgress;
import org.nestspark.job.spark.ManifestParts;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.nemo.TarReader;
import org.nestspark.nemo.TarWriter;
import org.nestspark.tarred.ShardPaths;
import org.nestspark.tarred.TarredDataset;

/**
 * {@code nest featurize}: log-mel features (docs/nest-numerics.md §1) of every utterance of NeMo manifests, computed on
 * Spark executors and written as one float32 {@code .npy} of shape {@code [80, T_valid]} per utterance
 * (per-utterance normalisation, as NeMo with batch size 1, eval mode: no dither), named as NeMo's
 * {@code extract_features.py} names its outputs ({@link FeatureFileNames}), plus {@code features.json}:
 * each input entry with {@code feature_path} and {@code num_frames}, in manifest order.
 *
 * <p>The driver reads only the manifests; executors decode, featurize and write through Hadoop
 * {@code FileSystem}, and each task writes its partition's lines of {@code features.json} as a part
 * ({@link ManifestParts}) and returns only counts and the first skips ({@link PartSummary}); the driver merges
 * the parts into {@code features.json} as streams, and lists every skipped utterance with its reason in
 * {@code skipped.txt}. A retried task rewrites the same part, so each utterance is in {@code features.json}
 * once. Every file is written under a temporary name and renamed, so a rerun
 * ({@code featurize.overwrite=false}, the default) keeps complete outputs of an earlier run and only does
 * what is missing. A bad line or file is skipped and reported with manifest, line and reason; with
 * {@code data.on_error=fail} malformed manifest lines stop the job before any audio is read.
 *
 * <p>While it runs, a progress line (done/total utterances, utterances/s, audio-s/s, ETA) goes to {@code log}
 * every {@code featurize.progress_interval_seconds} ({@link JobProgress}).
 *
 * <p>With {@code featurize.tarred_audio_filepaths} the audio comes from NeMo tar shards ({@link TarredDataset}; the
 * manifests are then the tarred manifests) and each partition streams its shard. With {@code featurize.format=tar}
 * the outputs are shards too: one {@code features_<partition>.tar} of {@code .npy} members per task
 * ({@link #featurizeToTar}), named in features.json by {@code feature_shard} and {@code feature_member}, so that
 * millions of utterances do not become millions of output files (one create, rename and block each).
 *
 * <p>The segment read is {@code [offset, offset + duration)} of the manifest entry, as NeMo's datasets
 * read it; NeMo's 1-second repeat padding is a training-time rule and is not applied here.
 */
public final class FeaturizeJob {
  /** Every skipped utterance with its reason, one per line, beside features.json (only when some were skipped). */
  public static final String SKIPPED_TXT = "skipped.txt";

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  private FeaturizeJob() {}

  /**
   * Runs the job.
   *
   * @throws ManifestException a manifest cannot be read, or has malformed lines and on_error=fail
   * @throws IOException the output folder or features.json cannot be written
   */
  public static FeaturizeReport run(
      JavaSparkContext sc,
      NestConfig config,
      List<String> manifests,
      String outDir,
      PrintStream log)
      throws ManifestException, IOException {
    long t0 = System.nanoTime();
    Configuration hadoopConf = sc.hadoopConfiguration();
    ManifestReadResult read =
        TarredDataset.readInputs(
            ManifestReader.unfiltered(hadoopConf),
            manifests,
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
    Path parts = ManifestParts.dir(out);
    ManifestParts.clear(fs, parts);
    PartSummary sum = new PartSummary();
    int numParts = 0;
    if (!work.isEmpty()) {
      int partitions = config.getInt("featurize.num_partitions");
      int shards = TarredDataset.shardCount(read.entries());
      if (partitions == 0) {
        // tar shards: one partition per shard, so each task streams its shard once
        partitions =
            shards > 0
                ? Math.min(work.size(), shards)
                : Math.max(1, Math.min(work.size(), sc.defaultParallelism() * 4));
      }
      SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);
      boolean overwrite = config.getBoolean("featurize.overwrite");
      boolean toTar = "tar".equals(config.getString("featurize.format"));
      String outUri = out.toUri().toString();
      String partsUri = parts.toUri().toString();
      sc.setJobDescription(
          "featurize: decode audio, log-mel features, write "
              + (toTar ? "tar shards of .npy (" : ".npy (")
              + work.size()
              + " utterances, "
              + partitions
              + " partitions)");
      JavaRDD<NamedEntry> rdd = sc.parallelize(work, partitions);
      numParts = rdd.getNumPartitions();
      try (JobProgress progress =
          JobProgress.start(
              sc,
              "featurize",
              "utterances",
              work.size(),
              config.getInt("featurize.progress_interval_seconds"),
              log)) {
        LongAccumulator done = progress.done();
        DoubleAccumulator audio = progress.audioSeconds();
        sum =
            rdd.mapPartitions(
                    it ->
                        featurizePartition(
                            it,
                            config,
                            conf,
                            overwrite,
                            toTar ? outUri : null,
                            partsUri,
                            done,
                            audio))
                .reduce(PartSummary::merge);
      }
      sc.setJobDescription(null);
    }
    int leftovers = AtomicFiles.deleteTemporaryFiles(fs, out);
    if (leftovers > 0) {
      log.println(
          "featurize: removed "
              + leftovers
              + " temporary file(s) left by writers that died before their rename (killed task attempts)");
    }
    Path featuresJson = new Path(out, "features.json");
    ManifestParts.merge(
        fs, parts, numParts, featuresJson, new Path(out, SKIPPED_TXT), sum.skipped > 0);
    return new FeaturizeReport(
        sum,
        read.problems(),
        (System.nanoTime() - t0) / 1e9,
        NestPaths.display(featuresJson),
        sum.skipped > 0 ? NestPaths.display(new Path(out, SKIPPED_TXT)) : null);
  }

  /**
   * One task: featurizes its utterances, writes its part of features.json ({@link ManifestParts}) and returns
   * only counts ({@link PartSummary}). With {@code tarOutUri} (featurize.format = tar) the task's features go into
   * one tar shard of {@code .npy} members in that folder ({@link #featurizeToTar}) instead of one file each.
   */
  private static Iterator<PartSummary> featurizePartition(
      Iterator<NamedEntry> it,
      NestConfig config,
      SerializableHadoopConf conf,
      boolean overwrite,
      String tarOutUri,
      String partsUri,
      LongAccumulator done,
      DoubleAccumulator audio)
      throws IOException {
    UtteranceFeaturizer featurizer = new UtteranceFeaturizer(config);
    Configuration hadoopConf = conf.get();
    int partition = TaskContext.getPartitionId();
    ManifestParts.Part part = new ManifestParts.Part(partsUri, partition);
    Iterator<FeaturizeOutcome> outcomes;
    if (tarOutUri != null) {
      List<NamedEntry> entries = new ArrayList<>();
      it.forEachRemaining(entries::add);
      Path tar = new Path(new Path(java.net.URI.create(tarOutUri)), tarName(partition));
      outcomes =
          featurizeToTar(entries, featurizer, hadoopConf, overwrite, tar, done, audio).iterator();
    } else {
      outcomes =
          new Iterator<>() {
            @Override
            public boolean hasNext() {
              return it.hasNext();
            }

            @Override
            public FeaturizeOutcome next() {
              FeaturizeOutcome o = featurizeOne(it.next(), featurizer, hadoopConf, overwrite);
              done.add(1);
              audio.add(o.audioSeconds);
              return o;
            }
          };
    }
    while (outcomes.hasNext()) {
      FeaturizeOutcome o = outcomes.next();
      switch (o.status) {
        case WRITTEN:
          part.written(o.id, featuresLine(o), o.audioSeconds);
          break;
        case EXISTING:
          part.existing(o.id, featuresLine(o));
          break;
        default:
          part.skipped(o.id, o.where, o.reason);
      }
    }
    part.write(hadoopConf);
    return List.of(part.summary()).iterator();
  }

  /** The tar shard of features written by Spark partition {@code p} (featurize.format = tar). */
  public static String tarName(int p) {
    return String.format(java.util.Locale.ROOT, "features_%d.tar", p);
  }

  /**
   * One task's utterances into one tar shard {@code tar} of {@code .npy} members (featurize.format = tar): the
   * members are named as the single files would be ({@link FeatureFileNames}) and follow the partition's
   * order; the tar is written under a temporary name and renamed ({@link AtomicFiles}), so it is complete or
   * absent. Unless {@code overwrite}, an existing tar holding a valid {@code [F, T]} member for every utterance of
   * the partition is kept as it is (all its utterances count as already complete); otherwise the whole partition
   * is featurized again (utterances skipped earlier, e.g. unreadable audio, are retried). A tar that cannot be
   * written skips all of the partition's utterances with the reason.
   */
  static List<FeaturizeOutcome> featurizeToTar(
      List<NamedEntry> entries,
      UtteranceFeaturizer featurizer,
      Configuration hadoopConf,
      boolean overwrite,
      Path tar,
      LongAccumulator done,
      DoubleAccumulator audio)
      throws IOException {
    FileSystem fs = tar.getFileSystem(hadoopConf);
    String tarUri = tar.toUri().toString();
    if (!overwrite) {
      List<FeaturizeOutcome> kept = existingTar(entries, featurizer, fs, tar, tarUri);
      if (kept != null) {
        done.add(kept.size());
        return kept;
      }
    }
    List<FeaturizeOutcome> outcomes = new ArrayList<>(entries.size());
    try {
      AtomicFiles.write(
          fs,
          tar,
          os -> {
            TarWriter w = new TarWriter(os, 0);
            java.io.ByteArrayOutputStream npy = new java.io.ByteArrayOutputStream();
            for (NamedEntry n : entries) {
              ManifestEntry e = n.entry;
              String where = e.whereAndAudio();
              FeaturizeOutcome o;
              try {
                UtteranceFeaturizer.Result r = featurizer.featurize(e, hadoopConf);
                npy.reset();
                Npy.write(npy, new int[] {r.numFeatures, r.numFrames}, r.features);
                w.file(n.member(), npy.toByteArray());
                o =
                    FeaturizeOutcome.inTar(
                        e.id(),
                        where,
                        e.json(),
                        tarUri,
                        n.member(),
                        r.numFrames,
                        r.audioSeconds,
                        false);
              } catch (AudioException ex) {
                o = FeaturizeOutcome.skipped(e.id(), e.where(), e.json(), ex.getMessage());
              } catch (RuntimeException ex) {
                o =
                    FeaturizeOutcome.skipped(
                        e.id(),
                        where,
                        e.json(),
                        "unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
              }
              outcomes.add(o);
              done.add(1);
              audio.add(o.audioSeconds);
            }
            w.finish();
          });
    } catch (IOException ex) {
      List<FeaturizeOutcome> failed = new ArrayList<>(entries.size());
      for (NamedEntry n : entries) {
        ManifestEntry e = n.entry;
        failed.add(
            FeaturizeOutcome.skipped(
                e.id(),
                e.whereAndAudio(),
                e.json(),
                "cannot write " + NestPaths.display(tar) + ": " + ex.getMessage()));
      }
      done.add(entries.size() - outcomes.size());
      return failed;
    }
    return outcomes;
  }

  /**
   * The outcomes of an existing complete tar of this partition (every utterance's member present, a valid
   * {@code [F, T]} npy), or null when there is none or it lacks or damages some member.
   */
  private static List<FeaturizeOutcome> existingTar(
      List<NamedEntry> entries,
      UtteranceFeaturizer featurizer,
      FileSystem fs,
      Path tar,
      String tarUri) {
    java.util.Map<String, Integer> frames = new java.util.HashMap<>();
    try {
      if (!fs.exists(tar)) {
        return null;
      }
      try (InputStream in = new java.io.BufferedInputStream(fs.open(tar), 1 << 16)) {
        TarReader r = TarReader.of(NestPaths.display(tar), in);
        for (TarReader.Entry m = r.next(); m != null; m = r.next()) {
          if (!m.isFile()) {
            continue;
          }
          NpyArray a = Npy.read(new java.io.ByteArrayInputStream(r.readContent(m, 1 << 30)));
          if (a.rank() == 2 && a.dim(0) == featurizer.numFeatures()) {
            frames.put(m.name(), a.dim(1));
          }
        }
      }
    } catch (IOException | RuntimeException unreadable) {
      return null; // not a complete output of ours: compute it again
    }
    List<FeaturizeOutcome> kept = new ArrayList<>(entries.size());
    for (NamedEntry n : entries) {
      Integer t = frames.get(n.member());
      if (t == null) {
        return null;
      }
      ManifestEntry e = n.entry;
      kept.add(
          FeaturizeOutcome.inTar(
              e.id(), e.whereAndAudio(), e.json(), tarUri, n.member(), t, 0, true));
    }
    return kept;
  }

  static FeaturizeOutcome featurizeOne(
      NamedEntry n, UtteranceFeaturizer featurizer, Configuration hadoopConf, boolean overwrite) {
    ManifestEntry e = n.entry;
    Path target = new Path(java.net.URI.create(n.target));
    String where = e.whereAndAudio();
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
      AtomicFiles.write(
          fs, target, os -> Npy.write(os, new int[] {r.numFeatures, r.numFrames}, r.features));
      return FeaturizeOutcome.done(
          e.id(), where, e.json(), n.target, r.numFrames, r.audioSeconds, false);
    } catch (AudioException ex) {
      return FeaturizeOutcome.skipped(e.id(), e.where(), e.json(), ex.getMessage());
    } catch (IOException ex) {
      return FeaturizeOutcome.skipped(
          e.id(),
          where,
          e.json(),
          "cannot write " + NestPaths.display(target) + ": " + ex.getMessage());
    } catch (RuntimeException ex) {
      return FeaturizeOutcome.skipped(
          e.id(),
          where,
          e.json(),
          "unexpected " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
    }
  }

  /** The features.json line of an utterance with features: its input entry plus feature_path and num_frames. */
  private static String featuresLine(FeaturizeOutcome o) throws IOException {
    ObjectNode node = (ObjectNode) JSON.readTree(o.json);
    if (o.member != null) {
      node.put("feature_shard", NestPaths.display(new Path(java.net.URI.create(o.featurePath))));
      node.put("feature_member", o.member);
      node.put("num_frames", o.numFrames);
      return JSON.writeValueAsString(node);
    }
    node.put("feature_path", NestPaths.display(new Path(java.net.URI.create(o.featurePath))));
    node.put("num_frames", o.numFrames);
    return JSON.writeValueAsString(node);
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

    /** The output's file name: a member name in a tar shard of features. */
    String member() {
      return target.substring(target.lastIndexOf('/') + 1);
    }
  }
}
