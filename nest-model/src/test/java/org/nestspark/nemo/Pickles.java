package org.nestspark.nemo;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/** Hand-assembled pickles for tests (opcode by opcode, as the pickle documentation lists them). */
final class Pickles {
  private final ByteArrayOutputStream out = new ByteArrayOutputStream();

  static Pickles proto(int v) {
    Pickles p = new Pickles();
    p.op(0x80).op(v);
    return p;
  }

  Pickles op(int b) {
    out.write(b);
    return this;
  }

  Pickles global(String module, String name) {
    op('c');
    out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.UTF_8));
    return this;
  }

  /** Protocol 4: module and name as SHORT_BINUNICODE, then STACK_GLOBAL. */
  Pickles stackGlobal(String module, String name) {
    return shortStr(module).shortStr(name).op(0x93);
  }

  Pickles str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op('X');
    le32(b.length);
    out.writeBytes(b);
    return this;
  }

  Pickles shortStr(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    op(0x8c).op(b.length);
    out.writeBytes(b);
    return this;
  }

  Pickles integer(int v) {
    op('J');
    le32(v);
    return this;
  }

  Pickles mark() {
    return op('(');
  }

  Pickles tuple() {
    return op('t');
  }

  Pickles emptyTuple() {
    return op(')');
  }

  Pickles reduce() {
    return op('R');
  }

  /** {@code ('storage', torch.<cls>, key, 'cpu', numel)} then BINPERSID. */
  Pickles storage(String cls, String key, int numel) {
    return mark()
        .str("storage")
        .global("torch", cls)
        .str(key)
        .str("cpu")
        .integer(numel)
        .tuple()
        .op('Q');
  }

  /** {@code _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())}. */
  Pickles tensor(String cls, String key, int numel, int offset, int[] size, int[] stride) {
    global("torch._utils", "_rebuild_tensor_v2").mark();
    storage(cls, key, numel).integer(offset);
    mark();
    for (int s : size) {
      integer(s);
    }
    tuple().mark();
    for (int s : stride) {
      integer(s);
    }
    tuple().op(0x89).global("collections", "OrderedDict").emptyTuple().reduce();
    return tuple().reduce();
  }

  byte[] stop() {
    op('.');
    return out.toByteArray();
  }

  private void le32(int v) {
    out.write(v);
    out.write(v >>> 8);
    out.write(v >>> 16);
    out.write(v >>> 24);
  }
}
