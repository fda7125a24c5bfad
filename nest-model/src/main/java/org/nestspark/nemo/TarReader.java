package org.nestspark.nemo;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A hand-written reader of the tar archives NeMo writes ({@code tarfile}, docs/nest-numerics.md §11): ustar headers,
 * POSIX PAX extended headers ({@code x}, and global {@code g}; Python's default format, so every member
 * of a NeMo 1.7+ archive is preceded by one), GNU long names ({@code L}/{@code K}) and GNU base-256
 * sizes. Members are returned one by one, in archive order.
 *
 * <p>Nothing is ever written to disk by this class. Every member is checked as soon as its header is
 * read, so an unsafe archive is refused before any member content is used: absolute paths
 * ({@code /x}, {@code C:\x}), {@code ..} components, symbolic and hard links, devices and FIFOs, and
 * unknown entry types each raise {@link NemoFormatException} naming the archive and the member.
 *
 * <p>Two modes: over a {@link RandomAccessBytes} (a plain tar: member contents are handed out as
 * slices, read in place) or over a sequential stream (a gzip tar: contents are copied to memory, or
 * to a temporary file when they are larger than a limit).
 *
 * <p>Limits: PAX and GNU long-name headers at most 1 MiB each; sizes as octal (at most 21 digits) or GNU
 * base-256 (below 2^63); a member read whole at most the caller's limit ({@link #readContent}: the YAML
 * config's); over a stream, a member up to the caller's memory limit (256 MiB for {@code .nemo} weights) is
 * copied to memory in a buffer that grows with the bytes actually read, a larger one to a temporary file as
 * it is read, so a size claimed in a header never allocates more than the archive holds. In place, a member
 * must lie within the archive before it is handed out.
 *
 * <p>Also the reader of NeMo's tarred audio shards ({@code org.nestspark.tarred}, docs/nest-numerics.md §2
 * "Other loaders"), over a sequential Hadoop stream: there a member's content read into memory is at most
 * 2 GiB, and a corrupt header (checksum mismatch) ends the archive, since tar has no way to find the next
 * header.
 */
public final class TarReader {
  private static final int BLOCK = 512;
  private static final int MAX_META = 1 << 20;
  private static final Pattern DRIVE = Pattern.compile("^[A-Za-z]:.*");

  /** One member. */
  public static final class Entry {
    /** The member name as stored (after PAX/GNU long-name overrides), e.g. {@code ./model_config.yaml}. */
    final String rawName;

    /** The name without {@code ./} and {@code .} components or trailing slash, e.g. {@code model_config.yaml}. */
    final String name;

    final char type;
    final long size;

    Entry(String rawName, String name, char type, long size) {
      this.rawName = rawName;
      this.name = name;
      this.type = type;
      this.size = size;
    }

    boolean isDirectory() {
      return type == '5';
    }

    /** A regular file (type {@code 0} or {@code 7}). */
    public boolean isFile() {
      return type == '0' || type == '7';
    }

    /** The normalized member name (no {@code ./}), e.g. {@code audio_1.wav}. */
    public String name() {
      return name;
    }

    /** Content length in bytes. */
    public long size() {
      return size;
    }
  }

  private final String archive;
  private final RandomAccessBytes source;
  private final InputStream stream;
  private long pos;
  private Entry current;
  private long currentDataStart;
  private boolean contentTaken;
  private boolean ended;
  private int entries;
  private final Map<String, String> globalPax = new HashMap<>();

  private TarReader(String archive, RandomAccessBytes source, InputStream stream) {
    this.archive = archive;
    this.source = source;
    this.stream = stream;
  }

  /** A reader over a plain tar held in random-access bytes. */
  static TarReader of(String archive, RandomAccessBytes source) {
    return new TarReader(archive, source, null);
  }

  /** A reader over a sequential stream of tar bytes (e.g. a decompressed gzip tar); {@code archive} names it in messages. */
  public static TarReader of(String archive, InputStream stream) {
    return new TarReader(archive, null, stream);
  }

  /**
   * The next member (directories included), or {@code null} at the end of the archive. Skips whatever
   * of the previous member's content was not read.
   *
   * @throws NemoFormatException on a corrupt or truncated archive or an unsafe member
   */
  public Entry next() throws IOException {
    if (ended) {
      return null;
    }
    skipRest();
    Map<String, String> pax = new HashMap<>();
    String longName = null;
    String longLink = null;
    while (true) {
      long headerPos = pos;
      byte[] h = readHeaderBlock();
      if (h == null || allZero(h)) {
        if (h == null && entries == 0 && headerPos == 0) {
          throw fail(null, "empty file: not a tar archive");
        }
        // End-of-archive marker (a zero block), or a clean end of file at a block boundary.
        ended = true;
        return null;
      }
      verifyChecksum(h, headerPos);
      char type = h[156] == 0 ? '0' : (char) (h[156] & 0xff);
      long size = numeric(h, 124, 12, headerPos);
      String name;
      if (longName != null) {
        name = longName;
      } else if (pax.containsKey("path")) {
        name = pax.get("path");
      } else if (globalPax.containsKey("path")) {
        name = globalPax.get("path");
      } else {
        name = cString(h, 0, 100);
        if (isPosixUstar(h)) {
          String prefix = cString(h, 345, 155);
          if (!prefix.isEmpty()) {
            name = prefix + "/" + name;
          }
        }
      }
      if (type == 'x' || type == 'g' || type == 'L' || type == 'K') {
        byte[] payload = readMeta(name, size);
        switch (type) {
          case 'x':
            pax.putAll(parsePax(payload, name));
            break;
          case 'g':
            globalPax.putAll(parsePax(payload, name));
            break;
          case 'L':
            longName = cString(payload, 0, payload.length);
            break;
          default:
            longLink = cString(payload, 0, payload.length);
            break;
        }
        continue;
      }
      String sizeOverride = pax.containsKey("size") ? pax.get("size") : globalPax.get("size");
      if (sizeOverride != null) {
        try {
          size = Long.parseLong(sizeOverride.trim());
        } catch (NumberFormatException e) {
          throw fail(name, "bad PAX size '" + sizeOverride + "'");
        }
        if (size < 0) {
          throw fail(name, "negative PAX size " + size);
        }
      }
      String link =
          longLink != null
              ? longLink
              : pax.containsKey("linkpath") ? pax.get("linkpath") : cString(h, 157, 100);
      String normalized = checkPath(name);
      checkType(name, type, link);
      entries++;
      current = new Entry(name, normalized, type, size);
      currentDataStart = pos;
      contentTaken = false;
      if (source != null && currentDataStart + current.size > source.size()) {
        throw fail(
            name,
            "truncated archive: the member needs "
                + current.size
                + " bytes but only "
                + (source.size() - currentDataStart)
                + " remain");
      }
      return current;
    }
  }

  /**
   * The whole content of the current member, which must be at most {@code maxBytes} long.
   *
   * @throws NemoFormatException when it is longer, or the archive ends inside it
   */
  public byte[] readContent(Entry e, int maxBytes) throws IOException {
    requireCurrent(e);
    if (e.size > maxBytes) {
      throw fail(
          e.rawName,
          "member is " + e.size + " bytes, more than the " + maxBytes + " accepted for it");
    }
    contentTaken = true;
    if (source == null) {
      return readStream(e.size, e.rawName);
    }
    byte[] b = new byte[(int) e.size];
    source.readFully(currentDataStart, b, 0, b.length);
    return b;
  }

  /**
   * Random access to the content of the current member: a slice of the archive in random-access mode;
   * otherwise a copy in memory (at most {@code memoryLimit} bytes) or in a temporary file deleted when
   * the result is closed.
   */
  RandomAccessBytes openContent(Entry e, long memoryLimit) throws IOException {
    requireCurrent(e);
    contentTaken = true;
    if (source != null) {
      return source.slice(currentDataStart, e.size);
    }
    if (e.size <= memoryLimit && e.size <= Integer.MAX_VALUE - 8) {
      return RandomAccessBytes.of(readStream(e.size, e.rawName));
    }
    try {
      RandomAccessBytes r = RandomAccessBytes.spool(stream, e.size);
      pos += e.size;
      return r;
    } catch (EOFException ex) {
      throw fail(e.rawName, "truncated archive: it ends inside this member", ex);
    }
  }

  // ---------------------------------------------------------------- internals

  private void requireCurrent(Entry e) {
    if (e != current || contentTaken) {
      throw new IllegalStateException("content of " + e.rawName + " is no longer available");
    }
  }

  /** Moves to the block after the current member's content (and padding). */
  private void skipRest() throws IOException {
    if (current == null) {
      return;
    }
    long end = currentDataStart + padded(current.size);
    if (source != null) {
      pos = end;
    } else {
      long skip = end - pos;
      try {
        stream.skipNBytes(skip);
      } catch (EOFException ex) {
        throw fail(current.rawName, "truncated archive: it ends inside this member", ex);
      }
      pos = end;
    }
    current = null;
  }

  /** The next 512-byte block, or {@code null} at a clean end of file. */
  private byte[] readHeaderBlock() throws IOException {
    byte[] b = new byte[BLOCK];
    if (source != null) {
      if (pos >= source.size()) {
        return null;
      }
      if (pos + BLOCK > source.size()) {
        throw fail(null, "truncated archive: it ends inside a header at byte " + source.size());
      }
      source.readFully(pos, b, 0, BLOCK);
    } else {
      int got = stream.readNBytes(b, 0, BLOCK);
      if (got == 0) {
        return null;
      }
      if (got < BLOCK) {
        throw fail(null, "truncated archive: it ends inside a header at byte " + (pos + got));
      }
    }
    pos += BLOCK;
    return b;
  }

  /** Reads the content of a PAX / GNU long-name entry (and its padding). */
  private byte[] readMeta(String name, long size) throws IOException {
    if (size > MAX_META) {
      throw fail(name, "extended header of " + size + " bytes is implausibly large");
    }
    byte[] b = new byte[(int) size];
    long start = pos;
    if (source != null) {
      if (start + padded(size) > source.size()) {
        throw fail(name, "truncated archive: it ends inside an extended header");
      }
      source.readFully(start, b, 0, b.length);
      pos = start + padded(size);
    } else {
      readStreamFully(b, name);
      try {
        stream.skipNBytes(padded(size) - size);
      } catch (EOFException ex) {
        throw fail(name, "truncated archive: it ends inside an extended header", ex);
      }
      pos = start + padded(size);
    }
    return b;
  }

  /**
   * The next {@code size} bytes of the stream, in a buffer that grows with the bytes actually read (a header
   * claiming more than the stream holds allocates no more than about twice what is there).
   */
  private byte[] readStream(long size, String member) throws IOException {
    byte[] b = stream.readNBytes((int) size);
    pos += b.length;
    if (b.length < size) {
      throw fail(
          member,
          "truncated archive: it ends "
              + (size - b.length)
              + " bytes before the end of this member");
    }
    return b;
  }

  private void readStreamFully(byte[] b, String member) throws IOException {
    int got = stream.readNBytes(b, 0, b.length);
    pos += got;
    if (got < b.length) {
      throw fail(
          member,
          "truncated archive: it ends "
              + (b.length - got)
              + " bytes before the end of this member");
    }
  }

  private Map<String, String> parsePax(byte[] payload, String member) throws NemoFormatException {
    Map<String, String> out = new HashMap<>();
    int p = 0;
    while (p < payload.length) {
      if (payload[p] == 0) {
        break; // some writers pad with NULs
      }
      int sp = p;
      while (sp < payload.length && payload[sp] != ' ') {
        sp++;
      }
      int len;
      try {
        len = Integer.parseInt(new String(payload, p, sp - p, StandardCharsets.US_ASCII));
      } catch (NumberFormatException e) {
        throw fail(member, "malformed PAX record at offset " + p);
      }
      if (len <= sp - p + 1 || p + len > payload.length || payload[p + len - 1] != '\n') {
        throw fail(member, "malformed PAX record at offset " + p);
      }
      String rec = new String(payload, sp + 1, p + len - 1 - (sp + 1), StandardCharsets.UTF_8);
      int eq = rec.indexOf('=');
      if (eq <= 0) {
        throw fail(member, "malformed PAX record '" + rec + "'");
      }
      out.put(rec.substring(0, eq), rec.substring(eq + 1));
      p += len;
    }
    return out;
  }

  private void verifyChecksum(byte[] h, long headerPos) throws NemoFormatException {
    long stored;
    try {
      stored = octal(h, 148, 8);
    } catch (NumberFormatException e) {
      stored = -1;
    }
    long unsigned = 0;
    long signed = 0;
    for (int i = 0; i < BLOCK; i++) {
      int v = (i >= 148 && i < 156) ? ' ' : h[i];
      unsigned += v & 0xff;
      signed += (i >= 148 && i < 156) ? ' ' : h[i];
    }
    if (stored != unsigned && stored != signed) {
      if (headerPos == 0) {
        throw fail(
            null,
            "not a tar archive (nor a gzip-compressed one): no valid tar header at the start");
      }
      throw fail(null, "corrupt tar header at byte " + headerPos + " (checksum mismatch)");
    }
  }

  private long numeric(byte[] h, int off, int len, long headerPos) throws NemoFormatException {
    if ((h[off] & 0x80) != 0) {
      if ((h[off] & 0x40) != 0) {
        throw fail(null, "negative base-256 number in the tar header at byte " + headerPos);
      }
      long v = h[off] & 0x3f;
      for (int i = 1; i < len; i++) {
        if ((v >>> 55) != 0) {
          throw fail(null, "base-256 number too large in the tar header at byte " + headerPos);
        }
        v = (v << 8) | (h[off + i] & 0xff);
      }
      return v;
    }
    try {
      return octal(h, off, len);
    } catch (NumberFormatException e) {
      throw fail(null, "malformed number in the tar header at byte " + headerPos);
    }
  }

  private static long octal(byte[] h, int off, int len) {
    int i = off;
    int end = off + len;
    while (i < end && (h[i] == ' ' || h[i] == 0)) {
      i++;
    }
    long v = 0;
    int digits = 0;
    while (i < end && h[i] >= '0' && h[i] <= '7') {
      v = v * 8 + (h[i] - '0');
      i++;
      digits++;
    }
    while (i < end) {
      if (h[i] != ' ' && h[i] != 0) {
        throw new NumberFormatException();
      }
      i++;
    }
    if (digits > 21) {
      throw new NumberFormatException();
    }
    return v;
  }

  private static boolean isPosixUstar(byte[] h) {
    return h[257] == 'u'
        && h[258] == 's'
        && h[259] == 't'
        && h[260] == 'a'
        && h[261] == 'r'
        && h[262] == 0;
  }

  private static String cString(byte[] b, int off, int len) {
    int end = off;
    while (end < off + len && b[end] != 0) {
      end++;
    }
    return new String(b, off, end - off, StandardCharsets.UTF_8);
  }

  private static boolean allZero(byte[] b) {
    for (byte x : b) {
      if (x != 0) {
        return false;
      }
    }
    return true;
  }

  private static long padded(long size) {
    return (size + BLOCK - 1) / BLOCK * BLOCK;
  }

  /** Refuses unsafe paths; returns the normalized name. */
  private String checkPath(String name) throws NemoFormatException {
    if (name.isEmpty()) {
      throw fail(name, "member with an empty name");
    }
    if (name.indexOf('\0') >= 0) {
      throw fail(name, "member name contains a NUL character");
    }
    if (name.startsWith("/") || name.startsWith("\\") || DRIVE.matcher(name).matches()) {
      throw fail(
          name,
          "refusing member with an absolute path (it would be extracted outside the target folder)");
    }
    List<String> parts = new ArrayList<>();
    for (String part : name.split("[/\\\\]")) {
      if (part.equals("..")) {
        throw fail(
            name,
            "refusing member whose path contains '..' (it would be extracted outside the target folder)");
      }
      if (!part.isEmpty() && !part.equals(".")) {
        parts.add(part);
      }
    }
    return String.join("/", parts);
  }

  private void checkType(String name, char type, String link) throws NemoFormatException {
    switch (type) {
      case '0':
      case '7':
      case '5':
        return;
      case '1':
        throw fail(
            name, "refusing hard link member (-> '" + link + "'): only regular files are accepted");
      case '2':
        throw fail(
            name,
            "refusing symbolic link member (-> '" + link + "'): only regular files are accepted");
      case '3':
      case '4':
        throw fail(name, "refusing device member: only regular files are accepted");
      case '6':
        throw fail(name, "refusing FIFO member: only regular files are accepted");
      default:
        throw fail(name, "unsupported tar entry type '" + type + "'");
    }
  }

  private NemoFormatException fail(String member, String reason) {
    return new NemoFormatException(archive, member, reason);
  }

  private NemoFormatException fail(String member, String reason, Throwable cause) {
    return new NemoFormatException(archive, member, reason, cause);
  }
}
