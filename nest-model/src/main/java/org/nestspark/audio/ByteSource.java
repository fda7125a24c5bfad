package org.nestspark.audio;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;

/**
 * Random-access bytes of one audio file: an in-memory array or a Hadoop {@code FSDataInputStream}
 * (positioned reads). The WAV decoder reads only the header and the requested frame range through it,
 * so decoding a few seconds out of a long file does not transfer the whole file.
 */
public interface ByteSource extends Closeable {

  /** Total length in bytes. */
  long length() throws IOException;

  /**
   * Reads exactly {@code length} bytes starting at {@code position}.
   *
   * @throws EOFException if the source ends first
   */
  void readFully(long position, byte[] buffer, int offset, int length) throws IOException;

  @Override
  default void close() throws IOException {}

  /** A source over an array (not copied). */
  static ByteSource of(byte[] data) {
    return new ByteSource() {
      @Override
      public long length() {
        return data.length;
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int len) throws IOException {
        if (position < 0 || len < 0 || position + len > data.length) {
          throw new EOFException(
              "read of " + len + " bytes at " + position + " past the end (" + data.length + ")");
        }
        System.arraycopy(data, (int) position, buffer, offset, len);
      }
    };
  }
}
