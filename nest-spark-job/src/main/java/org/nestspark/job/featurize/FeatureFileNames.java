package org.nestspark.job.featurize;

import java.util.HashMap;
import java.util.Map;
import org.nestspark.manifest.ManifestEntry;

/**
 * Output names as NeMo's {@code scripts/ssl/extract_features.py} gives them (docs/nest-numerics.md §10): the audio path
 * with every {@code /} and {@code .} replaced by {@code _}, the last 256 characters if longer, plus
 * {@code .npy}. The path is the resolved one (for local files the absolute path, for other file systems
 * the URI's path), as NeMo resolves manifest paths before naming.
 *
 * <p>Where NeMo would silently overwrite (the same file listed twice, e.g. two segments of one
 * recording), later entries get {@code __<n>} before {@code .npy}: n = 2, 3, ...
 */
public final class FeatureFileNames {
  private final Map<String, Integer> seen = new HashMap<>();

  /** NeMo's name for one audio path. */
  public static String nemoName(String audioPath) {
    String s = audioPath.replace('/', '_').replace('.', '_');
    if (s.length() > 256) {
      s = s.substring(s.length() - 256);
    }
    return s + ".npy";
  }

  /** The name for the next entry of a run (unique within the run). */
  public String next(ManifestEntry entry) {
    String base = nemoName(entry.audioPath().toUri().getPath());
    int n = seen.merge(base, 1, Integer::sum);
    return n == 1 ? base : base.substring(0, base.length() - 4) + "__" + n + ".npy";
  }
}
