package org.nestspark.job.spark;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Serializable;
import java.io.Writer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.TaskContext;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;

/**
 * The output manifest ({@code features.json}) of {@code featurize} and {@code extract} without a driver
 * funnel: every Spark task writes the lines of its partition to a part file, and the driver merges the parts
 * into one {@code features.json}, reading them as streams, so it never holds per-utterance records.
 *
 * <p><b>Parts.</b> A task collects its partition's lines ({@link Part}: a features line per utterance with
 * an output, a {@code where: reason} line per skipped one), sorts them by utterance id and writes them to
 * {@code <out>/_features.json.parts/part-NNNNN} under a temporary name, then renames
 * ({@link AtomicFiles}). The name is the Spark partition index: a retried or speculative attempt of the same
 * task writes the same lines to the same name, so a part is either absent, or complete and written once.
 * Part lines are {@code <id> TAB <F|S> TAB <payload>}.
 *
 * <p><b>Merge.</b> After the Spark job, the driver merges the parts by utterance id ({@link #merge}), a k-way
 * merge that keeps one line per open part in memory, at most {@link #FAN_IN} parts at a time (more parts are
 * first merged in groups into intermediate parts): {@code features.json} gets the features lines in input
 * order, one JSON object per line, as NeMo manifests are; {@code skipped.txt} gets every skipped utterance
 * with its reason (written only when there are skips). Both are written under temporary names and renamed;
 * the parts folder is deleted afterwards. A folder of parts left by a crashed run is deleted before the next
 * run ({@link #clear}).
 */
public final class ManifestParts {
  /** The parts folder's name inside the output folder ({@code _}: Hadoop and Spark readers skip it). */
  public static final String DIR = "_features.json.parts";

  /** Parts merged at once; more are merged in groups first. */
  static final int FAN_IN = 64;

  /** Lines a part may hold before it must be written: bounds a task's memory (a partition is far smaller in practice). */
  static final int MAX_PART_LINES = 5_000_000;

  /**
   * For tests only: called after a task has written its part and before it returns (local mode: the same
   * JVM), so a test can fail a task attempt whose part is already written. Null in normal runs.
   */
  public static volatile Consumer<TaskContext> afterPartWritten;

  private ManifestParts() {}

  /** The parts folder of an output folder. */
  public static Path dir(Path out) {
    return new Path(out, DIR);
  }

  /** Deletes a parts folder left by an earlier, unfinished run (driver, before the Spark job). */
  public static void clear(FileSystem fs, Path dir) throws IOException {
    if (fs.exists(dir) && !fs.delete(dir, true)) {
      throw new IOException(
          "cannot delete " + NestPaths.display(dir) + " (parts of an earlier unfinished run)");
    }
  }

  static Path partPath(Path dir, int partition) {
    return new Path(dir, String.format(Locale.ROOT, "part-%05d", partition));
  }

  /** One task's lines, written as its part by {@link #write}. */
  public static final class Part {
    private final String dirUri;
    private final int partition;
    private final List<Line> lines = new ArrayList<>();
    private final PartSummary summary = new PartSummary();

    /**
     * @param dirUri the parts folder ({@link #dir}) as a URI string
     * @param partition the Spark partition index (the part's name)
     */
    public Part(String dirUri, int partition) {
      this.dirUri = dirUri;
      this.partition = partition;
    }

    /** Utterance {@code id} written by this task: its output line, counted with its audio. */
    public void written(long id, String json, double audioSeconds) {
      summary.written(audioSeconds);
      features(id, json);
    }

    /** Utterance {@code id} already complete from an earlier run: its output line, counted. */
    public void existing(long id, String json) {
      summary.existing();
      features(id, json);
    }

    /** Utterance {@code id} skipped: listed in the skip file and counted (with the first examples). */
    public void skipped(long id, String where, String reason) {
      summary.skipped(id, where, reason);
      skipped(id, where + ": " + reason);
    }

    /** The counts of what this part holds, all the driver receives of it. */
    public PartSummary summary() {
      return summary;
    }

    /** The features line of utterance {@code id} (one JSON object, no line break). */
    public void features(long id, String json) {
      add(new Line(id, 'F', json));
    }

    /** A skipped utterance: where it is and why (line breaks and tabs become spaces). */
    public void skipped(long id, String whereAndReason) {
      add(new Line(id, 'S', whereAndReason.replaceAll("[\\r\\n\\t]+", " ")));
    }

    private void add(Line l) {
      if (lines.size() >= MAX_PART_LINES) {
        throw new IllegalStateException(
            "partition "
                + partition
                + " holds more than "
                + MAX_PART_LINES
                + " utterances: use more partitions");
      }
      lines.add(l);
    }

    /** Writes the part (sorted by id) under a temporary name and renames it to its final name. */
    public void write(Configuration conf) throws IOException {
      lines.sort(Comparator.comparingLong(Line::id));
      Path target = partPath(new Path(URI.create(dirUri)), partition);
      FileSystem fs = target.getFileSystem(conf);
      AtomicFiles.write(
          fs,
          target,
          os -> {
            Writer w =
                new BufferedWriter(new OutputStreamWriter(os, StandardCharsets.UTF_8), 1 << 16);
            for (Line l : lines) {
              l.writeTo(w);
            }
            w.flush();
          });
      Consumer<TaskContext> hook = afterPartWritten;
      if (hook != null) {
        hook.accept(TaskContext.get());
      }
    }
  }

  /** One part line. */
  record Line(long id, char kind, String payload) implements Serializable {
    void writeTo(Writer w) throws IOException {
      w.write(Long.toString(id));
      w.write('\t');
      w.write(kind);
      w.write('\t');
      w.write(payload);
      w.write('\n');
    }

    static Line parse(String s, Path from) throws IOException {
      int a = s.indexOf('\t');
      if (a <= 0
          || s.length() < a + 3
          || s.charAt(a + 2) != '\t'
          || (s.charAt(a + 1) != 'F' && s.charAt(a + 1) != 'S')) {
        throw new IOException(
            NestPaths.display(from)
                + ": not a part line: "
                + (s.length() > 80 ? s.substring(0, 80) + "..." : s));
      }
      try {
        return new Line(Long.parseLong(s.substring(0, a)), s.charAt(a + 1), s.substring(a + 3));
      } catch (NumberFormatException e) {
        throw new IOException(
            NestPaths.display(from) + ": not a part line (bad id): " + s.substring(0, a));
      }
    }
  }

  /** What a merge wrote: lines of each kind. */
  public record Merged(long featuresLines, long skippedLines) {}

  /**
   * Merges parts {@code 0 .. parts-1} of {@code dir} into {@code featuresJson} (and {@code skippedTxt} when
   * {@code expectSkips}), then deletes {@code dir}.
   *
   * @throws IOException a part is missing or damaged (then nothing is replaced), or a write fails
   */
  public static Merged merge(
      FileSystem fs, Path dir, int parts, Path featuresJson, Path skippedTxt, boolean expectSkips)
      throws IOException {
    List<Path> inputs = new ArrayList<>(parts);
    for (int p = 0; p < parts; p++) {
      Path part = partPath(dir, p);
      if (!fs.exists(part)) {
        throw new IOException(NestPaths.display(part) + ": missing (its task did not finish)");
      }
      inputs.add(part);
    }
    int round = 0;
    while (inputs.size() > FAN_IN) {
      List<Path> next = new ArrayList<>();
      for (int g = 0; g < inputs.size(); g += FAN_IN) {
        List<Path> group = inputs.subList(g, Math.min(inputs.size(), g + FAN_IN));
        Path merged = new Path(dir, String.format(Locale.ROOT, "merge-%d-%05d", round, g / FAN_IN));
        AtomicFiles.write(fs, merged, os -> mergeInto(fs, group, os, null, true));
        next.add(merged);
      }
      inputs = next;
      round++;
    }
    long[] counts = new long[2];
    List<Path> finalInputs = inputs;
    FileSystem out = AtomicFiles.withoutChecksumFiles(fs);
    if (expectSkips) {
      AtomicFiles.write(
          out,
          featuresJson,
          f ->
              AtomicFiles.write(
                  out,
                  skippedTxt,
                  s -> {
                    long[] c = mergeInto(fs, finalInputs, f, s, false);
                    counts[0] = c[0];
                    counts[1] = c[1];
                  }));
    } else {
      AtomicFiles.write(
          out,
          featuresJson,
          f -> {
            long[] c = mergeInto(fs, finalInputs, f, null, false);
            counts[0] = c[0];
            counts[1] = c[1];
          });
      if (out.exists(skippedTxt)) {
        out.delete(skippedTxt, false);
      }
    }
    fs.delete(dir, true);
    return new Merged(counts[0], counts[1]);
  }

  /** One open part and its current line. */
  private static final class Cursor implements Closeable {
    final Path path;
    final BufferedReader in;
    Line line;

    Cursor(FileSystem fs, Path path) throws IOException {
      this.path = path;
      this.in =
          new BufferedReader(new InputStreamReader(fs.open(path), StandardCharsets.UTF_8), 1 << 16);
    }

    boolean advance() throws IOException {
      String s = in.readLine();
      line = s == null ? null : Line.parse(s, path);
      return line != null;
    }

    @Override
    public void close() throws IOException {
      in.close();
    }
  }

  /**
   * K-way merge by id. {@code raw}: every line as a part line to {@code features} (an intermediate part);
   * otherwise payloads, features lines to {@code features} and skip lines to {@code skipped} (dropped when
   * null). Returns the counts of features and skip lines.
   */
  private static long[] mergeInto(
      FileSystem fs, List<Path> parts, OutputStream features, OutputStream skipped, boolean raw)
      throws IOException {
    PriorityQueue<Cursor> heap =
        new PriorityQueue<>(Comparator.comparingLong((Cursor c) -> c.line.id()));
    List<Cursor> open = new ArrayList<>();
    long[] counts = new long[2];
    try {
      for (Path p : parts) {
        Cursor c = new Cursor(fs, p);
        open.add(c);
        if (c.advance()) {
          heap.add(c);
        }
      }
      Writer f =
          new BufferedWriter(new OutputStreamWriter(features, StandardCharsets.UTF_8), 1 << 16);
      Writer s =
          skipped == null
              ? null
              : new BufferedWriter(
                  new OutputStreamWriter(skipped, StandardCharsets.UTF_8), 1 << 16);
      long last = Long.MIN_VALUE;
      while (!heap.isEmpty()) {
        Cursor c = heap.poll();
        Line l = c.line;
        if (l.id() == last) {
          throw new IOException(
              NestPaths.display(c.path) + ": utterance " + l.id() + " appears in two parts");
        }
        last = l.id();
        if (raw) {
          l.writeTo(f);
        } else if (l.kind() == 'F') {
          f.write(l.payload());
          f.write('\n');
        } else if (s != null) {
          s.write(l.payload());
          s.write('\n');
        }
        counts[l.kind() == 'F' ? 0 : 1]++;
        if (c.advance()) {
          heap.add(c);
        }
      }
      f.flush();
      if (s != null) {
        s.flush();
      }
    } finally {
      for (Cursor c : open) {
        c.close();
      }
    }
    return counts;
  }
}
