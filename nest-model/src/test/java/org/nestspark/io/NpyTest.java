package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.testkit.Golden;

/** NPY reading and writing; the expected bytes were produced by {@code numpy.save} (NumPy 2.4). */
class NpyTest {
  /** {@code np.save(f, np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1)}, the whole file. */
  static final String F4_2X3 =
      "934e554d5059010076007b276465736372273a20273c6634272c2027666f7274"
          + "72616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20"
          + "33292c207d202020202020202020202020202020202020202020202020202020"
          + "202020202020202020202020202020202020202020202020202020202020200a"
          + "000080bf000000bf000000000000003f0000803f0000c03f";

  /** {@code np.save(f, np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3)))}, data part. */
  static final String I4_FORTRAN_DATA = "000000000300000001000000040000000200000005000000";

  /** {@code write_array(f, np.array([1.5, -2], dtype='>f8'), version=(3, 0))}, the whole file. */
  static final String F8_BE_V3 =
      "934e554d50590300740000007b276465736372273a20273e6638272c2027666f"
          + "727472616e5f6f72646572273a2046616c73652c20277368617065273a202832"
          + "2c292c207d202020202020202020202020202020202020202020202020202020"
          + "202020202020202020202020202020202020202020202020202020202020200a"
          + "3ff8000000000000c000000000000000";

  private static final HexFormat HEX = HexFormat.of();

  private static byte[] write(NpyArray a) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    Npy.write(bos, a);
    return bos.toByteArray();
  }

  private static NpyArray read(byte[] b) throws IOException {
    return Npy.read(new ByteArrayInputStream(b));
  }

  @Test
  void writesNumpyIdenticalBytes() throws IOException {
    float[] data = {-1f, -0.5f, 0f, 0.5f, 1f, 1.5f};
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    Npy.write(bos, new int[] {2, 3}, data);
    assertEquals(F4_2X3, HEX.formatHex(bos.toByteArray()));
    byte[] header = Npy.header(NpyDtype.FLOAT32, new int[] {2, 3});
    assertEquals(128, header.length);
    String text = new String(header, 10, 118, StandardCharsets.ISO_8859_1);
    assertEquals(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " ".repeat(58) + "\n",
        text);
  }

  @Test
  void headersOfOtherDtypesAndShapesMatchNumpy() throws IOException {
    // total file sizes and data bytes from numpy.save
    byte[] i8 = write(NpyArray.of(new int[] {3}, new long[] {1, -2, 3}));
    assertEquals(152, i8.length);
    assertEquals(
        "0100000000000000feffffffffffffff0300000000000000",
        HEX.formatHex(Arrays.copyOfRange(i8, 128, 152)));
    assertTrue(
        new String(i8, 0, 128, StandardCharsets.ISO_8859_1)
            .contains("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }"));
    byte[] b1 = write(NpyArray.of(new int[] {3}, new boolean[] {true, false, true}));
    assertEquals(131, b1.length);
    assertEquals("010001", HEX.formatHex(Arrays.copyOfRange(b1, 128, 131)));
    assertTrue(new String(b1, 0, 128, StandardCharsets.ISO_8859_1).contains("'descr': '|b1'"));
    byte[] scalar = write(NpyArray.of(new int[0], new double[] {2.5}));
    assertEquals(136, scalar.length);
    assertEquals("0000000000000440", HEX.formatHex(Arrays.copyOfRange(scalar, 128, 136)));
    String sh = new String(scalar, 10, 118, StandardCharsets.ISO_8859_1);
    assertEquals(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (), }" + " ".repeat(62) + "\n", sh);
    byte[] i4 = write(NpyArray.of(new int[] {1, 2}, new int[] {7, -8}));
    assertEquals("07000000f8ffffff", HEX.formatHex(Arrays.copyOfRange(i4, 128, 136)));
    byte[] empty = write(NpyArray.of(new int[] {0, 3}, new float[0]));
    assertEquals(128, empty.length);
    // the golden files were written by numpy: re-writing one reproduces it byte for byte
    byte[] golden;
    try (InputStream in = Golden.open("features/batch_lengths.npy")) {
      golden = in.readAllBytes();
    }
    assertArrayEquals(golden, write(read(golden)));
  }

  @Test
  void roundTripsEveryDtype() throws IOException {
    NpyArray[] arrays = {
      NpyArray.of(new int[] {2, 3, 4}, randomFloats(24)),
      NpyArray.of(new int[] {5}, new double[] {Math.PI, -0.0, Double.MIN_VALUE, 1e300, Double.NaN}),
      NpyArray.of(new int[] {2, 2}, new long[] {Long.MIN_VALUE, -1, 0, Long.MAX_VALUE}),
      NpyArray.of(new int[] {3, 1}, new int[] {Integer.MIN_VALUE, 42, Integer.MAX_VALUE}),
      NpyArray.of(new int[] {2, 2}, new boolean[] {true, false, false, true}),
      NpyArray.of(new int[0], new float[] {3.25f}),
      NpyArray.of(new int[] {0}, new long[0]),
    };
    for (NpyArray a : arrays) {
      byte[] bytes = write(a);
      assertEquals(
          0, (bytes.length - a.size() * a.dtype().itemSize()) % 64, "64-byte aligned header");
      NpyArray b = read(bytes);
      assertEquals(a.dtype(), b.dtype());
      assertArrayEquals(a.shape(), b.shape());
      assertArrayEquals(bytes, write(b), a.toString());
    }
    float[] big = randomFloats(200_000); // several write/read chunks
    NpyArray r = read(write(NpyArray.of(new int[] {400, 500}, big)));
    assertArrayEquals(big, r.floatData());
    double[] asDouble = r.toDoubleArray();
    assertEquals(big[12345], asDouble[12345], 0.0);
  }

  @Test
  void readsGzipAndFiles(@TempDir Path dir) throws IOException {
    float[] data = randomFloats(1000);
    Path gz = dir.resolve("a.npy.gz");
    try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(gz))) {
      Npy.write(o, new int[] {10, 100}, data);
    }
    NpyArray a = Npy.read(gz);
    assertArrayEquals(new int[] {10, 100}, a.shape());
    assertArrayEquals(data, a.floatData());
    Path plain = dir.resolve("a.npy");
    try (OutputStream o = Files.newOutputStream(plain)) {
      Npy.write(o, new int[] {1000}, data);
    }
    assertArrayEquals(data, Npy.read(plain).floatData());
  }

  @Test
  void readsFortranOrderAndVersion3BigEndian() throws IOException {
    String header =
        "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }" + " ".repeat(59) + "\n";
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    bos.write(HEX.parseHex("934e554d505901007600"));
    bos.write(header.getBytes(StandardCharsets.ISO_8859_1));
    bos.write(HEX.parseHex(I4_FORTRAN_DATA));
    NpyArray f = read(bos.toByteArray());
    assertArrayEquals(new int[] {2, 3}, f.shape());
    assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5}, f.intData()); // C order
    NpyArray v3 = read(HEX.parseHex(F8_BE_V3));
    assertEquals(NpyDtype.FLOAT64, v3.dtype());
    assertArrayEquals(new int[] {2}, v3.shape());
    assertArrayEquals(new double[] {1.5, -2.0}, v3.doubleData());
  }

  @Test
  void readsGoldenFiles() throws IOException {
    try (InputStream in = Golden.open("features/batch_lengths.npy")) {
      NpyArray a = Npy.read(in);
      assertEquals(NpyDtype.INT64, a.dtype());
      assertArrayEquals(new long[] {37, 100, 420, 1100, 200, 150}, a.longData());
    }
    try (InputStream in = Golden.open("features/mel_fb.npy.gz")) {
      NpyArray a = Npy.read(in);
      assertArrayEquals(new int[] {80, 257}, a.shape());
      assertEquals(NpyDtype.FLOAT32, a.dtype());
      double sum = 0;
      for (float v : a.floatData()) {
        sum += v;
      }
      assertEquals(2.55826078, sum, 1e-7);
    }
  }

  @Test
  void rejectsBadInput() {
    assertThrows(
        IOException.class,
        () -> read("not an npy file at all".getBytes(StandardCharsets.US_ASCII)));
    byte[] ok = HEX.parseHex(F4_2X3);
    assertThrows(EOFException.class, () -> read(Arrays.copyOf(ok, ok.length - 3)));
    byte[] badType = ok.clone();
    badType[22] = 'c'; // '<f4' -> '<c4' (complex)
    IOException e = assertThrows(IOException.class, () -> read(badType));
    assertTrue(e.getMessage().contains("<c4"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> NpyArray.of(new int[] {2, 2}, new float[3]));
    assertThrows(
        IllegalStateException.class, () -> NpyArray.of(new int[] {1}, new float[1]).longData());
  }

  private static float[] randomFloats(int n) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(n);
    float[] f = new float[n];
    for (int i = 0; i < n; i++) {
      f[i] = (float) r.nextGaussian();
    }
    return f;
  }
}
