package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The state-dict-only unpickler (docs/nest-numerics.md §11, {@code data.pkl}): what it builds, and everything it must
 * refuse before calling anything.
 */
class RestrictedUnpicklerTest {
  private final Map<String, ByteBuffer> storages = new HashMap<>();
  private int loads;

  private Object load(byte[] pickle) throws IOException {
    return new RestrictedUnpickler(
            "t.nemo",
            "data.pkl",
            pickle,
            (key, dtype, numel) -> {
              loads++;
              ByteBuffer b = storages.get(key);
              assertEquals(numel * dtype.itemSize(), b.capacity(), "storage size");
              return b;
            })
        .load();
  }

  private String refusal(byte[] pickle) {
    return assertThrows(NemoFormatException.class, () -> load(pickle)).reason();
  }

  private void floatStorage(String key, float... v) {
    ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
    for (float x : v) {
      b.putFloat(x);
    }
    storages.put(key, b);
  }

  @Test
  void refusesEveryCallableButTheStateDictOnes() {
    assertTrue(
        refusal(Pickles.proto(2).global("os", "system").stop())
            .startsWith("refusing to unpickle os.system"));
    assertTrue(
        refusal(Pickles.proto(2).global("posix", "system").stop())
            .startsWith("refusing to unpickle posix.system"));
    assertTrue(
        refusal(Pickles.proto(4).stackGlobal("builtins", "eval").stop())
            .startsWith("refusing to unpickle builtins.eval"));
    assertTrue(
        refusal(Pickles.proto(2).global("torch", "load").stop())
            .startsWith("refusing to unpickle torch.load"));
    assertTrue(
        refusal(Pickles.proto(2).global("torch.nn.parameter", "Parameter").stop())
            .startsWith("refusing to unpickle torch.nn.parameter.Parameter"));
    assertTrue(
        refusal(Pickles.proto(2).global("torch", "ComplexFloatStorage").stop())
            .contains("unsupported storage type"));
    // INST and OBJ construct arbitrary classes; EXT uses the copyreg registry; out-of-band buffers
    byte[] inst = concat(new byte[] {(byte) 0x80, 2, '('}, "ios\nsystem\n.".getBytes());
    assertTrue(refusal(inst).startsWith("refusing to unpickle os.system (INST opcode)"));
    assertTrue(
        refusal(Pickles.proto(2).mark().global("collections", "OrderedDict").op('o').stop())
            .contains("OBJ"));
    assertTrue(refusal(Pickles.proto(2).op(0x82).op(1).stop()).contains("extension registry"));
    assertTrue(refusal(Pickles.proto(5).op(0x97).stop()).contains("out-of-band"));
    // the allowed names cannot be misused either
    assertTrue(
        refusal(Pickles.proto(2).global("torch", "FloatStorage").emptyTuple().reduce().stop())
            .startsWith("refusing to call torch.FloatStorage"));
    assertTrue(
        refusal(Pickles.proto(2).global("torch", "FloatStorage").emptyTuple().op(0x81).stop())
            .startsWith("refusing to create torch.FloatStorage"));
    assertTrue(
        refusal(Pickles.proto(2).op('}').op('}').op('b').stop())
            .startsWith("refusing BUILD on a dict"));
    assertTrue(
        refusal(
                Pickles.proto(2)
                    .mark()
                    .str("file")
                    .global("os", "system")
                    .str("k")
                    .str("cpu")
                    .integer(1)
                    .tuple()
                    .op('Q')
                    .stop())
            .startsWith("refusing to unpickle os.system"));
    assertTrue(
        refusal(Pickles.proto(2).str("x").op('Q').stop()).startsWith("unsupported persistent id"));
    assertTrue(refusal(Pickles.proto(6).stop()).contains("protocol 6"));
    assertTrue(refusal(Pickles.proto(2).op(0xff).stop()).contains("unknown pickle opcode 0xff"));
    assertTrue(refusal(Pickles.proto(2).op('S').stop()).contains("protocol-0"));
    assertTrue(
        refusal(java.util.Arrays.copyOf(Pickles.proto(2).str("abc").stop(), 7))
            .contains("truncated pickle"));
    byte[] noStop = Pickles.proto(2).op('N').stop();
    assertTrue(
        refusal(java.util.Arrays.copyOf(noStop, noStop.length - 1))
            .contains("truncated pickle (no STOP)"));
  }

  @Test
  void refusesBeforeTouchingAnyStorage() {
    floatStorage("0", 1f);
    byte[] p =
        Pickles.proto(2)
            .global("collections", "OrderedDict")
            .emptyTuple()
            .reduce()
            .str("w")
            .global("os", "system")
            .stop();
    assertTrue(refusal(p).startsWith("refusing to unpickle os.system"));
    assertEquals(0, loads);
  }

  @Test
  void materialisesStridedViewsInCOrder() throws IOException {
    floatStorage("0", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
    // the transpose of a contiguous (2, 3): size (3, 2), stride (1, 3)
    NemoTensor t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 0, new int[] {3, 2}, new int[] {1, 3})
                    .stop());
    assertArrayEquals(new int[] {3, 2}, t.shape());
    assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, t.toFloatArray());
    // offset 1, every other element of a row of 6, two rows: size (2, 3), stride (6, 2)
    t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 1, new int[] {2, 3}, new int[] {6, 2})
                    .stop());
    assertArrayEquals(new float[] {1, 3, 5, 7, 9, 11}, t.toFloatArray());
    // 3-d with an expanded (stride 0) dim and a contiguous inner dim
    t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 4, new int[] {2, 2, 2}, new int[] {0, 4, 1})
                    .stop());
    assertArrayEquals(new float[] {4, 5, 8, 9, 4, 5, 8, 9}, t.toFloatArray());
    // contiguous slice with an offset, 0-d scalar, empty tensor
    t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 10, new int[] {2}, new int[] {1})
                    .stop());
    assertArrayEquals(new float[] {10, 11}, t.toFloatArray());
    t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 7, new int[] {}, new int[] {})
                    .stop());
    assertEquals(0, t.rank());
    assertArrayEquals(new float[] {7}, t.toFloatArray());
    t =
        (NemoTensor)
            load(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 12, 0, new int[] {0, 5}, new int[] {5, 1})
                    .stop());
    assertEquals(0, t.numel());
  }

  @Test
  void refusesViewsOutsideTheirStorage() {
    floatStorage("0", 0, 1, 2, 3);
    assertTrue(
        refusal(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 4, 2, new int[] {3}, new int[] {1})
                    .stop())
            .contains("reaches element 4 of a storage of 4"));
    assertTrue(
        refusal(
                Pickles.proto(2)
                    .tensor("FloatStorage", "0", 4, 0, new int[] {2}, new int[] {-1})
                    .stop())
            .contains("negative stride"));
  }

  @Test
  void buildsOrderedDictsWithMetadataAndSharedStorages() throws IOException {
    floatStorage("0", 1, 2, 3, 4);
    byte[] p =
        Pickles.proto(2)
            .global("collections", "OrderedDict")
            .emptyTuple()
            .reduce()
            .op('(')
            .str("a")
            .tensor("FloatStorage", "0", 4, 0, new int[] {4}, new int[] {1})
            .str("b")
            .tensor("FloatStorage", "0", 4, 2, new int[] {2}, new int[] {1})
            .op('u')
            .op('}')
            .str("_metadata")
            .global("collections", "OrderedDict")
            .emptyTuple()
            .reduce()
            .str("")
            .op('}')
            .str("version")
            .op('K')
            .op(1)
            .op('s')
            .op('s')
            .op('s')
            .op('b')
            .stop();
    RestrictedUnpickler.PyOrderedDict d = (RestrictedUnpickler.PyOrderedDict) load(p);
    assertEquals(List.of("a", "b"), List.copyOf(d.keySet()));
    assertArrayEquals(new float[] {3, 4}, ((NemoTensor) d.get("b")).toFloatArray());
    assertEquals(Map.of("", Map.of("version", 1L)), d.attributes.get("_metadata"));
  }

  @Test
  void readsProtocol4And5Encodings() throws IOException {
    floatStorage("k", 5, 6);
    // FRAME, SHORT_BINUNICODE, STACK_GLOBAL, MEMOIZE, NEWOBJ of OrderedDict, _rebuild_parameter
    Pickles p = Pickles.proto(4).op(0x95);
    for (int i = 0; i < 8; i++) {
      p.op(0);
    }
    p.stackGlobal("collections", "OrderedDict")
        .op(0x94)
        .emptyTuple()
        .op(0x81)
        .op(0x94)
        .shortStr("w")
        .op(0x94)
        .stackGlobal("torch._utils", "_rebuild_parameter")
        .op(0x94)
        .tensor("FloatStorage", "k", 2, 0, new int[] {2}, new int[] {1})
        .op(0x89)
        .op('h')
        .op(0)
        .emptyTuple()
        .reduce()
        .op(0x87)
        .reduce()
        .op('s');
    Map<?, ?> d = (Map<?, ?>) load(p.stop());
    assertArrayEquals(new float[] {5, 6}, ((NemoTensor) d.get("w")).toFloatArray());
  }

  @Test
  void decodesPlainValues() throws IOException {
    Object v =
        load(
            Pickles.proto(2)
                .mark()
                .op('N')
                .op(0x88)
                .op(0x89)
                .op('K')
                .op(200)
                .op('M')
                .op(0x34)
                .op(0x12)
                .integer(-7)
                .op(0x8a)
                .op(9)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(1) // LONG1 2^64
                .op('G')
                .op(0x3f)
                .op(0xf8)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0)
                .op(0) // 1.5
                .str("\u00e9")
                .op('C')
                .op(2)
                .op(1)
                .op(2)
                .op(']')
                .op('}')
                .tuple()
                .stop());
    List<Object> items = ((RestrictedUnpickler.PyTuple) v).items;
    assertEquals(null, items.get(0));
    assertEquals(List.of(true, false, 200L, 0x1234L, -7L), items.subList(1, 6));
    assertEquals(java.math.BigInteger.ONE.shiftLeft(64), items.get(6));
    assertEquals(1.5, items.get(7));
    assertEquals("\u00e9", items.get(8));
    assertArrayEquals(new byte[] {1, 2}, (byte[]) items.get(9));
    assertEquals(List.of(), items.get(10));
    assertEquals(Map.of(), items.get(11));
  }

  @Test
  void memoGetReturnsTheSameObject() throws IOException {
    Object v = load(Pickles.proto(2).op(']').op('q').op(3).op('h').op(3).op(0x86).stop());
    List<Object> items = ((RestrictedUnpickler.PyTuple) v).items;
    assertSame(items.get(0), items.get(1));
    assertTrue(refusal(Pickles.proto(2).op('h').op(9).stop()).contains("memo key 9"));
  }

  private static byte[] concat(byte[] a, byte[] b) {
    return NemoGolden.concat(a, b);
  }
}
