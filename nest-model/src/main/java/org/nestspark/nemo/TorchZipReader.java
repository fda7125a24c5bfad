package org.nestspark.nemo;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Reads the records of PyTorch's zip checkpoint format ({@code model_weights.ckpt}, docs/nest-numerics.md §11) from
 * random-access bytes, through the central directory (zip64 included).
 *
 * <p>NeMo quirk it copes with (docs/nest-numerics.md §11): torch 1.13 writes local headers
 * with general-purpose flag 0x0808 (sizes and CRC only in a data descriptor after the data) and pads
 * every record to a 64-byte boundary with an {@code FB} extra field in the <em>local</em> header only
 * (the central directory's extra length is 0), so the data offset is computed from the local header's
 * own name and extra lengths. Every record read is checked against its CRC-32.
 *
 * <p>Limits: the central directory is at most 256 MiB; a record is read whole, at most the size its caller
 * accepts (and below 2 GiB); a deflated record may claim at most 1032 times its compressed size (deflate's
 * largest ratio), so a record's claimed size cannot make the reader allocate more than the bytes present
 * justify. Stored records are checked against the bytes present before they are read.
 */
final class TorchZipReader {
  private static final int LOCAL_SIG = 0x04034b50;
  private static final int CENTRAL_SIG = 0x02014b50;
  private static final int EOCD_SIG = 0x06054b50;
  private static final int ZIP64_LOCATOR_SIG = 0x07064b50;
  private static final int ZIP64_EOCD_SIG = 0x06064b50;
  private static final long MAX_CENTRAL_DIRECTORY = 256L << 20;

  /** Deflate's largest expansion: 258 bytes from 2 bits, i.e. at most 1032 bytes per compressed byte. */
  private static final long MAX_DEFLATE_RATIO = 1032;

  /** A central-directory entry. */
  static final class Record {
    final String name;
    final int flags;
    final int method;
    final long crc;
    final long compressedSize;
    final long size;
    final long localHeaderOffset;

    Record(
        String name,
        int flags,
        int method,
        long crc,
        long compressedSize,
        long size,
        long localHeaderOffset) {
      this.name = name;
      this.flags = flags;
      this.method = method;
      this.crc = crc;
      this.compressedSize = compressedSize;
      this.size = size;
      this.localHeaderOffset = localHeaderOffset;
    }
  }

  private final String archive;
  private final String member;
  private final RandomAccessBytes zip;
  private final Map<String, Record> records = new LinkedHashMap<>();

  /**
   * Parses the central directory.
   *
   * @param archive the {@code .nemo} (for messages)
   * @param member the checkpoint member, e.g. {@code ./model_weights.ckpt} (for messages)
   * @throws NemoFormatException when the bytes are not a zip, or a legacy (pre-zip) torch file
   */
  TorchZipReader(String archive, String member, RandomAccessBytes zip) throws IOException {
    this.archive = archive;
    this.member = member;
    this.zip = zip;
    long size = zip.size();
    byte[] head = zip.read(0, (int) Math.min(size, 512));
    int sig = head.length < 4 ? 0 : ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
    if (sig != LOCAL_SIG && sig != EOCD_SIG) {
      if (head.length > 0 && (head[0] & 0xff) == 0x80) {
        throw fail(
            null,
            "unsupported: legacy torch serialization (a bare pickle, as torch < 1.6 or "
                + "_use_new_zipfile_serialization=False writes); re-save it with torch >= 1.6");
      }
      if (head.length >= 262
          && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
        throw fail(null, "unsupported: legacy torch serialization (the tar format of torch < 0.4)");
      }
      if (head.length >= 8
          && new String(head, 0, 8, StandardCharsets.US_ASCII).equals("PYTORCH1")) {
        throw fail(null, "unsupported: the PyTorch preview-release archive format");
      }
      throw fail(null, "not a PyTorch zip checkpoint (no zip signature at the start)");
    }
    if (size < 22) {
      throw fail(null, "not a PyTorch zip checkpoint: only " + size + " bytes");
    }
    readCentralDirectory(size);
  }

  /** Record names in central-directory order. */
  List<String> names() {
    return Collections.unmodifiableList(new ArrayList<>(records.keySet()));
  }

  boolean has(String name) {
    return records.containsKey(name);
  }

  Record record(String name) {
    return records.get(name);
  }

  /** Offset of the first data byte of a record, computed from its local header. */
  long dataOffset(String name) throws IOException {
    Record r = require(name);
    long off = r.localHeaderOffset;
    if (off < 0 || off + 30 > zip.size()) {
      throw fail(name, "local header offset " + off + " is outside the zip");
    }
    ByteBuffer h = ByteBuffer.wrap(zip.read(off, 30)).order(ByteOrder.LITTLE_ENDIAN);
    if (h.getInt(0) != LOCAL_SIG) {
      throw fail(name, "no local file header at offset " + off);
    }
    int nameLen = h.getShort(26) & 0xffff;
    int extraLen = h.getShort(28) & 0xffff;
    byte[] localName = zip.read(off + 30, nameLen);
    if (!new String(localName, StandardCharsets.UTF_8).equals(name)) {
      throw fail(
          name,
          "local header names '"
              + new String(localName, StandardCharsets.UTF_8)
              + "', the central directory '"
              + name
              + "'");
    }
    long data = off + 30 + nameLen + extraLen;
    if (data + r.compressedSize > zip.size()) {
      throw fail(name, "record data passes the end of the zip (truncated checkpoint?)");
    }
    return data;
  }

  /**
   * The whole (decompressed) content of a record, CRC-checked.
   *
   * @throws NemoFormatException when missing, larger than {@code maxBytes}, corrupt or encrypted
   */
  byte[] read(String name, long maxBytes) throws IOException {
    Record r = require(name);
    if ((r.flags & 1) != 0) {
      throw fail(name, "encrypted zip records are not supported");
    }
    if (r.size > maxBytes || r.size > Integer.MAX_VALUE - 8) {
      throw fail(
          name, "record of " + r.size + " bytes is larger than the " + maxBytes + " accepted");
    }
    long data = dataOffset(name);
    byte[] out;
    if (r.method == 0) {
      if (r.compressedSize != r.size) {
        throw fail(
            name, "stored record with compressed size " + r.compressedSize + " != size " + r.size);
      }
      out = zip.read(data, (int) r.size);
    } else if (r.method == 8) {
      if (r.compressedSize > Integer.MAX_VALUE - 8) {
        throw fail(name, "compressed record too large");
      }
      if (r.size > r.compressedSize * MAX_DEFLATE_RATIO + 64) {
        throw fail(
            name,
            "deflated record of "
                + r.compressedSize
                + " bytes claims "
                + r.size
                + " bytes, more than deflate can produce from it");
      }
      byte[] comp = zip.read(data, (int) r.compressedSize);
      out = new byte[(int) r.size];
      Inflater inf = new Inflater(true);
      try {
        inf.setInput(comp);
        int n = 0;
        while (n < out.length && !inf.finished()) {
          int k = inf.inflate(out, n, out.length - n);
          if (k == 0 && (inf.needsInput() || inf.needsDictionary())) {
            break;
          }
          n += k;
        }
        if (n != out.length) {
          throw fail(name, "deflated record inflates to fewer bytes than its size " + r.size);
        }
      } catch (DataFormatException e) {
        throw fail(name, "corrupt deflated record: " + e.getMessage());
      } finally {
        inf.end();
      }
    } else {
      throw fail(name, "unsupported zip compression method " + r.method);
    }
    CRC32 crc = new CRC32();
    crc.update(out);
    if (crc.getValue() != r.crc) {
      throw fail(
          name,
          String.format(
              "CRC-32 mismatch (stored %08x, computed %08x): corrupt checkpoint",
              r.crc, crc.getValue()));
    }
    return out;
  }

  NemoFormatException fail(String record, String reason) {
    return new NemoFormatException(
        archive, record == null ? member : member + "!" + record, reason);
  }

  private Record require(String name) throws NemoFormatException {
    Record r = records.get(name);
    if (r == null) {
      throw fail(null, "no record '" + name + "' in the checkpoint zip");
    }
    return r;
  }

  private void readCentralDirectory(long size) throws IOException {
    int tailLen = (int) Math.min(size, 22 + 0xffff);
    long tailStart = size - tailLen;
    byte[] tail = zip.read(tailStart, tailLen);
    ByteBuffer t = ByteBuffer.wrap(tail).order(ByteOrder.LITTLE_ENDIAN);
    int eocd = -1;
    for (int i = tailLen - 22; i >= 0; i--) {
      if (t.getInt(i) == EOCD_SIG && i + 22 + (t.getShort(i + 20) & 0xffff) == tailLen) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) {
      throw fail(null, "no zip end-of-central-directory record: truncated or not a zip checkpoint");
    }
    long eocdPos = tailStart + eocd;
    long entries = t.getShort(eocd + 10) & 0xffff;
    long cdSize = t.getInt(eocd + 12) & 0xffffffffL;
    long cdOffset = t.getInt(eocd + 16) & 0xffffffffL;
    long cdLimit = eocdPos;
    if (eocdPos >= 20) {
      ByteBuffer loc = ByteBuffer.wrap(zip.read(eocdPos - 20, 20)).order(ByteOrder.LITTLE_ENDIAN);
      if (loc.getInt(0) == ZIP64_LOCATOR_SIG) {
        long z64 = loc.getLong(8);
        if (z64 < 0 || z64 + 56 > eocdPos - 20) {
          throw fail(null, "zip64 locator points outside the zip");
        }
        ByteBuffer z = ByteBuffer.wrap(zip.read(z64, 56)).order(ByteOrder.LITTLE_ENDIAN);
        if (z.getInt(0) != ZIP64_EOCD_SIG) {
          throw fail(null, "no zip64 end-of-central-directory record where the locator points");
        }
        entries = z.getLong(32);
        cdSize = z.getLong(40);
        cdOffset = z.getLong(48);
        cdLimit = z64;
      }
    }
    if (cdOffset < 0 || cdSize < 0 || cdOffset + cdSize > cdLimit) {
      throw fail(
          null,
          "central directory ("
              + cdSize
              + " bytes at "
              + cdOffset
              + ") lies outside the zip: truncated checkpoint?");
    }
    if (cdSize > MAX_CENTRAL_DIRECTORY) {
      throw fail(null, "central directory of " + cdSize + " bytes is implausibly large");
    }
    ByteBuffer cd =
        ByteBuffer.wrap(zip.read(cdOffset, (int) cdSize)).order(ByteOrder.LITTLE_ENDIAN);
    int p = 0;
    for (long i = 0; i < entries; i++) {
      if (p + 46 > cd.limit() || cd.getInt(p) != CENTRAL_SIG) {
        throw fail(null, "corrupt central directory at entry " + i);
      }
      int flags = cd.getShort(p + 8) & 0xffff;
      int method = cd.getShort(p + 10) & 0xffff;
      long crc = cd.getInt(p + 16) & 0xffffffffL;
      long csize = cd.getInt(p + 20) & 0xffffffffL;
      long usize = cd.getInt(p + 24) & 0xffffffffL;
      int nameLen = cd.getShort(p + 28) & 0xffff;
      int extraLen = cd.getShort(p + 30) & 0xffff;
      int commentLen = cd.getShort(p + 32) & 0xffff;
      long offset = cd.getInt(p + 42) & 0xffffffffL;
      if (p + 46 + nameLen + extraLen + commentLen > cd.limit()) {
        throw fail(null, "corrupt central directory at entry " + i);
      }
      byte[] nb = new byte[nameLen];
      cd.get(p + 46, nb);
      String name = new String(nb, StandardCharsets.UTF_8);
      int e = p + 46 + nameLen;
      int eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        int id = cd.getShort(e) & 0xffff;
        int len = cd.getShort(e + 2) & 0xffff;
        if (e + 4 + len > eEnd) {
          break;
        }
        if (id == 0x0001) {
          int q = e + 4;
          if (usize == 0xffffffffL && q + 8 <= e + 4 + len) {
            usize = cd.getLong(q);
            q += 8;
          }
          if (csize == 0xffffffffL && q + 8 <= e + 4 + len) {
            csize = cd.getLong(q);
            q += 8;
          }
          if (offset == 0xffffffffL && q + 8 <= e + 4 + len) {
            offset = cd.getLong(q);
          }
        }
        e += 4 + len;
      }
      if (records.put(name, new Record(name, flags, method, crc, csize, usize, offset)) != null) {
        throw fail(name, "duplicate record in the checkpoint zip");
      }
      p += 46 + nameLen + extraLen + commentLen;
    }
  }
}
