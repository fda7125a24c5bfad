package org.nestspark.job.tensorboard;

import java.io.Closeable;
import java.io.IOException;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;

/**
 * A TensorBoard event file written through Hadoop {@code FileSystem} (any local, hdfs:// or s3a:// folder),
 * named as TensorFlow names them, {@code events.out.tfevents.<secs>.<host>.<pid>.<n>}, and holding TFRecord
 * framed Event protos ({@link TfRecords}, {@link EventProtos}); TensorBoard reads every such file of a
 * folder in name order.
 *
 * <p>{@link #flush()} makes the events readable at once where the stream supports {@code hflush} (HDFS,
 * local disks). Object stores show a file only once closed: there {@link #roll()} closes the file and
 * continues in a new one whose name sorts after it (its seconds field is at least one more).
 */
public final class EventFileWriter implements Closeable {
  /** The prefix TensorBoard recognises. */
  public static final String PREFIX = "events.out.tfevents.";

  private final FileSystem fs;
  private final Path dir;
  private final String host;
  private final long pid;
  private final int n;
  private long lastSecs;
  private FSDataOutputStream out;
  private Path file;
  private boolean hflush;

  /**
   * Creates the first file in {@code dir}.
   *
   * @param n the name's last field (TensorFlow's per-process counter; the attempt number here)
   */
  public EventFileWriter(FileSystem fs, Path dir, String host, long pid, int n) throws IOException {
    this.fs = fs;
    this.dir = dir;
    this.host = host;
    this.pid = pid;
    this.n = n;
    open();
  }

  private void open() throws IOException {
    long secs = Math.max(System.currentTimeMillis() / 1000, lastSecs + 1);
    lastSecs = secs;
    file =
        new Path(dir, String.format(Locale.ROOT, "%s%010d.%s.%d.%d", PREFIX, secs, host, pid, n));
    fs.mkdirs(dir);
    out = fs.create(file, false);
    hflush = out.hasCapability(StreamCapabilities.HFLUSH);
    TfRecords.write(out, EventProtos.fileVersion(now()));
  }

  static double now() {
    return System.currentTimeMillis() / 1000.0;
  }

  /** The file events go to now. */
  public Path file() {
    return file;
  }

  /** True when {@link #flush()} makes events visible (the stream supports hflush). */
  public boolean visibleOnFlush() {
    return hflush;
  }

  /** Scalars of one step (tag → value). */
  public void scalars(long step, Map<String, Double> values) throws IOException {
    TfRecords.write(out, EventProtos.scalars(now(), step, values));
  }

  /** A SessionLog START at {@code step}: TensorBoard drops the events of earlier files at this step and later. */
  public void sessionStart(long step, String msg) throws IOException {
    TfRecords.write(out, EventProtos.sessionLog(now(), step, EventProtos.SESSION_START, msg));
  }

  public void flush() throws IOException {
    if (hflush) {
      out.hflush();
    } else {
      out.flush();
    }
  }

  /** Where the stream cannot hflush (object stores): closes this file, so that it appears, and opens the next. */
  public void roll() throws IOException {
    if (!hflush) {
      out.close();
      open();
    } else {
      flush();
    }
  }

  @Override
  public void close() throws IOException {
    if (out != null) {
      out.close();
      out = null;
    }
  }
}
