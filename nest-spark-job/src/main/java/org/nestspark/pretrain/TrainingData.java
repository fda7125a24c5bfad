package org.nestspark.pretrain;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.hadoop.conf.Configuration;

import org.nestspark.config.NestConfig;
import org.nestspark.data.BatchPlanner;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;

/**
 * The run's data plan, on the driver (spec §2, §8): the training and validation manifests and their noise
 * corpora as metadata (never audio), their SHA-256 for provenance, and the batch plan of each epoch
 * ({@link BatchPlanner}: seeded shuffle, duration buckets, {@code drop_last}). A bad manifest line is
 * reported as {@code manifest:line: reason} and skipped, or stops the run with {@code data.on_error=fail}.
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
  private final BatchPlanner planner;
  private final double[] durations;

  /**
   * Reads every manifest.
   *
   * @param out where skipped lines are reported
   * @throws ManifestException when a manifest cannot be read, has no usable entry, makes no batch, or has a
   *     bad line with {@code data.on_error=fail}
   */
  public TrainingData(NestConfig cfg, Configuration hadoopConf, PrintStream out) throws IOException, ManifestException {
    this.cfg = cfg;
    this.seed = cfg.getLong("data.seed");
    this.train = readManifests(cfg, hadoopConf, TRAIN, true, out);
    this.trainNoise = readNoise(cfg, hadoopConf, TRAIN, out);
    this.validation = cfg.getStringList(VALIDATION + ".manifest_filepath").isEmpty() ? List.of()
        : readManifests(cfg, hadoopConf, VALIDATION, false, out);
    this.validationNoise = validation.isEmpty() ? List.of() : readNoise(cfg, hadoopConf, VALIDATION, out);
    int batchSize = cfg.getInt(TRAIN + ".batch_size");
    this.planner = new BatchPlanner(batchSize, cfg.getBoolean(TRAIN + ".shuffle"), cfg.getBoolean(TRAIN + ".drop_last"),
        cfg.getInt("pretrain.bucket_batches"), seed);
    this.durations = durations(train);
    if (planner.plan(durations, 0).isEmpty()) {
      throw new ManifestException(TRAIN + ": " + train.size() + " usable utterances make no complete batch of " + batchSize + " (drop_last="
          + cfg.getBoolean(TRAIN + ".drop_last") + ")");
    }
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
    BatchPlanner p = new BatchPlanner(cfg.getInt(VALIDATION + ".batch_size"), false, cfg.getBoolean(VALIDATION + ".drop_last"),
        cfg.getInt("pretrain.bucket_batches"), seed);
    List<int[]> plan = p.plan(durations(validation), 0);
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

  private List<ManifestEntry> readManifests(NestConfig cfg, Configuration conf, String section, boolean required, PrintStream out)
      throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".manifest_filepath");
    ManifestReader reader = new ManifestReader(conf, cfg.getDouble(section + ".min_duration"), cfg.getDouble(section + ".max_duration"));
    ManifestReadResult r = reader.read(files);
    report(cfg, section, r, out);
    manifestSha256.putAll(r.sha256());
    if (r.entries().isEmpty() && required) {
      throw new ManifestException(section + ".manifest_filepath: no usable entry in " + String.join(", ", files));
    }
    return r.entries();
  }

  private List<ManifestEntry> readNoise(NestConfig cfg, Configuration conf, String section, PrintStream out) throws ManifestException, IOException {
    List<String> files = cfg.getStringList(section + ".noise_manifest");
    if (files.isEmpty()) {
      return List.of();
    }
    ManifestReadResult r = ManifestReader.unfiltered(conf).read(files);
    report(cfg, section + ".noise_manifest", r, out);
    manifestSha256.putAll(r.sha256());
    return r.entries();
  }

  private static void report(NestConfig cfg, String section, ManifestReadResult r, PrintStream out) throws ManifestException {
    List<ManifestProblem> problems = r.problems();
    for (ManifestProblem p : problems) {
      out.println("[pretrain] " + section + ": skipped " + p);
    }
    if (!problems.isEmpty() && "fail".equals(cfg.getString("data.on_error"))) {
      throw new ManifestException(section + ": " + problems.size() + " bad manifest lines and data.on_error=fail; first: " + problems.get(0));
    }
  }
}
