package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The one reader of a run's metrics (the notebooks' {@code nest_metrics.py} implements the same rules in
 * Python). A run folder holds
 *
 * <ul>
 *   <li>{@code metrics/attempt-NNNN.jsonl}, one per attempt, or on file systems without {@code hflush}
 *       (object stores) {@code metrics/attempt-NNNN-part-MMMM.jsonl}, one per checkpoint interval of an
 *       attempt (see {@link MetricsLog});</li>
 *   <li>{@code metrics.jsonl}, the single file that runs before the per-attempt layout wrote (read first, as
 *       attempt "0").</li>
 * </ul>
 *
 * <p>Files are read in order (legacy file, then attempt, then part). Each attempt's first record is of kind
 * {@code attempt} with {@code resumed_from}, the checkpoint step it started from ({@code -1}: a new run): it
 * drops every record read so far whose {@code step} is greater, because that work was done again. What
 * remains has every step exactly once. A line that is not JSON (the last line of a file being written) is
 * skipped and counted.
 */
public final class MetricsReader {
  /** The single file of runs before the per-attempt layout. */
  public static final String LEGACY_FILE = "metrics.jsonl";

  /** The folder of per-attempt files. */
  public static final String DIR = "metrics";

  static final Pattern NAME = Pattern.compile("attempt-(\\d+)(?:-part-(\\d+))?\\.jsonl");

  /** The effective records, the last attempt number seen (0 for none or a legacy file only) and the unreadable lines. */
  public record Result(List<JsonNode> records, int lastAttempt, int unreadableLines) {
    /** The records of one {@code kind}. */
    public List<JsonNode> ofKind(String kind) {
      List<JsonNode> out = new ArrayList<>();
      for (JsonNode r : records) {
        if (kind.equals(r.path("kind").asText())) {
          out.add(r);
        }
      }
      return out;
    }
  }

  private MetricsReader() {}

  /** Reads the metrics of the run folder {@code runDir} (any Hadoop path). */
  public static Result read(Path runDir, Configuration hadoopConf) throws IOException {
    return read(runDir.getFileSystem(hadoopConf), runDir);
  }

  public static Result read(FileSystem fs, Path runDir) throws IOException {
    List<JsonNode> records = new ArrayList<>();
    int[] unreadable = {0};
    Path legacy = new Path(runDir, LEGACY_FILE);
    if (fs.exists(legacy)) {
      readFile(fs, legacy, records, unreadable);
    }
    int last = 0;
    for (Part p : parts(fs, runDir)) {
      readFile(fs, p.path, records, unreadable);
      last = Math.max(last, p.attempt);
    }
    return new Result(records, last, unreadable[0]);
  }

  /** A per-attempt file: its attempt and part numbers (part 0 when the attempt has one file). */
  record Part(Path path, int attempt, int part) {}

  static List<Part> parts(FileSystem fs, Path runDir) throws IOException {
    Path dir = new Path(runDir, DIR);
    List<Part> out = new ArrayList<>();
    if (!fs.exists(dir)) {
      return out;
    }
    for (FileStatus st : fs.listStatus(dir)) {
      Matcher m = NAME.matcher(st.getPath().getName());
      if (st.isFile() && m.matches()) {
        out.add(
            new Part(
                st.getPath(),
                Integer.parseInt(m.group(1)),
                m.group(2) == null ? 0 : Integer.parseInt(m.group(2))));
      }
    }
    out.sort(Comparator.comparingInt(Part::attempt).thenComparingInt(Part::part));
    return out;
  }

  private static void readFile(FileSystem fs, Path file, List<JsonNode> records, int[] unreadable)
      throws IOException {
    try (BufferedReader r =
        new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode n;
        try {
          n = MetricsLog.JSON.readTree(line);
        } catch (IOException e) {
          unreadable[0]++;
          continue;
        }
        if (n == null || !n.isObject()) {
          unreadable[0]++;
          continue;
        }
        if (MetricsLog.ATTEMPT.equals(n.path("kind").asText())) {
          long from = n.path("resumed_from").asLong(-1);
          records.removeIf(x -> x.has("step") && x.path("step").asLong() > from);
        }
        records.add(n);
      }
    }
  }
}
