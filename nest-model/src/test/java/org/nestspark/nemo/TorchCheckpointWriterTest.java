package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The written {@code model_weights.ckpt} (docs/nest-numerics.md §11): record layout, storage and alignment, the pickle's
 * opcodes and globals, and round trips of every dtype and of state dicts larger than one SETITEMS batch.
 */
class TorchCheckpointWriterTest {
  /** The opcodes torch's own weights_only unpickler (torch/_weights_only_unpickler.py) implements. */
  private static final Set<String> TORCH_WEIGHTS_ONLY_OPCODES =
      Set.of(
          "APPEND",
          "APPENDS",
          "BINFLOAT",
          "BINGET",
          "BININT",
          "BININT1",
          "BININT2",
          "BINPERSID",
          "BINPUT",
          "BINUNICODE",
          "BUILD",
          "EMPTY_DICT",
          "EMPTY_LIST",
          "EMPTY_SET",
          "EMPTY_TUPLE",
          "GLOBAL",
          "LONG1",
          "LONG_BINGET",
          "LONG_BINPUT",
          "MARK",
          "NEWFALSE",
          "NEWOBJ",
          "NEWTRUE",
          "NONE",
          "PROTO",
          "REDUCE",
          "SETITEM",
          "SETITEMS",
          "SHORT_BINSTRING",
          "STOP",
          "TUPLE",
          "TUPLE1",
          "TUPLE2",
          "TUPLE3");

  @TempDir Path tmp;

  private static byte[] write(TorchCheckpointWriter w) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    w.writeTo(out);
    assertEquals(w.size(), out.size(), "planned size");
    return out.toByteArray();
  }

  /** One tensor of every dtype, with awkward values and shapes. */
  static LinkedHashMap<String, NemoTensor> everyDtype() {
    LinkedHashMap<String, NemoTensor> sd = new LinkedHashMap<>();
    sd.put(
        "f32",
        NemoTensor.of(
            "",
            new int[] {2, 3},
            new float[] {
              1,
              -0f,
              Float.MIN_VALUE,
              Float.MAX_VALUE,
              Float.intBitsToFloat(0x7fc01234),
              Float.NEGATIVE_INFINITY
            }));
    sd.put("f64", NemoTensor.of("", new int[] {1, 8192, 2}, randomDoubles(16384)));
    sd.put(
        "f16",
        NemoTensor.of(
            "", NemoDtype.FLOAT16, new int[] {4}, new float[] {1, -2.5f, 65504, 0x1p-24f}));
    sd.put(
        "bf16", NemoTensor.of("", NemoDtype.BFLOAT16, new int[] {2, 1}, new float[] {1e30f, -3}));
    sd.put("i64", NemoTensor.of("", new int[] {}, new long[] {Long.MIN_VALUE}));
    sd.put(
        "i32", NemoTensor.of("", NemoDtype.INT32, new int[] {2}, new int[] {Integer.MIN_VALUE, 7}));
    sd.put("i16", NemoTensor.of("", NemoDtype.INT16, new int[] {2}, new int[] {-32768, 32767}));
    sd.put("i8", NemoTensor.of("", NemoDtype.INT8, new int[] {2}, new int[] {-128, 127}));
    sd.put("u8", NemoTensor.of("", NemoDtype.UINT8, new int[] {2}, new int[] {0, 255}));
    sd.put(
        "bool",
        NemoTensor.of("", NemoDtype.BOOL, new int[] {3}, new boolean[] {true, false, true}));
    sd.put("empty", NemoTensor.of("", new int[] {0, 5}, new float[0]));
    sd.put(
        "rank5",
        NemoTensor.of(
            "", new int[] {1, 2, 1, 2, 3}, new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
    return sd;
  }

  private static double[] randomDoubles(int n) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(5);
    double[] d = new double[n];
    for (int i = 0; i < n; i++) {
      d[i] = r.nextGaussian();
    }
    return d;
  }

  @Test
  void recordsAreStoredAlignedAndReadableByAnIndependentZipReader() throws IOException {
    byte[] zip = write(TorchCheckpointWriter.plan(everyDtype(), Map.of(), true));
    TorchZipReader r = new TorchZipReader("t", "ckpt", RandomAccessBytes.of(zip));
    List<String> expected =
        new ArrayList<>(List.of("model_weights/data.pkl", "model_weights/byteorder"));
    TreeSet<String> keys = new TreeSet<>();
    for (int i = 0; i < everyDtype().size(); i++) {
      keys.add(Integer.toString(i));
    }
    keys.forEach(
        k -> expected.add("model_weights/data/" + k)); // string order: 0, 1, 10, 11, 2, ...
    expected.add("model_weights/version");
    assertEquals(expected, r.names());
    assertEquals(
        List.of("model_weights/data/0", "model_weights/data/1", "model_weights/data/10"),
        r.names().subList(2, 5));
    for (String name : r.names()) {
      TorchZipReader.Record rec = r.record(name);
      assertEquals(0, rec.method, name + " stored");
      assertEquals(rec.size, rec.compressedSize, name);
      assertEquals(0, r.dataOffset(name) % 64, name + " data 64-byte aligned");
      ByteBuffer local =
          ByteBuffer.wrap(zip, (int) rec.localHeaderOffset, 30).order(ByteOrder.LITTLE_ENDIAN);
      assertEquals(
          0x0808,
          local.getShort((int) rec.localHeaderOffset + 6) & 0xffff,
          name + " flags as torch");
    }
    assertEquals("3\n", new String(r.read("model_weights/version", 10), StandardCharsets.US_ASCII));
    assertEquals(
        "little", new String(r.read("model_weights/byteorder", 10), StandardCharsets.US_ASCII));
    // java.util.zip agrees on names, methods, sizes and CRCs
    Path f = tmp.resolve("w.ckpt");
    Files.write(f, zip);
    try (ZipFile z = new ZipFile(f.toFile())) {
      List<String> names = new ArrayList<>();
      for (ZipEntry e : Collections.list(z.entries())) {
        names.add(e.getName());
        assertEquals(ZipEntry.STORED, e.getMethod());
        byte[] content;
        try (InputStream in = z.getInputStream(e)) {
          content = in.readAllBytes();
        }
        CRC32 crc = new CRC32();
        crc.update(content);
        assertEquals(e.getCrc(), crc.getValue(), e.getName());
        assertArrayEquals(r.read(e.getName(), Integer.MAX_VALUE), content, e.getName());
      }
      assertEquals(expected, names);
    }
    // a storage record holds the tensor's little-endian bytes
    assertArrayEquals(
        everyDtype().get("f16").toLittleEndianBytes(), r.read("model_weights/data/2", 100));
  }

  @Test
  void picklesUseOnlyTorchWeightsOnlyOpcodesAndTheExpectedGlobals() throws IOException {
    NemoModel golden =
        NemoArchive.read(new ByteArrayInputStream(NemoGolden.gzipArchive()), "tiny_gz.nemo");
    byte[] pkl = StateDictPickler.pickle(golden.stateDict(), golden.metadata()).bytes;
    Set<String> globals = new LinkedHashSet<>();
    Set<String> ops = opcodes(pkl, globals);
    assertTrue(TORCH_WEIGHTS_ONLY_OPCODES.containsAll(ops), "opcodes " + ops);
    assertEquals(
        Set.of(
            "collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2",
            "torch.FloatStorage",
            "torch.LongStorage",
            "torch.DoubleStorage"),
        globals);
    assertEquals(2, pkl[1], "protocol 2");
    // every dtype: one storage class each, nothing else
    globals.clear();
    Map<String, Object> attrs = new LinkedHashMap<>();
    attrs.put("version", 1L);
    attrs.put("s", "x");
    attrs.put("f", 0.5);
    attrs.put("b", true);
    attrs.put("n", null);
    attrs.put("big", 1L << 40);
    ops = opcodes(StateDictPickler.pickle(everyDtype(), Map.of("", attrs)).bytes, globals);
    assertTrue(TORCH_WEIGHTS_ONLY_OPCODES.containsAll(ops), "opcodes " + ops);
    Set<String> expected =
        new TreeSet<>(Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2"));
    for (NemoDtype d : NemoDtype.values()) {
      expected.add("torch." + d.storageClass());
    }
    assertEquals(expected, new TreeSet<>(globals));
  }

  @Test
  void everyDtypeRoundTripsBitForBitThroughAnArchive() throws IOException {
    LinkedHashMap<String, NemoTensor> sd = everyDtype();
    Map<String, Map<String, Object>> md = new LinkedHashMap<>();
    md.put("", Map.of("version", 1L));
    md.put("bn", new LinkedHashMap<>(Map.of("version", 2L)));
    Map<String, Object> cfg = new LinkedHashMap<>();
    cfg.put("target", "some.Model");
    cfg.put("nemo_version", "2.6.0rc0");
    NemoModel m = NemoModel.of(cfg, sd).withMetadata(md);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    NemoArchive.write(m, out);
    NemoModel back = NemoArchive.read(new ByteArrayInputStream(out.toByteArray()), "rt.nemo");
    assertEquals(List.copyOf(sd.keySet()), List.copyOf(back.stateDict().keySet()));
    for (String k : sd.keySet()) {
      NemoTensor t = back.tensor(k);
      assertTrue(sd.get(k).sameValues(t), k);
      assertArrayEquals(sd.get(k).toLittleEndianBytes(), t.toLittleEndianBytes(), k);
    }
    assertEquals(
        0x7fc01234,
        Float.floatToRawIntBits(back.tensor("f32").toFloatArray()[4]),
        "NaN payload kept");
    assertEquals(md, back.metadata());
    assertEquals(cfg, back.config());
    assertEquals("some.Model", back.target().get());
  }

  @Test
  void largeStateDictsUseSeveralSetitemsBatchesAndLongMemoIndices() throws IOException {
    for (int n : new int[] {1, 999, 1000, 1001, 2000}) {
      LinkedHashMap<String, NemoTensor> sd = new LinkedHashMap<>();
      for (int i = 0; i < n; i++) {
        sd.put("layer." + i + ".w", NemoTensor.of("", new int[] {1}, new float[] {i}));
      }
      byte[] zip = write(TorchCheckpointWriter.plan(sd, Map.of(), true));
      TorchCheckpointReader.Result r =
          TorchCheckpointReader.read("t", "ckpt", RandomAccessBytes.of(zip));
      assertEquals(n, r.stateDict.size());
      int i = 0;
      for (Map.Entry<String, NemoTensor> e : r.stateDict.entrySet()) {
        assertEquals("layer." + i + ".w", e.getKey());
        assertEquals(i, e.getValue().toFloatArray()[0]);
        i++;
      }
      Set<String> ops = opcodes(StateDictPickler.pickle(sd, Map.of()).bytes, new LinkedHashSet<>());
      assertEquals(
          n % 1000 == 1, ops.contains("SETITEM"), n + " keys: a final batch of one is a SETITEM");
      assertEquals(n > 1, ops.contains("SETITEMS"), n + " keys");
      assertEquals(n > 50, ops.contains("LONG_BINPUT"), n + " keys");
    }
  }

  /** The opcode names of a pickle (only those the writer may emit are known; anything else fails). */
  private static Set<String> opcodes(byte[] p, Set<String> globals) {
    Set<String> ops = new TreeSet<>();
    ByteBuffer b = ByteBuffer.wrap(p).order(ByteOrder.LITTLE_ENDIAN);
    while (b.hasRemaining()) {
      int op = b.get() & 0xff;
      String name;
      switch (op) {
        case 0x80:
          name = "PROTO";
          b.get();
          break;
        case 'c':
          {
            name = "GLOBAL";
            StringBuilder s = new StringBuilder();
            int lines = 0;
            while (lines < 2) {
              char ch = (char) b.get();
              if (ch == '\n') {
                lines++;
                if (lines == 1) {
                  s.append('.');
                }
              } else {
                s.append(ch);
              }
            }
            globals.add(s.toString());
            break;
          }
        case 'q':
          name = "BINPUT";
          b.get();
          break;
        case 'r':
          name = "LONG_BINPUT";
          b.getInt();
          break;
        case 'h':
          name = "BINGET";
          b.get();
          break;
        case 'j':
          name = "LONG_BINGET";
          b.getInt();
          break;
        case '(':
          name = "MARK";
          break;
        case ')':
          name = "EMPTY_TUPLE";
          break;
        case 't':
          name = "TUPLE";
          break;
        case 0x85:
          name = "TUPLE1";
          break;
        case 0x86:
          name = "TUPLE2";
          break;
        case 0x87:
          name = "TUPLE3";
          break;
        case 'R':
          name = "REDUCE";
          break;
        case 'Q':
          name = "BINPERSID";
          break;
        case 'X':
          {
            name = "BINUNICODE";
            int n = b.getInt();
            b.position(b.position() + n);
            break;
          }
        case 'K':
          name = "BININT1";
          b.get();
          break;
        case 'M':
          name = "BININT2";
          b.getShort();
          break;
        case 'J':
          name = "BININT";
          b.getInt();
          break;
        case 0x8a:
          {
            name = "LONG1";
            int n = b.get() & 0xff;
            b.position(b.position() + n);
            break;
          }
        case 'G':
          name = "BINFLOAT";
          b.getLong();
          break;
        case 0x88:
          name = "NEWTRUE";
          break;
        case 0x89:
          name = "NEWFALSE";
          break;
        case 'N':
          name = "NONE";
          break;
        case '}':
          name = "EMPTY_DICT";
          break;
        case 's':
          name = "SETITEM";
          break;
        case 'u':
          name = "SETITEMS";
          break;
        case 'b':
          name = "BUILD";
          break;
        case '.':
          name = "STOP";
          break;
        default:
          fail(String.format("unexpected opcode 0x%02x at %d", op, b.position() - 1));
          return ops;
      }
      ops.add(name);
      if (op == '.') {
        assertEquals(p.length, b.position(), "STOP is the last byte");
      }
    }
    return ops;
  }
}
