package org.nestspark.labels;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.NestPaths;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;
import org.nestspark.manifest.ManifestEntry;

/**
 * Label files of a labels manifest ({@code nest kmeans}): the manifest entry's {@code label_filepath}
 * (a path or URI; relative paths against the manifest's folder, as audio paths, docs/nest-numerics.md §2) names a rank-1
 * integer {@code .npy} with one class index per encoder frame ({@link LabelFrames}). Reading checks what
 * training relies on: the file exists and parses, holds integers, has exactly the encoder frames of the
 * utterance as loaded (after minimum-length padding), and every value is in {@code [0, num_classes)}.
 */
public final class LabelFiles {
  /** The manifest field naming an utterance's label file. */
  public static final String FIELD = "label_filepath";

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private LabelFiles() {}

  /** The {@code label_filepath} of an entry, or null when it has none (or it is not a non-empty string). */
  public static String field(ManifestEntry e) {
    try {
      JsonNode n = JSON.readTree(e.json()).get(FIELD);
      return n != null && n.isTextual() && !n.asText().isEmpty() ? n.asText() : null;
    } catch (IOException ex) {
      return null;
    }
  }

  /** The label file of an entry, resolved against its manifest; null when the entry has none. */
  public static Path path(ManifestEntry e) {
    String f = field(e);
    return f == null ? null : NestPaths.resolveAgainst(NestPaths.fromUserString(e.manifest()), f);
  }

  /**
   * Reads and checks the labels of an entry.
   *
   * @param expectedFrames the encoder frames of the utterance as loaded
   * @param numClasses {@code model.num_classes}
   * @throws IOException with the label file and the reason (missing field, unreadable, wrong dtype or shape,
   *     wrong length, a value out of range)
   */
  public static int[] read(ManifestEntry e, Configuration conf, int expectedFrames, int numClasses)
      throws IOException {
    Path p = path(e);
    if (p == null) {
      throw new IOException("no " + FIELD + " in the manifest entry");
    }
    String name = NestPaths.display(p);
    NpyArray a;
    try (InputStream in = p.getFileSystem(conf).open(p)) {
      a = Npy.read(in);
    } catch (IOException | RuntimeException ex) {
      throw new IOException("label file " + name + ": cannot be read: " + ex.getMessage());
    }
    if (a.rank() != 1) {
      throw new IOException(
          "label file "
              + name
              + ": expected one label per encoder frame (rank 1), got shape "
              + Arrays.toString(a.shape()));
    }
    if (a.dtype() != NpyDtype.INT32 && a.dtype() != NpyDtype.INT64) {
      throw new IOException(
          "label file " + name + ": expected integer labels (int32/int64), got " + a.dtype());
    }
    if (a.dim(0) != expectedFrames) {
      throw new IOException(
          "label file "
              + name
              + ": "
              + a.dim(0)
              + " labels, the utterance has "
              + expectedFrames
              + " encoder frames (labels made for other audio or another min_audio_len_secs?)");
    }
    long[] v = a.toLongArray();
    int[] out = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] >= numClasses) {
        throw new IOException(
            "label file "
                + name
                + ": label "
                + v[i]
                + " at frame "
                + i
                + " is outside [0, model.num_classes = "
                + numClasses
                + ")");
      }
      out[i] = (int) v[i];
    }
    return out;
  }
}
