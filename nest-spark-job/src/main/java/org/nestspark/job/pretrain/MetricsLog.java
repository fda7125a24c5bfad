package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;
import org.nestspark.io.RunLock;

/**
 * The writer of a run's metrics: JSON Lines appended to one file per attempt,
 * {@code <run>/metrics/attempt-NNNN.jsonl} ({@link MetricsReader} is the one reader). Each record has a
 * {@code kind}:
 *
 * <ul>
 *   <li>{@code attempt} (first line of each attempt): {@code attempt}, {@code resumed_from} (the checkpoint
 *       step it continues from, -1 for a new run), {@code host}, {@code pid};</li>
 *   <li>{@code train} (every {@code trainer.log_every_n_steps} steps): {@code step}, {@code epoch},
 *       {@code train_loss}, {@code masked_accuracy}, {@code lr}, {@code audio_seconds},
 *       {@code audio_seconds_per_second}, {@code steps_per_second}, {@code elapsed_s}, {@code time};</li>
 *   <li>{@code val}: {@code step}, {@code epoch}, {@code val_loss}, {@code val_masked_accuracy},
 *       {@code val_batches}, {@code val_tokens};</li>
 *   <li>{@code epoch} (an epoch ended): {@code skipped_utterances}, {@code skipped_empty_batches},
 *       {@code skipped_failed_batches}, {@code skipped_non_finite_steps};</li>
 *   <li>{@code timing} (after each Spark training job): {@code data_prep_s}, {@code train_s},
 *       {@code averaging_s}, {@code wall_s}, {@code audio_s} (seconds of audio trained on in the job) — see
 *       {@link PretrainJob};</li>
 *   <li>{@code stop} (the attempt stopped early, {@link Preemption}): {@code step}, {@code reason}.</li>
 * </ul>
 *
 * <p>Writing costs the new records only (the whole file was rewritten after every round before). Where the
 * file system's streams support {@code hflush} (HDFS, local disks) {@link #flush()} makes the records
 * readable at once. Object stores (s3a, gs, abfs) show a file only once it is closed: there
 * {@link #beforeCheckpoint()} closes the current file and later records go to the next part,
 * {@code attempt-NNNN-part-MMMM.jsonl}; so every record up to a checkpoint is visible when the checkpoint
 * is, and what a crash loses on an object store is past the last checkpoint, which a resume does again.
 *
 * <p>A resumed attempt does not rewrite earlier files: its {@code attempt} record says which step it
 * continues from, and readers drop the earlier records past that step.
 */
public final class MetricsLog implements Closeable {
  static final ObjectMapper JSON = new ObjectMapper();

  /** The kind of an attempt's first record. */
  public static final String ATTEMPT = "attempt";

  private final FileSystem fs;
  private final Path dir;
  private final List<String> pending = new ArrayList<>();
  private int attempt;
  private int part;
  private FSDataOutputStream out;
  private boolean hflush;

  public MetricsLog(FileSystem fs, Path runDir) {
    this.fs = fs;
    this.dir = new Path(runDir, MetricsReader.DIR);
  }

  /**
   * Starts attempt {@code attempt}: creates its file and writes its {@code attempt} record.
   *
   * @param resumedFrom the checkpoint step the attempt continues from, -1 for a new run
   */
  public void begin(int attempt, long resumedFrom) throws IOException {
    if (out != null) {
      throw new IllegalStateException("attempt " + this.attempt + " already started");
    }
    this.attempt = attempt;
    this.part = 0;
    fs.mkdirs(dir);
    open();
    ObjectNode a = record(ATTEMPT);
    a.put("attempt", attempt);
    a.put("resumed_from", resumedFrom);
    a.put("host", RunLock.hostName());
    a.put("pid", ProcessHandle.current().pid());
    add(a);
    flush();
  }

  /** The attempt's number (1 for the first attempt of a run folder). */
  public int attempt() {
    return attempt;
  }

  /** The file records go to now. */
  public Path file() {
    return fileOf(attempt, part);
  }

  private Path fileOf(int a, int p) {
    String name =
        p == 0
            ? String.format(Locale.ROOT, "attempt-%04d.jsonl", a)
            : String.format(Locale.ROOT, "attempt-%04d-part-%04d.jsonl", a, p);
    return new Path(dir, name);
  }

  private void open() throws IOException {
    out = fs.create(file(), false);
    hflush = out.hasCapability(StreamCapabilities.HFLUSH);
  }

  /** A new record of {@code kind}. */
  public static ObjectNode record(String kind) {
    ObjectNode n = JSON.createObjectNode();
    n.put("kind", kind);
    return n;
  }

  /** Adds a record with {@code time} set (written by the next {@link #flush()}). */
  public void add(ObjectNode record) {
    record.put("time", Instant.now().toString());
    try {
      pending.add(JSON.writeValueAsString(record));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Appends the records added since the last flush; readable at once where the stream supports hflush. */
  public void flush() throws IOException {
    if (out == null) {
      throw new IllegalStateException("flush before begin");
    }
    for (String l : pending) {
      out.write(l.getBytes(StandardCharsets.UTF_8));
      out.write('\n');
    }
    pending.clear();
    if (hflush) {
      out.hflush();
    } else {
      out.flush();
    }
  }

  /**
   * Called before a checkpoint is written: flushes, and on file systems without hflush closes the part (so
   * that it becomes visible) and opens the next one.
   */
  public void beforeCheckpoint() throws IOException {
    flush();
    if (!hflush) {
      out.close();
      part++;
      open();
    }
  }

  /** Flushes and closes the attempt's file. */
  @Override
  public void close() throws IOException {
    if (out != null) {
      try {
        flush();
      } finally {
        out.close();
        out = null;
      }
    }
  }
}
