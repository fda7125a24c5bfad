package org.nestspark.nemo;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.nestspark.testkit.Golden;

/**
 * The golden {@code .nemo} data, read through the test kit's {@link Golden} ({@code golden/nemo/}, see the README
 * there): NeMo's gzip archive of the tiny NEST model, its config, and the SHA-256 of every tensor as
 * computed by numpy from the golden {@code .npy} files (not from the archive).
 */
public final class NemoGolden {
  /** One line of {@code tensor_sha256.tsv}. */
  public static final class Expected {
    final String key;
    final NemoDtype dtype;
    final int[] shape;
    final String sha256;

    Expected(String key, NemoDtype dtype, int[] shape, String sha256) {
      this.key = key;
      this.dtype = dtype;
      this.shape = shape;
      this.sha256 = sha256;
    }
  }

  private NemoGolden() {}

  /** {@code golden/nemo/<rel>} ({@link Golden#bytes}). */
  public static byte[] bytes(String rel) {
    return Golden.bytes("nemo/" + rel);
  }

  /** {@code tiny_gz.nemo} as NeMo wrote it (gzip tar). */
  public static byte[] gzipArchive() {
    return bytes("tiny_gz.nemo");
  }

  /** The same archive decompressed: a plain PAX tar, the layout NeMo ≥ 1.7 writes. */
  public static byte[] plainArchive() {
    try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(gzipArchive()))) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static String configText() {
    return new String(bytes("tiny_model_config.yaml"), StandardCharsets.UTF_8);
  }

  public static List<Expected> expected() {
    List<Expected> out = new ArrayList<>();
    for (String line : new String(bytes("tensor_sha256.tsv"), StandardCharsets.UTF_8).split("\n")) {
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      String[] f = line.split("\t", -1);
      String[] dims = f[2].isEmpty() ? new String[0] : f[2].split(",");
      int[] shape = new int[dims.length];
      for (int i = 0; i < dims.length; i++) {
        shape[i] = Integer.parseInt(dims[i]);
      }
      out.add(new Expected(f[0], NemoDtype.valueOf(f[1].toUpperCase()), shape, f[3]));
    }
    return out;
  }

  public static String sha256(byte[] b) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The content of one member of a plain tar (a minimal reader for tests, independent of TarReader). */
  public static byte[] member(byte[] tar, String name) {
    int p = 0;
    String pax = null;
    while (p + 512 <= tar.length) {
      if (tar[p] == 0) {
        break;
      }
      String n = cString(tar, p, 100);
      long size = Long.parseLong(cString(tar, p + 124, 12).trim(), 8);
      char type = (char) tar[p + 156];
      int data = p + 512;
      if (type == 'x') {
        pax = new String(tar, data, (int) size, StandardCharsets.UTF_8);
      } else {
        if (pax != null && pax.contains(" path=")) {
          n = pax.substring(pax.indexOf(" path=") + 6, pax.indexOf('\n', pax.indexOf(" path=")));
        }
        pax = null;
        if (n.equals(name)) {
          byte[] out = new byte[(int) size];
          System.arraycopy(tar, data, out, 0, out.length);
          return out;
        }
      }
      p = data + (int) ((size + 511) / 512 * 512);
    }
    throw new IllegalStateException("no member " + name);
  }

  private static String cString(byte[] b, int off, int len) {
    int e = off;
    while (e < off + len && b[e] != 0) {
      e++;
    }
    return new String(b, off, e - off, StandardCharsets.UTF_8);
  }

  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      o.writeBytes(p);
    }
    return o.toByteArray();
  }
}
