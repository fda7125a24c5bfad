package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.AtomicFiles;
import org.nestspark.train.Checkpoint;
import org.nestspark.train.CheckpointIO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The driver's checkpoint manager (NeMo's exp_manager ModelCheckpoint, over Hadoop {@code FileSystem}):
 * writes {@code <run>/checkpoints/step-NNNNNN.ckpt} (format of {@link CheckpointIO}; temporary name, then
 * rename, so a killed driver never leaves a half-written checkpoint under a final name), and keeps
 *
 * <ul>
 *   <li>the {@code save_last_k} most recent checkpoints, and</li>
 *   <li>the {@code save_top_k} best by the monitored validation metric ({@code monitor}, {@code mode}),</li>
 * </ul>
 * deleting the others. {@code checkpoints/best.json} names the best checkpoint and its metric.
 * {@link #resume} loads the newest checkpoint that verifies, skipping corrupt or partial ones with a
 * warning naming them.
 */
public final class CheckpointManager {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointManager.class);
  public static final String DIR = "checkpoints";
  public static final String BEST = "best.json";

  /**
   * Test hook, for fault-injection tests only (never set it in production): with this JVM system property set
   * to a step, the driver halts at once (exit status 137, no shutdown hooks, as if SIGKILLed) when it has written
   * that step's checkpoint completely to its temporary file and not yet renamed it. {@code PretrainChaosIT}
   * uses it to kill the driver in the middle of writing a checkpoint.
   */
  public static final String HALT_BEFORE_RENAME_PROPERTY =
      "nest.test.halt_checkpoint_before_rename";

  private final Path dir;
  private final Configuration conf;
  private final FileSystem fs;
  private final int saveLastK;
  private final int saveTopK;
  private final boolean minimize;

  /** step → monitored metric, for the checkpoints written after a validation. */
  private final Map<Long, Double> metricByStep = new TreeMap<>();

  /**
   * @param runDir the run folder ({@code <exp_dir>/<name>})
   * @param saveLastK most recent checkpoints kept (at least 1)
   * @param saveTopK best checkpoints kept
   * @param mode {@code min} or {@code max}
   */
  public CheckpointManager(
      Path runDir, Configuration conf, int saveLastK, int saveTopK, String mode)
      throws IOException {
    this.dir = new Path(runDir, DIR);
    this.conf = conf;
    this.fs = AtomicFiles.withoutChecksumFiles(dir.getFileSystem(conf));
    this.saveLastK = Math.max(1, saveLastK);
    this.saveTopK = saveTopK;
    this.minimize = !"max".equals(mode);
  }

  public Path dir() {
    return dir;
  }

  /** Remembers the monitored metric of the checkpoint at {@code step} (from a resumed run's metrics). */
  public void recordMetric(long step, double value) {
    if (Double.isFinite(value)) {
      metricByStep.put(step, value);
    }
  }

  /**
   * Saves {@code ckpt}, then applies the retention rules.
   *
   * @param metric the monitored metric of these weights (NaN when not validated)
   */
  public Path save(Checkpoint ckpt, double metric) throws IOException {
    Path file = CheckpointIO.save(dir, ckpt, conf, tmp -> haltIfInjected(ckpt.step(), tmp));
    recordMetric(ckpt.step(), metric);
    prune();
    writeBest();
    return file;
  }

  /** The fault-injection point of {@link #HALT_BEFORE_RENAME_PROPERTY}. */
  private static void haltIfInjected(long step, Path tmp) {
    String at = System.getProperty(HALT_BEFORE_RENAME_PROPERTY);
    if (at != null && at.strip().equals(Long.toString(step))) {
      System.err.println(
          "[fault-injection] "
              + HALT_BEFORE_RENAME_PROPERTY
              + "="
              + at
              + ": halting the driver with "
              + tmp
              + " written and not renamed");
      System.err.flush();
      Runtime.getRuntime().halt(137);
    }
  }

  /** The newest checkpoint that loads and verifies; unusable ones are reported to {@code warnings}. */
  public Optional<Checkpoint> resume(Consumer<String> warnings) throws IOException {
    return CheckpointIO.loadNewestValid(dir, conf, warnings);
  }

  /** The checkpoint files, oldest first. */
  public List<Path> list() throws IOException {
    return CheckpointIO.list(dir, conf);
  }

  /** The step of the best checkpoint kept, if any was validated. */
  public Optional<Long> bestStep() throws IOException {
    Set<Long> present = new HashSet<>();
    for (Path p : list()) {
      present.add(CheckpointIO.stepOf(p));
    }
    return metricByStep.entrySet().stream()
        .filter(e -> present.contains(e.getKey()))
        .min(order())
        .map(Map.Entry::getKey);
  }

  private Comparator<Map.Entry<Long, Double>> order() {
    Comparator<Map.Entry<Long, Double>> c = Map.Entry.comparingByValue();
    return minimize ? c : c.reversed();
  }

  private void prune() throws IOException {
    List<Path> files = list();
    Set<Long> keep = new HashSet<>();
    for (int i = Math.max(0, files.size() - saveLastK); i < files.size(); i++) {
      keep.add(CheckpointIO.stepOf(files.get(i)));
    }
    Set<Long> present = new HashSet<>();
    for (Path p : files) {
      present.add(CheckpointIO.stepOf(p));
    }
    metricByStep.entrySet().stream()
        .filter(e -> present.contains(e.getKey()))
        .sorted(order())
        .limit(saveTopK)
        .forEach(e -> keep.add(e.getKey()));
    for (Path p : files) {
      if (!keep.contains(CheckpointIO.stepOf(p))) {
        LOG.info(
            "removing checkpoint {} (neither among the last {} nor the best {})",
            p,
            saveLastK,
            saveTopK);
        fs.delete(p, false);
      }
    }
    pruneStrategyState(
        keep, files.isEmpty() ? -1 : CheckpointIO.stepOf(files.get(files.size() - 1)));
  }

  /**
   * Deletes the DiLoCo state folders ({@link StrategyState}) of checkpoints not kept, and orphans left by a
   * crash before their checkpoint was written, up to the newest checkpoint (a folder past it may be the one
   * the next checkpoint is being written with).
   */
  private void pruneStrategyState(Set<Long> keep, long newest) throws IOException {
    if (!fs.exists(dir)) {
      return;
    }
    for (org.apache.hadoop.fs.FileStatus st : fs.listStatus(dir)) {
      String name = st.getPath().getName();
      if (!st.isDirectory() || !name.endsWith(StrategyState.SUFFIX)) {
        continue;
      }
      long step =
          CheckpointIO.stepOf(
              new Path(
                  dir, name.substring(0, name.length() - StrategyState.SUFFIX.length()) + ".ckpt"));
      if (step >= 0 && !keep.contains(step) && step <= newest) {
        LOG.info("removing {} (its checkpoint is not kept)", st.getPath());
        fs.delete(st.getPath(), true);
      }
    }
  }

  private void writeBest() throws IOException {
    Optional<Long> best = bestStep();
    if (best.isEmpty()) {
      return;
    }
    ObjectNode n = MetricsLog.JSON.createObjectNode();
    n.put("step", best.get());
    n.put("checkpoint", CheckpointIO.fileName(best.get()));
    n.put("metric", metricByStep.get(best.get()));
    byte[] bytes =
        MetricsLog.JSON
            .writerWithDefaultPrettyPrinter()
            .writeValueAsString(n)
            .getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(dir, BEST), out -> out.write(bytes));
  }

  /** For messages: the names of the files kept. */
  public List<String> names() throws IOException {
    List<String> out = new ArrayList<>();
    for (Path p : list()) {
      out.add(p.getName());
    }
    return out;
  }
}
