package org.nestspark.nemo;

import java.io.ByteArrayOutputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes {@code data.pkl} of a state dict exactly as torch 1.13's {@code torch.save} does (docs/nest-numerics.md §11):
 * pickle protocol 2 from CPython's C pickler, an {@code collections.OrderedDict} built by REDUCE and
 * filled in batches of 1000 (SETITEMS, or SETITEM for a batch of one), each tensor as
 * {@code torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())} with the
 * persistent id {@code ('storage', torch.<Dtype>Storage, '<key>', 'cpu', numel)}, keys {@code 0, 1,
 * ...} in state-dict order, and, when there is metadata, a final BUILD that sets {@code _metadata}.
 * The memo (BINPUT/BINGET) follows the C pickler, so the golden {@code data.pkl} is reproduced byte
 * for byte.
 *
 * <p>Opcodes emitted: PROTO, GLOBAL, BINPUT, LONG_BINPUT, BINGET, LONG_BINGET, MARK, EMPTY_TUPLE,
 * TUPLE, TUPLE1, TUPLE2, TUPLE3, REDUCE, BINPERSID, BINUNICODE, BININT1, BININT2, BININT, LONG1,
 * BINFLOAT, NEWFALSE, NEWTRUE, NONE, EMPTY_DICT, SETITEM, SETITEMS, BUILD, STOP: all within the set
 * torch's own {@code weights_only} unpickler accepts.
 */
final class StateDictPickler {
  private static final int BATCH = 1000;

  /** The pickle and the tensors whose storages it names, storage key {@code i} = index {@code i}. */
  static final class Pickled {
    final byte[] bytes;
    final List<NemoTensor> storages;

    Pickled(byte[] bytes, List<NemoTensor> storages) {
      this.bytes = bytes;
      this.storages = storages;
    }
  }

  private final ByteArrayOutputStream out = new ByteArrayOutputStream(1 << 16);
  private final Map<String, Integer> globals = new HashMap<>();
  private final Map<String, Integer> sharedStrings = new HashMap<>();
  private int memo;

  private StateDictPickler() {}

  /** Pickles a state dict (and its {@code _metadata}, when not empty). */
  static Pickled pickle(
      Map<String, NemoTensor> stateDict, Map<String, Map<String, Object>> metadata) {
    StateDictPickler p = new StateDictPickler();
    List<NemoTensor> storages = new ArrayList<>();
    p.op(0x80);
    p.op(2);
    p.global("collections", "OrderedDict");
    p.op(')');
    p.op('R');
    p.put();
    List<Map.Entry<String, NemoTensor>> items = new ArrayList<>(stateDict.entrySet());
    p.batchedItems(
        items.size(),
        i -> {
          Map.Entry<String, NemoTensor> e = items.get(i);
          p.string(e.getKey(), false);
          p.tensor(e.getValue(), Integer.toString(storages.size()));
          storages.add(e.getValue());
        });
    if (!metadata.isEmpty()) {
      p.op('}');
      p.put();
      p.string("_metadata", false);
      p.global("collections", "OrderedDict");
      p.op(')');
      p.op('R');
      p.put();
      List<Map.Entry<String, Map<String, Object>>> md = new ArrayList<>(metadata.entrySet());
      p.batchedItems(
          md.size(),
          i -> {
            p.string(md.get(i).getKey(), false);
            p.dict(md.get(i).getValue());
          });
      p.op('s');
      p.op('b');
    }
    p.op('.');
    return new Pickled(p.out.toByteArray(), storages);
  }

  // ---------------------------------------------------------------- structures

  private void tensor(NemoTensor t, String storageKey) {
    global("torch._utils", "_rebuild_tensor_v2");
    op('(');
    // persistent id ('storage', torch.XStorage, key, 'cpu', numel): a 5-tuple, memoized
    op('(');
    string("storage", true);
    global("torch", t.dtype().storageClass());
    string(storageKey, false);
    string("cpu", true);
    integer(t.numel());
    op('t');
    put();
    op('Q');
    integer(0);
    int[] shape = t.shape();
    long[] size = new long[shape.length];
    for (int i = 0; i < shape.length; i++) {
      size[i] = shape[i];
    }
    intTuple(size);
    intTuple(TensorCodec.contiguousStrides(shape));
    op(0x89); // requires_grad False
    global("collections", "OrderedDict"); // backward hooks: OrderedDict()
    op(')');
    op('R');
    put();
    op('t');
    put();
    op('R');
    put();
  }

  private void intTuple(long[] v) {
    if (v.length == 0) {
      op(')');
      return;
    }
    if (v.length > 3) {
      op('(');
    }
    for (long x : v) {
      integer(x);
    }
    op(v.length == 1 ? 0x85 : v.length == 2 ? 0x86 : v.length == 3 ? 0x87 : 't');
    put();
  }

  /** A plain dict, as the C pickler's batch_dict_exact writes it. */
  private void dict(Map<String, Object> d) {
    op('}');
    put();
    if (d.isEmpty()) {
      return;
    }
    List<Map.Entry<String, Object>> items = new ArrayList<>(d.entrySet());
    if (items.size() == 1) {
      string(items.get(0).getKey(), true);
      value(items.get(0).getValue());
      op('s');
      return;
    }
    int i = 0;
    int inBatch;
    do {
      op('(');
      inBatch = 0;
      while (i < items.size() && inBatch < BATCH) {
        string(items.get(i).getKey(), true);
        value(items.get(i).getValue());
        i++;
        inBatch++;
      }
      op('u');
    } while (inBatch == BATCH);
  }

  /** Items of an OrderedDict (an iterator to the C pickler's batch_dict). */
  private void batchedItems(int n, ItemWriter w) {
    for (int start = 0; start < n; start += BATCH) {
      int end = Math.min(n, start + BATCH);
      if (end - start == 1) {
        w.write(start);
        op('s');
      } else {
        op('(');
        for (int i = start; i < end; i++) {
          w.write(i);
        }
        op('u');
      }
    }
  }

  private interface ItemWriter {
    void write(int index);
  }

  private void value(Object v) {
    if (v == null) {
      op('N');
    } else if (v instanceof Boolean) {
      op((Boolean) v ? 0x88 : 0x89);
    } else if (v instanceof Long
        || v instanceof Integer
        || v instanceof Short
        || v instanceof Byte) {
      integer(((Number) v).longValue());
    } else if (v instanceof BigInteger) {
      bigInteger((BigInteger) v);
    } else if (v instanceof Double || v instanceof Float) {
      op('G');
      ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN);
      b.putDouble(((Number) v).doubleValue());
      out.writeBytes(b.array());
    } else if (v instanceof String) {
      string((String) v, false);
    } else {
      throw new IllegalArgumentException(
          "cannot pickle a " + v.getClass().getSimpleName() + " in _metadata");
    }
  }

  // ---------------------------------------------------------------- atoms

  private void integer(long v) {
    if (v >= 0 && v <= 0xff) {
      op('K');
      op((int) v);
    } else if (v >= 0 && v <= 0xffff) {
      op('M');
      op((int) (v & 0xff));
      op((int) (v >>> 8));
    } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
      op('J');
      le32((int) v);
    } else {
      bigInteger(BigInteger.valueOf(v));
    }
  }

  private void bigInteger(BigInteger v) {
    if (v.bitLength() < 32) {
      integer(v.longValue());
      return;
    }
    byte[] be = v.toByteArray(); // minimal two's complement, as pickle's encode_long
    int n = be.length;
    if (n < 256) {
      op(0x8a);
      op(n);
    } else {
      op(0x8b);
      le32(n);
    }
    for (int i = n - 1; i >= 0; i--) {
      out.write(be[i]);
    }
  }

  /** BINUNICODE; {@code shared} strings (one Python object reused, e.g. 'storage', 'cpu') are memoized by value. */
  private void string(String s, boolean shared) {
    if (shared) {
      Integer m = sharedStrings.get(s);
      if (m != null) {
        get(m);
        return;
      }
    }
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    le32(b.length);
    out.writeBytes(b);
    int idx = put();
    if (shared) {
      sharedStrings.put(s, idx);
    }
  }

  private void global(String module, String name) {
    String key = module + "\n" + name;
    Integer m = globals.get(key);
    if (m != null) {
      get(m);
      return;
    }
    op('c');
    out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    globals.put(key, put());
  }

  private int put() {
    int idx = memo++;
    if (idx < 256) {
      op('q');
      op(idx);
    } else {
      op('r');
      le32(idx);
    }
    return idx;
  }

  private void get(int idx) {
    if (idx < 256) {
      op('h');
      op(idx);
    } else {
      op('j');
      le32(idx);
    }
  }

  private void le32(int v) {
    out.write(v);
    out.write(v >>> 8);
    out.write(v >>> 16);
    out.write(v >>> 24);
  }

  private void op(int b) {
    out.write(b);
  }
}
