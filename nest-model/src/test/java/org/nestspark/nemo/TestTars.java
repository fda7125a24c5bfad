package org.nestspark.nemo;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Builds tar archives and zip checkpoints for tests, including ones the real writers never produce
 * (links, devices, {@code ..} names, GNU long names, PAX overrides), independently of {@link TarWriter}.
 */
final class TestTars {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  /** A regular file. */
  TestTars file(String name, byte[] content) {
    header(name, '0', content.length, "", true);
    body(content);
    return this;
  }

  /** Any entry type (links, devices, directories) with no content. */
  TestTars special(String name, char type, String linkName) {
    header(name, type, 0, linkName, true);
    return this;
  }

  /** A regular file whose name is given by a preceding GNU {@code ././@LongLink} 'L' entry. */
  TestTars gnuLongName(String name, byte[] content) {
    byte[] n = (name + "\0").getBytes(StandardCharsets.UTF_8);
    header("././@LongLink", 'L', n.length, "", false);
    body(n);
    header(name.substring(0, Math.min(99, name.length())), '0', content.length, "", false);
    body(content);
    return this;
  }

  /** A regular file stored under {@code ustarName} whose real name comes from a PAX {@code path} record. */
  TestTars paxPath(String ustarName, String paxName, byte[] content) {
    String rec = "path=" + paxName + "\n";
    int len = rec.length() + 3;
    while ((len + " " + rec).length() != len) {
      len = (len + " " + rec).length();
    }
    byte[] pax = (len + " " + rec).getBytes(StandardCharsets.UTF_8);
    header("././@PaxHeader", 'x', pax.length, "", true);
    body(pax);
    return file(ustarName, content);
  }

  /** The archive with its two end blocks. */
  byte[] build() {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    o.writeBytes(out.toByteArray());
    o.writeBytes(new byte[1024]);
    return o.toByteArray();
  }

  private void header(String name, char type, long size, String link, boolean posix) {
    byte[] h = new byte[512];
    put(h, 0, 100, name);
    put(h, 100, 8, "0000644");
    put(h, 108, 8, "0000000");
    put(h, 116, 8, "0000000");
    put(h, 124, 12, String.format("%011o", size));
    put(h, 136, 12, String.format("%011o", 1700000000L));
    h[156] = (byte) type;
    put(h, 157, 100, link);
    if (posix) {
      put(h, 257, 6, "ustar");
      put(h, 263, 2, "00");
    } else {
      put(h, 257, 8, "ustar  ");
    }
    for (int i = 148; i < 156; i++) {
      h[i] = ' ';
    }
    int sum = 0;
    for (byte b : h) {
      sum += b & 0xff;
    }
    put(h, 148, 7, String.format("%06o", sum));
    out.writeBytes(h);
  }

  private void body(byte[] content) {
    out.writeBytes(content);
    int rem = content.length % 512;
    if (rem != 0) {
      out.writeBytes(new byte[512 - rem]);
    }
  }

  private static void put(byte[] h, int off, int len, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(b, 0, h, off, Math.min(len, b.length));
  }

  /** A zip of stored records, written by java.util.zip (so independent of the checkpoint writer). */
  static byte[] zip(String[] names, byte[][] contents) {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(bos)) {
      for (int i = 0; i < names.length; i++) {
        ZipEntry e = new ZipEntry(names[i]);
        e.setMethod(ZipEntry.STORED);
        e.setSize(contents[i].length);
        CRC32 crc = new CRC32();
        crc.update(contents[i]);
        e.setCrc(crc.getValue());
        z.putNextEntry(e);
        z.write(contents[i]);
        z.closeEntry();
      }
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return bos.toByteArray();
  }

  /** A {@code .nemo} (plain tar) of the golden config and the given checkpoint bytes. */
  static byte[] nemoWithCheckpoint(byte[] ckpt) {
    return new TestTars()
        .special("./", '5', "")
        .file("./model_config.yaml", NemoGolden.bytes("tiny_model_config.yaml"))
        .file("./model_weights.ckpt", ckpt)
        .build();
  }

  /** A torch-style checkpoint zip ({@code archive/data.pkl}, {@code archive/version}, storages). */
  static byte[] checkpoint(byte[] pickle, String[] storageKeys, byte[][] storages) {
    String[] names = new String[2 + storageKeys.length];
    byte[][] contents = new byte[names.length][];
    names[0] = "archive/data.pkl";
    contents[0] = pickle;
    for (int i = 0; i < storageKeys.length; i++) {
      names[1 + i] = "archive/data/" + storageKeys[i];
      contents[1 + i] = storages[i];
    }
    names[names.length - 1] = "archive/version";
    contents[names.length - 1] = "3\n".getBytes(StandardCharsets.US_ASCII);
    return zip(names, contents);
  }
}
