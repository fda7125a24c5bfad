package org.nestspark.job.pretrain;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.batch.BatchPlanner;
import org.nestspark.batch.DynamicBucketingPlanner;
import org.nestspark.batch.EpochPlanner;
import org.nestspark.batch.TarredShardPlanner;
import org.nestspark.config.NestConfig;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.tarred.ShardPaths;
import org.nestspark.tarred.TarredDataset;

/**
 * The run's data plan, on the driver (docs/nest-numerics.md §2, §8): the training and validation manifests and their noise
 * corpora as metadata (never audio), their SHA-256 for provenance, and the batch plan of each epoch: fixed-count
 * batches of {@code batch_size} ({@link BatchPlanner}: seeded shuffle, duration buckets, {@code drop_last}), or
 * with {@code batch_duration} set duration-based batches ({@link DynamicBucketingPlanner}, NeMo's lhotse options
 * {@code batch_duration}, {@code num_buckets}, {@code quadratic_duration}). Either plan is a pure function of
 * ({@code data.seed}, epoch), so resuming at "epoch e, batch b" is exact. A bad manifest line is
 * reported as {@code manifest:line: reason} and skipped, or stops the run with {@code data.on_error=fail}.
 *
 * <p>A dataset with {@code is_tarred} is read as NeMo's tarred audio ({@link TarredDataset}: entries tied to
 * their shard and member) and planned by {@link TarredShardPlanner} ({@code tarred_shard_strategy},
 * {@code shuffle_n}, the number of training workers); executors then read the audio from the shards.
 */
public final class TrainingData {
  public static final String TRAIN = "model.train_ds";
  public static final String VALIDATION = "model.validation_ds";

  private final NestConfig cfg;
  private final long seed;
  final List<ManifestEntry> train;
  final List<ManifestEntry> trainNoise;
  final List<ManifestEntry> validation;
  final List<ManifestEntry> validationNoise;
  final Map<String, String> manifestSha256 = new TreeMap<>();
  private final EpochPlanner planner;
  private final EpochPlanner validationPlanner;
  private final double[] durations;
  private final int workers;
  private final Map<String, TarredDataset> tarred = new TreeMap<>();

  /** Reads every manifest, for one training worker (see {@link #TrainingData(NestConfig, Configuration, PrintStream, int)}). */
  public TrainingData(NestConfig cfg, Configuration hadoopConf, PrintStream out)
      throws IOException, ManifestException {
    this(cfg, hadoopConf, out, 1);
  }

  /**
   * Reads every manifest.
   *
   * @param out where skipped lines are reported
   * @param workers training workers (a tarred dataset's shards are dealt to them)
   * @throws ManifestException when a manifest cannot be read, has no usable entry, makes no batch, or has a
   *     bad line with {@code data.on_error=fail}
   */
  public TrainingData(NestConfig cfg, Configuration hadoopConf, PrintStream out, int workers)
      throws IOException, ManifestException {
    this.cfg = cfg;
    this.workers = workers;
    this.seed = cfg.getLong("data.seed");
    this.train = readManifests(cfg, hadoopConf, TRAIN, true, out);
    this.trainNoise = readNoise(cfg, hadoopConf, TRAIN, out);
    this.validation =
        cfg.getStringList(VALIDATION + ".manifest_filepath").isEmpty()
            ? List.of()
            : readManifests(cfg, hadoopConf, VALIDATION, false, out);
    this.validationNoise =
        validation.isEmpty() ? List.of() : readNoise(cfg, hadoopConf, VALIDATION, out);
    this.durations = durations(train);
    this.planner =
        tarred.containsKey(TRAIN)
            ? tarredPlanner(cfg, TRAIN, cfg.getBoolean(TRAIN + ".shuffle"), workers, out)
            : planner(cfg, TRAIN, cfg.getBoolean(TRAIN + ".shuffle"), seed, train, durations, out);
    this.validationPlanner =
        validation.isEmpty()
            ? null
            : tarred.containsKey(VALIDATION)
                ? tarredPlanner(cfg, VALIDATION, false, 1, out)
                : planner(cfg, VALIDATION, false, seed, validation, durations(validation), out);
    if (planner.plan(durations, 0).isEmpty()) {
      throw new ManifestException(
          TRAIN
              + ": "
              + train.size()
              + " usable utterances make no complete batch ("
              + planner.describe()
              + ", drop_last="
              + cfg.getBoolean(TRAIN + ".drop_last")
              + ")");
    }
  }

  /**
   * The planner of a dataset section: {@link DynamicBucketingPlanner} when {@code <section>.batch_duration} is set
   * (every entry then needs a manifest duration, otherwise the run stops here naming the first entry without
   * one), else {@link BatchPlanner} with {@code batch_size} and {@code pretrain.bucket_batches}. Utterances that
   * cost more than {@code batch_duration} on their own are reported: each becomes a batch of one.
   */
  static EpochPlanner planner(
      NestConfig cfg,
      String section,
      boolean shuffle,
      long seed,
      List<ManifestEntry> entries,
      double[] durations,
      PrintStream out)
      throws ManifestException {
    int batchSize = cfg.getInt(section + ".batch_size");
    boolean dropLast = cfg.getBoolean(section + ".drop_last");
    if (!cfg.isSet(section + ".batch_duration")) {
      return new BatchPlanner(
          batchSize, shuffle, dropLast, cfg.getInt("pretrain.bucket_batches"), seed);
    }
    double batchDuration = cfg.getDouble(section + ".batch_duration");
    for (int i = 0; i < durations.length; i++) {
      if (!(durations[i] >= 0)) {
        int missing = 0;
        for (double d : durations) {
          missing += d >= 0 ? 0 : 1;
        }
        throw new ManifestException(
            section
                + ".batch_duration needs every entry's duration: "
                + missing
                + " entries have none (first: "
                + entries.get(i).where()
                + ")");
      }
    }
    double quadratic =
        cfg.isSet(section + ".quadratic_duration")
            ? cfg.getDouble(section + ".quadratic_duration")
            : 0;
    DynamicBucketingPlanner p =
        new DynamicBucketingPlanner(
            batchDuration,
            batchSize,
            cfg.getInt(section + ".num_buckets"),
            quadratic,
            shuffle,
            dropLast,
            seed);
    int oversize = p.oversizeCuts(durations);
    if (oversize > 0) {
      out.printf(
          java.util.Locale.ROOT,
          "[pretrain] %s: %d utterances cost more than batch_duration=%s s on their own; each is a batch of one%n",
          section,
          oversize,
          batchDuration);
    }
    return p;
  }

  private EpochPlanner tarredPlanner(
      NestConfig cfg, String section, boolean shuffle, int workers, PrintStream out)
      throws ManifestException {
    TarredDataset t = tarred.get(section);
    try {
      EpochPlanner p =
          new TarredShardPlanner(
              t.shardOf(),
              t.shards().size(),
              workers,
              cfg.getString(section + ".tarred_shard_strategy"),
              shuffle,
              cfg.getInt(section + ".shuffle_n"),
              cfg.getInt(section + ".batch_size"),
              cfg.getBoolean(section + ".drop_last"),
              seed);
      out.println("[pretrain] " + section + ": " + p.describe());
      return p;
    } catch (IllegalArgumentException e) {
      throw new ManifestException(section + ": " + e.getMessage());
    }
  }

  /** How the training batches are made, for logs. */
  public String describeBatches() {
    return planner.describe();
  }

  /** The batches of {@code epoch}, as indices into the training entries. */
  public List<int[]> plan(int epoch) {
    return planner.plan(durations, epoch);
  }

  /** Batch {@code index} of an epoch's plan as a spec for the executors. */
  public BatchSpec trainingSpec(List<int[]> plan, int epoch, int index) {
    List<ManifestEntry> entries = new ArrayList<>();
    for (int idx : plan.get(index)) {
      entries.add(train.get(idx));
    }
    return new BatchSpec(epoch, index, BatchSpec.trainingSeed(seed, epoch, index), entries);
  }

  /** The validation batches, with seeds that depend on the batch only (empty without a validation manifest). */
  public List<BatchSpec> validationSpecs() {
    if (validation.isEmpty()) {
      return List.of();
    }
    List<int[]> plan = validationPlanner.plan(durations(validation), 0);
    List<BatchSpec> specs = new ArrayList<>();
    for (int i = 0; i < plan.size(); i++) {
      List<ManifestEntry> entries = new ArrayList<>();
      for (int idx : plan.get(i)) {
        entries.add(validation.get(idx));
      }
      specs.add(new BatchSpec(-1, i, BatchSpec.validationSeed(seed, i), entries));
    }
    return specs;
  }

  /** Hours of training audio (manifest durations). */
  public double trainHours() {
    double s = 0;
    for (double v : durations) {
      s += Math.max(0, v);
    }
    return s / 3600;
  }

  /** Manifest durations for {@link BatchPlanner} (-1 where an entry has none). */
  public static double[] durations(List<ManifestEntry> entries) {
    double[] d = new double[entries.size()];
    for (int i = 0; i < d.length; i++) {
      Double v = entries.get(i).duration();
      d[i] = v == null ? -1 : v;
    }
    return d;
  }

  private List<ManifestEntry> readManifests(
      NestConfig cfg, Configuration conf, String section, boolean required, PrintStream out)
      throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".manifest_filepath");
    ManifestReader reader =
        new ManifestReader(
            conf,
            cfg.getDouble(section + ".min_duration"),
            cfg.getDouble(section + ".max_duration"));
    ManifestReadResult r;
    if (cfg.getBoolean(section + ".is_tarred")) {
      TarredDataset t =
          TarredDataset.read(
              reader, files, ShardPaths.configured(cfg, section + ".tarred_audio_filepaths"));
      tarred.put(section, t);
      r = t.result();
      out.printf(
          java.util.Locale.ROOT,
          "[pretrain] %s: %d utterances in %d tar shards%n",
          section,
          r.entries().size(),
          t.shards().size());
    } else {
      r = reader.read(files);
    }
    report(cfg, section, r, out);
    manifestSha256.putAll(r.sha256());
    try {
      org.nestspark.labels.LabelTargets.check(cfg, section, r.entries(), conf);
    } catch (IllegalArgumentException e) {
      throw new ManifestException(e.getMessage());
    }
    if (r.entries().isEmpty() && required) {
      throw new ManifestException(
          section + ".manifest_filepath: no usable entry in " + String.join(", ", files));
    }
    return r.entries();
  }

  private List<ManifestEntry> readNoise(
      NestConfig cfg, Configuration conf, String section, PrintStream out)
      throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".noise_manifest");
    if (files.isEmpty()) {
      return List.of();
    }
    ManifestReadResult r = ManifestReader.unfiltered(conf).read(files);
    report(cfg, section + ".noise_manifest", r, out);
    manifestSha256.putAll(r.sha256());
    return r.entries();
  }

  private static void report(NestConfig cfg, String section, ManifestReadResult r, PrintStream out)
      throws ManifestException {
    List<ManifestProblem> problems = r.problems();
    for (ManifestProblem p : problems) {
      out.println("[pretrain] " + section + ": skipped " + p);
    }
    if (!problems.isEmpty() && "fail".equals(cfg.getString("data.on_error"))) {
      throw new ManifestException(
          section
              + ": "
              + problems.size()
              + " bad manifest lines and data.on_error=fail; first: "
              + problems.get(0));
    }
  }
}
