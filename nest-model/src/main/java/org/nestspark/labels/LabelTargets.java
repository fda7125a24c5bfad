package org.nestspark.labels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.config.NestConfig;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestReader;

/**
 * The checks {@code model.targets = labels} (HuBERT targets in NEST's masked-token loss, docs/nest-numerics.md §7/§8) needs before
 * any training work: every entry of the training and validation manifests has a {@code label_filepath} (the
 * manifests are labels manifests of {@code nest kmeans}), and where the fit is known ({@code kmeans.json} next to
 * a manifest, written by {@code nest kmeans}) its {@code num_clusters} equals {@code model.num_classes}. Each
 * label file's own contents are checked when its batch is built ({@link LabelFiles}: a bad one is skipped and
 * counted).
 */
public final class LabelTargets {
  /** The fit summary {@code nest kmeans} writes next to its labels manifest. */
  public static final String SUMMARY = "kmeans.json";

  private LabelTargets() {}

  /** True when {@code model.targets = labels}. */
  public static boolean enabled(NestConfig c) {
    return c.settings().labelTargets();
  }

  /**
   * Reads the training and validation manifests (metadata only) and checks them; nothing when the targets are
   * the quantizer's.
   *
   * @throws IllegalArgumentException naming the key, the manifest line and the problem
   */
  public static void check(NestConfig c, Configuration conf) {
    if (!enabled(c)) {
      return;
    }
    for (String section : List.of("model.train_ds", "model.validation_ds")) {
      List<String> files = c.getStringList(section + ".manifest_filepath");
      if (files.isEmpty()) {
        continue;
      }
      List<ManifestEntry> entries;
      try {
        entries = ManifestReader.unfiltered(conf).read(files).entries();
      } catch (ManifestException e) {
        continue; // the job reports unreadable manifests itself
      }
      check(c, section, entries, conf);
    }
  }

  /** Checks the entries of one dataset section ({@code model.train_ds} or {@code model.validation_ds}). */
  public static void check(
      NestConfig c, String section, List<ManifestEntry> entries, Configuration conf) {
    if (!enabled(c)) {
      return;
    }
    int missing = 0;
    ManifestEntry first = null;
    Set<String> manifests = new LinkedHashSet<>();
    for (ManifestEntry e : entries) {
      manifests.add(e.manifest());
      if (LabelFiles.field(e) == null) {
        missing++;
        first = first == null ? e : first;
      }
    }
    if (missing > 0) {
      throw new IllegalArgumentException(
          section
              + ".manifest_filepath: model.targets = labels needs a "
              + LabelFiles.FIELD
              + " in every entry (labels manifests of nest kmeans); "
              + missing
              + " of "
              + entries.size()
              + " entries have none, first "
              + first.where());
    }
    int k = c.settings().numClasses();
    for (String m : manifests) {
      Path summary = new Path(NestPaths.fromUserString(m).getParent(), SUMMARY);
      Integer clusters = clusters(summary, conf);
      if (clusters != null && clusters != k) {
        throw new IllegalArgumentException(
            "model.num_classes = "
                + k
                + " but the labels of "
                + m
                + " come from a k-means fit with "
                + clusters
                + " clusters ("
                + NestPaths.display(summary)
                + "): set model.num_classes="
                + clusters);
      }
    }
  }

  /** {@code num_clusters} of a {@code kmeans.json}, or null when there is none or it cannot be read. */
  static Integer clusters(Path summary, Configuration conf) {
    try {
      FileSystem fs = summary.getFileSystem(conf);
      if (!fs.exists(summary)) {
        return null;
      }
      try (InputStream in = fs.open(summary)) {
        JsonNode n = JsonMapper.builder().build().readTree(in).get("num_clusters");
        return n != null && n.canConvertToInt() ? n.asInt() : null;
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
