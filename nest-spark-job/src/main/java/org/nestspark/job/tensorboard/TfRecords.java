package org.nestspark.job.tensorboard;

import java.io.IOException;
import java.io.OutputStream;
import java.util.zip.CRC32C;

/**
 * TensorFlow's record framing (TFRecord), the container of TensorBoard event files: per record
 *
 * <pre>
 * uint64 length (little-endian)
 * uint32 masked_crc32c(length bytes)
 * byte   data[length]
 * uint32 masked_crc32c(data)
 * </pre>
 * where {@code masked_crc32c(x) = rotate_right(crc32c(x), 15) + 0xa282ead8} (Castagnoli CRC).
 */
public final class TfRecords {
  static final int MASK_DELTA = 0xa282ead8;

  private TfRecords() {}

  /** The masked CRC32C of {@code b[off, off+len)}. */
  public static int maskedCrc32c(byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(b, off, len);
    int crc = (int) c.getValue();
    return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
  }

  /** Writes {@code data} as one record. */
  public static void write(OutputStream out, byte[] data) throws IOException {
    byte[] header = new byte[12];
    long n = data.length;
    for (int i = 0; i < 8; i++) {
      header[i] = (byte) (n >>> (8 * i));
    }
    putInt(header, 8, maskedCrc32c(header, 0, 8));
    byte[] footer = new byte[4];
    putInt(footer, 0, maskedCrc32c(data, 0, data.length));
    out.write(header);
    out.write(data);
    out.write(footer);
  }

  static void putInt(byte[] b, int off, int v) {
    for (int i = 0; i < 4; i++) {
      b[off + i] = (byte) (v >>> (8 * i));
    }
  }
}
