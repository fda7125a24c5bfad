package org.nestspark.nemo;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.apache.hadoop.fs.PositionedReadable;

/**
 * Random access to the bytes of an archive or of one archive member: an array, a window of a Hadoop
 * stream (positioned reads, so the weights of a plain-tar {@code .nemo} are read in place without
 * being copied), or a temporary file that is deleted on {@link #close()} (a large checkpoint inside a
 * gzip tar, which can only be read sequentially).
 */
interface RandomAccessBytes extends Closeable {

  /** Total length in bytes. */
  long size();

  /**
   * Reads exactly {@code len} bytes at {@code pos}.
   *
   * @throws EOFException when the range passes the end
   */
  void readFully(long pos, byte[] b, int off, int len) throws IOException;

  /** Reads {@code len} bytes at {@code pos} into a new array. */
  default byte[] read(long pos, int len) throws IOException {
    byte[] b = new byte[len];
    readFully(pos, b, 0, len);
    return b;
  }

  @Override
  default void close() throws IOException {}

  /** The bytes {@code [start, start + len)} of this source (closing the slice does not close this). */
  default RandomAccessBytes slice(long start, long len) {
    RandomAccessBytes parent = this;
    if (start < 0 || len < 0 || start + len > size()) {
      throw new IllegalArgumentException("slice " + start + "+" + len + " of " + size() + " bytes");
    }
    return new RandomAccessBytes() {
      @Override
      public long size() {
        return len;
      }

      @Override
      public void readFully(long pos, byte[] b, int off, int n) throws IOException {
        check(pos, n, len);
        parent.readFully(start + pos, b, off, n);
      }
    };
  }

  /** An array (not copied). */
  static RandomAccessBytes of(byte[] data) {
    return new RandomAccessBytes() {
      @Override
      public long size() {
        return data.length;
      }

      @Override
      public void readFully(long pos, byte[] b, int off, int len) throws IOException {
        check(pos, len, data.length);
        System.arraycopy(data, (int) pos, b, off, len);
      }
    };
  }

  /** A Hadoop stream of known length (not closed by {@link #close()}). */
  static RandomAccessBytes of(PositionedReadable in, long size) {
    return new RandomAccessBytes() {
      @Override
      public long size() {
        return size;
      }

      @Override
      public void readFully(long pos, byte[] b, int off, int len) throws IOException {
        check(pos, len, size);
        in.readFully(pos, b, off, len);
      }
    };
  }

  /**
   * Copies exactly {@code len} bytes of {@code in} to a new temporary file, deleted when the result is
   * closed (or when copying fails).
   *
   * @throws EOFException when the stream ends first
   */
  static RandomAccessBytes spool(InputStream in, long len) throws IOException {
    Path tmp = Files.createTempFile("nemo-ckpt-", ".tmp");
    boolean ok = false;
    FileChannel ch = null;
    try {
      ch =
          FileChannel.open(
              tmp,
              StandardOpenOption.READ,
              StandardOpenOption.WRITE,
              StandardOpenOption.DELETE_ON_CLOSE);
      byte[] buf = new byte[1 << 16];
      long left = len;
      while (left > 0) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, left));
        if (n < 0) {
          throw new EOFException("stream ended " + left + " bytes early");
        }
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
        while (bb.hasRemaining()) {
          ch.write(bb);
        }
        left -= n;
      }
      FileChannel channel = ch;
      ok = true;
      return new RandomAccessBytes() {
        @Override
        public long size() {
          return len;
        }

        @Override
        public void readFully(long pos, byte[] b, int off, int n) throws IOException {
          check(pos, n, len);
          ByteBuffer bb = ByteBuffer.wrap(b, off, n);
          long p = pos;
          while (bb.hasRemaining()) {
            int r = channel.read(bb, p);
            if (r < 0) {
              throw new EOFException("temporary file ended early");
            }
            p += r;
          }
        }

        @Override
        public void close() throws IOException {
          try {
            channel.close();
          } finally {
            Files.deleteIfExists(tmp);
          }
        }
      };
    } finally {
      if (!ok) {
        try {
          if (ch != null) {
            ch.close();
          }
        } finally {
          Files.deleteIfExists(tmp);
        }
      }
    }
  }

  /** Throws {@link EOFException} unless {@code [pos, pos + len)} lies within {@code size} bytes. */
  static void check(long pos, int len, long size) throws EOFException {
    if (pos < 0 || len < 0 || pos > size - len) {
      throw new EOFException(
          "read of " + len + " bytes at " + pos + " passes the end (" + size + " bytes)");
    }
  }
}
