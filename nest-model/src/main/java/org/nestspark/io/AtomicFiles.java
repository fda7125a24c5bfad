package org.nestspark.io;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Writes a file so that its final name only ever holds complete content: the bytes go to a hidden
 * temporary file in the same folder ({@code .<name>.tmp-<uuid>}), which is renamed to the final name
 * once closed. A crash leaves at most a temporary file, never a half-written file under the final name.
 * Works on any Hadoop {@code FileSystem} (rename within a folder is atomic on HDFS and local disks; on
 * object stores such as s3a it is a copy, still never visible half-written).
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /** Writes the content produced by {@code writer}, replacing any existing file. */
  public static void write(FileSystem fs, Path target, Writer writer) throws IOException {
    write(fs, target, writer, tmp -> {});
  }

  /**
   * Writes the content produced by {@code writer}, replacing any existing file; {@code beforeRename} is called
   * with the complete, closed temporary file just before it is renamed (a fault-injection point for tests).
   */
  public static void write(
      FileSystem fs, Path target, Writer writer, java.util.function.Consumer<Path> beforeRename)
      throws IOException {
    fs = withoutChecksumFiles(fs);
    Path tmp = new Path(target.getParent(), "." + target.getName() + ".tmp-" + UUID.randomUUID());
    boolean done = false;
    try {
      try (FSDataOutputStream out = fs.create(tmp, true)) {
        writer.write(out);
        out.hflush();
      }
      beforeRename.accept(tmp);
      if (fs.exists(target)) {
        fs.delete(target, false);
      }
      if (!fs.rename(tmp, target)) {
        throw new IOException("cannot rename " + tmp + " to " + target);
      }
      done = true;
    } finally {
      if (!done) {
        try {
          fs.delete(tmp, false);
        } catch (IOException ignored) {
          // the original failure matters more
        }
      }
    }
  }

  /**
   * Hadoop's local file system writes a hidden {@code .name.crc} beside every file; NeMo users expect
   * clean output folders, so local writes go to the raw local file system.
   */
  public static FileSystem withoutChecksumFiles(FileSystem fs) {
    if (fs instanceof org.apache.hadoop.fs.LocalFileSystem) {
      return ((org.apache.hadoop.fs.LocalFileSystem) fs).getRawFileSystem();
    }
    return fs;
  }

  /** True for the temporary names this class writes (callers skip them when listing). */
  public static boolean isTemporary(Path p) {
    return p.getName().startsWith(".") && p.getName().contains(".tmp-");
  }

  /**
   * Deletes the temporary files of this class directly in {@code dir} (not below it): what writers killed
   * between create and rename (an executor lost with SIGKILL) leave behind. Call it only when no writer of
   * {@code dir} is running. Lists {@code dir} as a stream (any number of files).
   *
   * @return how many were deleted
   */
  public static int deleteTemporaryFiles(FileSystem fs, Path dir) throws IOException {
    fs = withoutChecksumFiles(fs);
    int n = 0;
    org.apache.hadoop.fs.RemoteIterator<org.apache.hadoop.fs.FileStatus> it =
        fs.listStatusIterator(dir);
    while (it.hasNext()) {
      org.apache.hadoop.fs.FileStatus st = it.next();
      if (st.isFile() && isTemporary(st.getPath()) && fs.delete(st.getPath(), false)) {
        n++;
      }
    }
    return n;
  }

  /** Produces a file's content. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }
}
