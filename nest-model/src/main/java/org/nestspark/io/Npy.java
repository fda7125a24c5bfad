package org.nestspark.io;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

/**
 * Reads and writes NumPy's {@code .npy} format (the golden data, feature dumps, extracted features).
 *
 * <p>Reading accepts format versions 1.0, 2.0 and 3.0, the dtypes of {@link NpyDtype} in either byte
 * order, C or Fortran order (Fortran data is reordered to C order), and gzip-compressed files
 * ({@code .npy.gz}, recognised by the gzip magic bytes, whatever the file name).
 *
 * <p>Writing produces exactly what {@code numpy.save} (NumPy 1.24 to 2.x) writes for a C-order
 * little-endian array: format 1.0 (2.0 only if the header would not fit), the same header dictionary
 * text, the same 21-digit growth padding after the shape and the same 64-byte alignment, so files are
 * byte-identical to NumPy's. The writers never close the stream they are given, so callers can write
 * through Hadoop {@code FileSystem} streams or a {@code GZIPOutputStream}.
 */
public final class Npy {
  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

  /** numpy.lib.format.ARRAY_ALIGN. */
  private static final int ARRAY_ALIGN = 64;

  /** numpy.lib.format.GROWTH_AXIS_MAX_DIGITS. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;

  private static final int CHUNK = 1 << 16;

  /**
   * Longest header accepted (1 MiB; NumPy writes a few hundred bytes and its own reader stops at 10,000 by
   * default): a longer one is refused before anything is allocated for it.
   */
  static final int MAX_HEADER_BYTES = 1 << 20;

  /**
   * Elements allocated before any data is read; the array then grows with the data actually read, so a
   * header claiming more elements than the file holds costs at most twice the bytes present, never the claim.
   */
  private static final int INITIAL_ELEMENTS = 1 << 20;

  private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
  private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
  private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

  private Npy() {}

  // ---------------------------------------------------------------- reading

  /** Reads an {@code .npy} or {@code .npy.gz} file. */
  public static NpyArray read(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return read(in);
    }
  }

  /**
   * Reads one array from a stream holding an {@code .npy} file, plain or gzip-compressed. Does not close
   * the stream; a stream without mark support is buffered, so it may be read beyond the array.
   *
   * @throws IOException on a malformed header, an unsupported dtype or truncated data
   */
  public static NpyArray read(InputStream input) throws IOException {
    InputStream in = input.markSupported() ? input : new BufferedInputStream(input, CHUNK);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    if (b0 == 0x1f && b1 == 0x8b) {
      in = new BufferedInputStream(new GZIPInputStream(in, CHUNK), CHUNK);
    }
    byte[] magic = readFully(in, 8);
    for (int i = 0; i < MAGIC.length; i++) {
      if (magic[i] != MAGIC[i]) {
        throw new IOException("not an NPY file (bad magic)");
      }
    }
    int major = magic[6] & 0xff;
    int headerLen;
    if (major == 1) {
      byte[] l = readFully(in, 2);
      headerLen = (l[0] & 0xff) | (l[1] & 0xff) << 8;
    } else if (major == 2 || major == 3) {
      byte[] l = readFully(in, 4);
      long len = (l[0] & 0xffL) | (l[1] & 0xffL) << 8 | (l[2] & 0xffL) << 16 | (l[3] & 0xffL) << 24;
      if (len > Integer.MAX_VALUE) {
        throw new IOException("NPY header too long: " + len);
      }
      headerLen = (int) len;
    } else {
      throw new IOException("unsupported NPY format version " + major + "." + (magic[7] & 0xff));
    }
    if (headerLen > MAX_HEADER_BYTES) {
      throw new IOException(
          "NPY header of "
              + headerLen
              + " bytes is longer than the "
              + MAX_HEADER_BYTES
              + " accepted");
    }
    String header =
        new String(
            readFully(in, headerLen),
            major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
    Header h = parseHeader(header);
    NpyArray a = readData(in, h);
    if (h.fortranOrder && a.rank() > 1) {
      a = fortranToC(a);
    }
    return a;
  }

  private static final class Header {
    NpyDtype dtype;
    ByteOrder order;
    boolean fortranOrder;
    int[] shape;
  }

  private static Header parseHeader(String header) throws IOException {
    Header h = new Header();
    Matcher m = DESCR.matcher(header);
    if (!m.find()) {
      throw new IOException("NPY header has no (supported) 'descr': " + header.trim());
    }
    ByteOrder[] bo = new ByteOrder[1];
    try {
      h.dtype = NpyDtype.parse(m.group(1), bo);
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
    h.order = bo[0];
    m = FORTRAN.matcher(header);
    if (!m.find()) {
      throw new IOException("NPY header has no 'fortran_order': " + header.trim());
    }
    h.fortranOrder = m.group(1).equals("True");
    m = SHAPE.matcher(header);
    if (!m.find()) {
      throw new IOException("NPY header has no 'shape': " + header.trim());
    }
    List<Integer> dims = new ArrayList<>();
    for (String s : m.group(1).split(",")) {
      String t = s.trim();
      if (t.endsWith("L")) {
        t = t.substring(0, t.length() - 1); // Python 2 longs
      }
      if (!t.isEmpty()) {
        try {
          dims.add(Integer.parseInt(t));
        } catch (NumberFormatException e) {
          throw new IOException("bad NPY shape: (" + m.group(1) + ")", e);
        }
      }
    }
    h.shape = dims.stream().mapToInt(Integer::intValue).toArray();
    try {
      NpyArray.numElements(h.shape);
    } catch (IllegalArgumentException e) {
      throw new IOException(e.getMessage(), e);
    }
    return h;
  }

  private static NpyArray readData(InputStream in, Header h) throws IOException {
    int n = (int) NpyArray.numElements(h.shape);
    int item = h.dtype.itemSize();
    byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(item, (long) n * item))];
    ByteBuffer bb = ByteBuffer.wrap(chunk).order(h.order);
    int perChunk = chunk.length / item;
    Object data = allocate(h.dtype, Math.min(n, INITIAL_ELEMENTS));
    for (int done = 0; done < n; ) {
      int count = Math.min(perChunk, n - done);
      readFully(in, chunk, count * item);
      if (done + count > java.lang.reflect.Array.getLength(data)) {
        data =
            grow(
                data,
                (int)
                    Math.min(
                        n, Math.max(done + count, 2L * java.lang.reflect.Array.getLength(data))));
      }
      bb.clear();
      switch (h.dtype) {
        case FLOAT32:
          bb.asFloatBuffer().get((float[]) data, done, count);
          break;
        case FLOAT64:
          bb.asDoubleBuffer().get((double[]) data, done, count);
          break;
        case INT64:
          bb.asLongBuffer().get((long[]) data, done, count);
          break;
        case INT32:
          bb.asIntBuffer().get((int[]) data, done, count);
          break;
        case BOOL:
          boolean[] z = (boolean[]) data;
          for (int i = 0; i < count; i++) {
            z[done + i] = chunk[i] != 0;
          }
          break;
        default:
          throw new AssertionError(h.dtype);
      }
      done += count;
    }
    switch (h.dtype) {
      case FLOAT32:
        return NpyArray.of(h.shape, (float[]) data);
      case FLOAT64:
        return NpyArray.of(h.shape, (double[]) data);
      case INT64:
        return NpyArray.of(h.shape, (long[]) data);
      case INT32:
        return NpyArray.of(h.shape, (int[]) data);
      default:
        return NpyArray.of(h.shape, (boolean[]) data);
    }
  }

  /** Reorders Fortran-order (column-major) data into C order. */
  private static NpyArray fortranToC(NpyArray f) {
    int[] shape = f.shape();
    int rank = shape.length;
    int n = f.size();
    // Fortran strides (in elements): stride[0] = 1, stride[i] = stride[i-1] * shape[i-1].
    int[] fStride = new int[rank];
    int s = 1;
    for (int i = 0; i < rank; i++) {
      fStride[i] = s;
      s *= shape[i];
    }
    int[] src = new int[n];
    int[] idx = new int[rank];
    for (int c = 0; c < n; c++) {
      int off = 0;
      for (int i = 0; i < rank; i++) {
        off += idx[i] * fStride[i];
      }
      src[c] = off;
      for (int i = rank - 1; i >= 0; i--) {
        if (++idx[i] < shape[i]) {
          break;
        }
        idx[i] = 0;
      }
    }
    switch (f.dtype()) {
      case FLOAT32:
        {
          float[] a = f.floatData();
          float[] o = new float[n];
          for (int i = 0; i < n; i++) {
            o[i] = a[src[i]];
          }
          return NpyArray.of(shape, o);
        }
      case FLOAT64:
        {
          double[] a = f.doubleData();
          double[] o = new double[n];
          for (int i = 0; i < n; i++) {
            o[i] = a[src[i]];
          }
          return NpyArray.of(shape, o);
        }
      case INT64:
        {
          long[] a = f.longData();
          long[] o = new long[n];
          for (int i = 0; i < n; i++) {
            o[i] = a[src[i]];
          }
          return NpyArray.of(shape, o);
        }
      case INT32:
        {
          int[] a = f.intData();
          int[] o = new int[n];
          for (int i = 0; i < n; i++) {
            o[i] = a[src[i]];
          }
          return NpyArray.of(shape, o);
        }
      default:
        {
          boolean[] a = f.booleanData();
          boolean[] o = new boolean[n];
          for (int i = 0; i < n; i++) {
            o[i] = a[src[i]];
          }
          return NpyArray.of(shape, o);
        }
    }
  }

  private static Object allocate(NpyDtype dtype, int n) {
    switch (dtype) {
      case FLOAT32:
        return new float[n];
      case FLOAT64:
        return new double[n];
      case INT64:
        return new long[n];
      case INT32:
        return new int[n];
      case BOOL:
        return new boolean[n];
      default:
        throw new AssertionError(dtype);
    }
  }

  /** A copy of {@code data} with room for {@code n} elements. */
  private static Object grow(Object data, int n) {
    Object bigger = java.lang.reflect.Array.newInstance(data.getClass().getComponentType(), n);
    System.arraycopy(data, 0, bigger, 0, java.lang.reflect.Array.getLength(data));
    return bigger;
  }

  private static byte[] readFully(InputStream in, int n) throws IOException {
    byte[] b = new byte[n];
    readFully(in, b, n);
    return b;
  }

  private static void readFully(InputStream in, byte[] b, int n) throws IOException {
    int off = 0;
    while (off < n) {
      int r = in.read(b, off, n - off);
      if (r < 0) {
        throw new EOFException("truncated NPY data: wanted " + n + " bytes, got " + off);
      }
      off += r;
    }
  }

  // ---------------------------------------------------------------- writing

  /** Writes a float32 array ({@code <f4}). Does not close {@code out}. */
  public static void write(OutputStream out, int[] shape, float[] data) throws IOException {
    write(out, NpyArray.of(shape, data));
  }

  /** Writes a float64 array ({@code <f8}). Does not close {@code out}. */
  public static void write(OutputStream out, int[] shape, double[] data) throws IOException {
    write(out, NpyArray.of(shape, data));
  }

  /** Writes an int64 array ({@code <i8}). Does not close {@code out}. */
  public static void write(OutputStream out, int[] shape, long[] data) throws IOException {
    write(out, NpyArray.of(shape, data));
  }

  /** Writes an int32 array ({@code <i4}). Does not close {@code out}. */
  public static void write(OutputStream out, int[] shape, int[] data) throws IOException {
    write(out, NpyArray.of(shape, data));
  }

  /** Writes a bool array ({@code |b1}). Does not close {@code out}. */
  public static void write(OutputStream out, int[] shape, boolean[] data) throws IOException {
    write(out, NpyArray.of(shape, data));
  }

  /** Writes {@code a} as a C-order little-endian NPY file, byte-identical to {@code numpy.save}. */
  public static void write(OutputStream out, NpyArray a) throws IOException {
    out.write(header(a.dtype(), a.shape()));
    int n = a.size();
    int item = a.dtype().itemSize();
    byte[] chunk = new byte[(int) Math.min(CHUNK, Math.max(item, (long) n * item))];
    ByteBuffer bb = ByteBuffer.wrap(chunk).order(ByteOrder.LITTLE_ENDIAN);
    int perChunk = chunk.length / item;
    for (int done = 0; done < n; ) {
      int count = Math.min(perChunk, n - done);
      bb.clear();
      switch (a.dtype()) {
        case FLOAT32:
          bb.asFloatBuffer().put(a.floatData(), done, count);
          break;
        case FLOAT64:
          bb.asDoubleBuffer().put(a.doubleData(), done, count);
          break;
        case INT64:
          bb.asLongBuffer().put(a.longData(), done, count);
          break;
        case INT32:
          bb.asIntBuffer().put(a.intData(), done, count);
          break;
        case BOOL:
          boolean[] z = a.booleanData();
          for (int i = 0; i < count; i++) {
            chunk[i] = (byte) (z[done + i] ? 1 : 0);
          }
          break;
        default:
          throw new AssertionError(a.dtype());
      }
      out.write(chunk, 0, count * item);
      done += count;
    }
  }

  /**
   * The complete header (magic, version, length and padded dictionary) that {@code numpy.save} writes
   * for a C-order array of this dtype and shape.
   */
  public static byte[] header(NpyDtype dtype, int[] shape) {
    NpyArray.numElements(shape); // validates
    StringBuilder sb = new StringBuilder();
    sb.append("{'descr': '").append(dtype.descr()).append("', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape.length; i++) {
      if (i > 0) {
        sb.append(", ");
      }
      sb.append(shape[i]);
    }
    if (shape.length == 1) {
      sb.append(',');
    }
    sb.append("), }");
    if (shape.length > 0) {
      // numpy reserves room to grow the first axis in place.
      int digits = Integer.toString(shape[0]).length();
      sb.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - digits));
    }
    int hlen = sb.length() + 1; // + '\n'
    int version = 1;
    int lenBytes = 2;
    int padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ARRAY_ALIGN);
    if (hlen + padlen > 0xffff) {
      version = 2;
      lenBytes = 4;
      padlen = ARRAY_ALIGN - ((MAGIC.length + 2 + lenBytes + hlen) % ARRAY_ALIGN);
    }
    sb.append(" ".repeat(padlen)).append('\n');
    byte[] dict = sb.toString().getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer bb =
        ByteBuffer.allocate(MAGIC.length + 2 + lenBytes + dict.length)
            .order(ByteOrder.LITTLE_ENDIAN);
    bb.put(MAGIC).put((byte) version).put((byte) 0);
    if (lenBytes == 2) {
      bb.putShort((short) dict.length);
    } else {
      bb.putInt(dict.length);
    }
    bb.put(dict);
    return bb.array();
  }
}
