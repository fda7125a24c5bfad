package org.nestspark.nemo;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes an uncompressed POSIX tar as NeMo's {@code .nemo} archives are (docs/nest-numerics.md §11: {@code tarfile}
 * with arcname {@code .}): ustar headers, a PAX {@code x} header only where ustar cannot hold a name
 * (over 100 bytes) or a size (8 GiB or more), two zero blocks at the end, and the archive padded to
 * a multiple of 10240 bytes as Python's {@code tarfile} pads it. Also writes NeMo's tarred audio shards
 * ({@code nest shard}). Limits: regular files and directories only, uid/gid 0, no user names.
 */
public final class TarWriter {
  private static final int BLOCK = 512;
  private static final int RECORD = 20 * BLOCK;
  private static final long MAX_OCTAL_SIZE = 077777777777L;

  private final OutputStream out;
  private final long mtime;
  private long written;

  /** @param mtime modification time written into every header, seconds since the epoch */
  public TarWriter(OutputStream out, long mtime) {
    this.out = out;
    this.mtime = mtime;
  }

  /** A directory entry ({@code ./}). */
  void directory(String name) throws IOException {
    header(name, '5', 0755, 0);
  }

  /** A regular file with its content. */
  public void file(String name, byte[] content) throws IOException {
    fileHeader(name, content.length);
    out.write(content);
    pad(content.length);
  }

  /** The header of a regular file whose {@code size} content bytes the caller writes next, then {@link #pad}. */
  void fileHeader(String name, long size) throws IOException {
    header(name, '0', 0644, size);
  }

  /** Accounts for the {@code size} content bytes just written and writes the padding after them. */
  void pad(long size) throws IOException {
    int rem = (int) (size % BLOCK);
    if (rem != 0) {
      out.write(new byte[BLOCK - rem]);
    }
    written += roundUp(size, BLOCK);
  }

  /** The end-of-archive blocks and record padding. */
  public void finish() throws IOException {
    long end = written + 2 * BLOCK;
    long total = roundUp(end, RECORD);
    out.write(new byte[(int) (total - written)]);
    written = total;
  }

  private void header(String name, char type, int mode, long size) throws IOException {
    byte[] nameBytes = name.getBytes(StandardCharsets.UTF_8);
    StringBuilder pax = new StringBuilder();
    if (nameBytes.length > 100) {
      pax.append(paxRecord("path", name));
    }
    if (size > MAX_OCTAL_SIZE) {
      pax.append(paxRecord("size", Long.toString(size)));
    }
    if (pax.length() > 0) {
      byte[] payload = pax.toString().getBytes(StandardCharsets.UTF_8);
      writeHeader("././@PaxHeader".getBytes(StandardCharsets.UTF_8), 'x', 0644, payload.length);
      out.write(payload);
      written += payload.length;
      int rem = payload.length % BLOCK;
      if (rem != 0) {
        out.write(new byte[BLOCK - rem]);
        written += BLOCK - rem;
      }
    }
    byte[] stored = nameBytes.length > 100 ? java.util.Arrays.copyOf(nameBytes, 100) : nameBytes;
    writeHeader(stored, type, mode, size > MAX_OCTAL_SIZE ? 0 : size);
  }

  private void writeHeader(byte[] name, char type, int mode, long size) throws IOException {
    byte[] h = new byte[BLOCK];
    System.arraycopy(name, 0, h, 0, Math.min(100, name.length));
    octal(h, 100, 8, mode);
    octal(h, 108, 8, 0);
    octal(h, 116, 8, 0);
    octal(h, 124, 12, size);
    octal(h, 136, 12, mtime);
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    h[156] = (byte) type;
    byte[] magic = {'u', 's', 't', 'a', 'r', 0, '0', '0'};
    System.arraycopy(magic, 0, h, 257, magic.length);
    octal(h, 329, 8, 0);
    octal(h, 337, 8, 0);
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    byte[] chk = String.format("%06o", sum).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(chk, 0, h, 148, 6);
    h[154] = 0;
    h[155] = ' ';
    out.write(h);
    written += BLOCK;
  }

  private static void octal(byte[] h, int off, int len, long v) {
    byte[] s = String.format("%0" + (len - 1) + "o", v).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(s, 0, h, off, len - 1);
    h[off + len - 1] = 0;
  }

  /** A PAX record {@code "<len> key=value\n"} whose length counts itself. */
  private static String paxRecord(String key, String value) {
    int body =
        key.getBytes(StandardCharsets.UTF_8).length
            + value.getBytes(StandardCharsets.UTF_8).length
            + 3;
    int len = body + Integer.toString(body).length();
    if (Integer.toString(len).length() != Integer.toString(body).length()) {
      len = body + Integer.toString(len).length();
    }
    return len + " " + key + "=" + value + "\n";
  }

  private static long roundUp(long v, long m) {
    return (v + m - 1) / m * m;
  }
}
