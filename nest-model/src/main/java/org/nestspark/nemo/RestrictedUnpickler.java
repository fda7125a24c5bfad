package org.nestspark.nemo;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A pickle virtual machine (protocols 2 to 5) that can build a PyTorch state dict and nothing else
 * (docs/nest-numerics.md §11: {@code data.pkl} of {@code torch.save(model.state_dict())}).
 *
 * <p>Accepted: the data opcodes (None, bools, ints, floats, str, bytes, tuples, lists, dicts, sets,
 * memo, marks, frames), and exactly these globals: {@code collections.OrderedDict} (called through
 * REDUCE or created by NEWOBJ, and given its {@code _metadata} attribute by BUILD),
 * {@code torch._utils._rebuild_tensor_v2}, {@code torch._utils._rebuild_parameter} and the storage
 * classes {@code torch.FloatStorage}, {@code DoubleStorage}, {@code HalfStorage},
 * {@code BFloat16Storage}, {@code LongStorage}, {@code IntStorage}, {@code ShortStorage},
 * {@code CharStorage}, {@code ByteStorage}, {@code BoolStorage} and {@code torch.UntypedStorage}
 * (as uint8), which may only appear inside a persistent id
 * {@code ('storage', <class>, '<key>', '<location>', numel)}. Any other GLOBAL/STACK_GLOBAL, INST,
 * OBJ, extension code or out-of-band buffer raises {@link NemoFormatException}
 * ("refusing to unpickle os.system ..."), before anything is called: nothing here ever loads a class
 * or calls code named by the pickle.
 *
 * <p>Tensors are materialised as soon as {@code _rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, hooks[, metadata])} is reduced: any strides (C order result), offsets, 0-d and empty
 * tensors; the storage bytes come from a {@link StorageSource}.
 *
 * <p>Limits: the machine itself runs iteratively (no recursion per nesting level), but containers nested
 * so deeply that hashing them as a dict key or set member exhausts the thread's stack are refused with
 * {@link NemoFormatException} ("containers nested too deeply to read"); a state dict nests three levels.
 */
final class RestrictedUnpickler {

  /** Supplies the bytes of one storage record: {@code numel × itemSize} bytes in the checkpoint's byte order. */
  interface StorageSource {
    ByteBuffer storage(String key, NemoDtype dtype, long numel) throws IOException;
  }

  /** A Python tuple (immutable, compares by content so it can be a dict key). */
  static final class PyTuple {
    final List<Object> items;

    PyTuple(List<Object> items) {
      this.items = Collections.unmodifiableList(new ArrayList<>(items));
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof PyTuple && items.equals(((PyTuple) o).items);
    }

    @Override
    public int hashCode() {
      return items.hashCode();
    }

    @Override
    public String toString() {
      return "tuple" + items;
    }
  }

  /** A {@code collections.OrderedDict}, with the instance attributes BUILD gave it (torch: {@code _metadata}). */
  static final class PyOrderedDict extends LinkedHashMap<Object, Object> {
    private static final long serialVersionUID = 1L;
    final Map<String, Object> attributes = new LinkedHashMap<>();
  }

  /** The callables a state dict needs. */
  enum Callable {
    ORDERED_DICT("collections.OrderedDict"),
    REBUILD_TENSOR_V2("torch._utils._rebuild_tensor_v2"),
    REBUILD_PARAMETER("torch._utils._rebuild_parameter");

    final String qualifiedName;

    Callable(String qualifiedName) {
      this.qualifiedName = qualifiedName;
    }
  }

  /** A storage class ({@code torch.FloatStorage}): only meaningful inside a persistent id. */
  static final class StorageType {
    final String name;
    final NemoDtype dtype;

    StorageType(String name, NemoDtype dtype) {
      this.name = name;
      this.dtype = dtype;
    }

    @Override
    public String toString() {
      return "torch." + name;
    }
  }

  /** A resolved persistent id. */
  static final class StorageRef {
    final NemoDtype dtype;
    final String key;
    final String location;
    final long numel;

    StorageRef(NemoDtype dtype, String key, String location, long numel) {
      this.dtype = dtype;
      this.key = key;
      this.location = location;
      this.numel = numel;
    }
  }

  private final String archive;
  private final String member;
  private final byte[] data;
  private final StorageSource storages;
  private int pos;
  private int opStart;
  private List<Object> stack = new ArrayList<>();
  private final Deque<List<Object>> metastack = new ArrayDeque<>();
  private final Map<Long, Object> memo = new HashMap<>();

  RestrictedUnpickler(String archive, String member, byte[] data, StorageSource storages) {
    this.archive = archive;
    this.member = member;
    this.data = data;
    this.storages = storages;
  }

  /**
   * Runs the pickle to its STOP and returns the object it built (tensors as {@link NemoTensor} with an
   * empty name, OrderedDicts as {@link PyOrderedDict}, dicts as {@link LinkedHashMap}, tuples as
   * {@link PyTuple}, lists as {@link ArrayList}, ints as {@link Long} or {@link BigInteger}, floats as
   * {@link Double}, str as {@link String}, bytes as {@code byte[]}, None as {@code null}).
   */
  Object load() throws IOException {
    try {
      return run();
    } catch (StackOverflowError e) {
      // containers nested so deeply that hashing or comparing them (a dict key, a set member)
      // exhausts the
      // stack; the VM itself runs iteratively (found by fuzzing, NemoFuzzTest#pickle)
      throw fail("containers nested too deeply to read");
    }
  }

  private Object run() throws IOException {
    while (true) {
      opStart = pos;
      int op = u8();
      switch (op) {
        case 0x80:
          { // PROTO
            int v = u8();
            if (v > 5) {
              throw fail("pickle protocol " + v + " is not supported (2 to 5 are)");
            }
            break;
          }
        case 0x95: // FRAME: the frame length is a hint only
          u64();
          break;
        case '.': // STOP
          if (stack.isEmpty()) {
            throw fail("STOP with an empty stack");
          }
          return stack.get(stack.size() - 1);
        case '(':
          metastack.push(stack);
          stack = new ArrayList<>();
          break;
        case '0': // POP
          if (!stack.isEmpty()) {
            stack.remove(stack.size() - 1);
          } else {
            popMark();
          }
          break;
        case '1': // POP_MARK
          popMark();
          break;
        case '2': // DUP
          push(peek());
          break;
        case 'N':
          push(null);
          break;
        case 0x88:
          push(Boolean.TRUE);
          break;
        case 0x89:
          push(Boolean.FALSE);
          break;
        case 'J':
          push((long) i32());
          break;
        case 'K':
          push((long) u8());
          break;
        case 'M':
          push((long) u16());
          break;
        case 0x8a: // LONG1
          push(decodeLong(bytes(u8())));
          break;
        case 0x8b:
          { // LONG4
            int n = i32();
            if (n < 0) {
              throw fail("negative LONG4 length");
            }
            push(decodeLong(bytes(n)));
            break;
          }
        case 'G':
          push(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble());
          break;
        case 'X': // BINUNICODE
          push(utf8(bytes(len(u32()))));
          break;
        case 0x8c: // SHORT_BINUNICODE
          push(utf8(bytes(u8())));
          break;
        case 0x8d: // BINUNICODE8
          push(utf8(bytes(len(u64()))));
          break;
        case 'T': // BINSTRING (Python 2 str; torch.load decodes it as UTF-8)
          push(utf8(bytes(len(i32()))));
          break;
        case 'U': // SHORT_BINSTRING
          push(utf8(bytes(u8())));
          break;
        case 'B':
          push(bytes(len(u32())));
          break;
        case 'C':
          push(bytes(u8()));
          break;
        case 0x8e: // BINBYTES8
        case 0x96: // BYTEARRAY8
          push(bytes(len(u64())));
          break;
        case ')':
          push(new PyTuple(List.of()));
          break;
        case 't':
          push(new PyTuple(popMark()));
          break;
        case 0x85:
          push(new PyTuple(popN(1)));
          break;
        case 0x86:
          push(new PyTuple(popN(2)));
          break;
        case 0x87:
          push(new PyTuple(popN(3)));
          break;
        case ']':
          push(new ArrayList<>());
          break;
        case 'l':
          push(new ArrayList<>(popMark()));
          break;
        case 'a':
          {
            Object v = pop();
            asList(peek(), "APPEND").add(v);
            break;
          }
        case 'e':
          {
            List<Object> items = popMark();
            asList(peek(), "APPENDS").addAll(items);
            break;
          }
        case '}':
          push(new LinkedHashMap<>());
          break;
        case 'd':
          {
            Map<Object, Object> m = new LinkedHashMap<>();
            putPairs(m, popMark());
            push(m);
            break;
          }
        case 's':
          {
            Object v = pop();
            Object k = pop();
            asMap(peek(), "SETITEM").put(k, v);
            break;
          }
        case 'u':
          {
            List<Object> items = popMark();
            putPairs(asMap(peek(), "SETITEMS"), items);
            break;
          }
        case 0x8f: // EMPTY_SET
          push(new LinkedHashSet<>());
          break;
        case 0x90:
          { // ADDITEMS
            List<Object> items = popMark();
            Object s = peek();
            if (!(s instanceof LinkedHashSet)) {
              throw fail("ADDITEMS on a " + typeName(s));
            }
            @SuppressWarnings("unchecked")
            Set<Object> set = (Set<Object>) s;
            set.addAll(items);
            break;
          }
        case 0x91: // FROZENSET
          push(Collections.unmodifiableSet(new LinkedHashSet<>(popMark())));
          break;
        case 'h':
          push(memoGet(u8()));
          break;
        case 'j':
          push(memoGet(u32()));
          break;
        case 'g':
          push(memoGet(parseIndex(line())));
          break;
        case 'q':
          memo.put((long) u8(), peek());
          break;
        case 'r':
          memo.put(u32(), peek());
          break;
        case 'p':
          memo.put(parseIndex(line()), peek());
          break;
        case 0x94: // MEMOIZE
          memo.put((long) memo.size(), peek());
          break;
        case 'c':
          { // GLOBAL
            String module = line();
            String name = line();
            push(resolveGlobal(module, name));
            break;
          }
        case 0x93:
          { // STACK_GLOBAL
            Object name = pop();
            Object module = pop();
            if (!(module instanceof String) || !(name instanceof String)) {
              throw fail("STACK_GLOBAL with non-string module or name");
            }
            push(resolveGlobal((String) module, (String) name));
            break;
          }
        case 'R':
          { // REDUCE
            Object args = pop();
            Object func = pop();
            push(call(func, args));
            break;
          }
        case 0x81:
          { // NEWOBJ
            Object args = pop();
            Object cls = pop();
            push(newObject(cls, args, null));
            break;
          }
        case 0x92:
          { // NEWOBJ_EX
            Object kwargs = pop();
            Object args = pop();
            Object cls = pop();
            push(newObject(cls, args, kwargs));
            break;
          }
        case 'b':
          { // BUILD
            Object state = pop();
            build(peek(), state);
            break;
          }
        case 'Q': // BINPERSID
          push(persistentLoad(pop()));
          break;
        case 'i':
          { // INST
            String module = line();
            String name = line();
            throw fail(
                "refusing to unpickle "
                    + module
                    + "."
                    + name
                    + " (INST opcode): a state dict never needs it");
          }
        case 'o':
          throw fail(
              "refusing to unpickle an object built by the OBJ opcode: a state dict never needs it");
        case 0x82:
        case 0x83:
        case 0x84:
          throw fail(
              "refusing to unpickle an object from the copyreg extension registry (EXT opcode)");
        case 0x97:
        case 0x98:
          throw fail(
              "refusing out-of-band pickle buffers (protocol 5 NEXT_BUFFER/READONLY_BUFFER)");
        case 'I':
        case 'L':
        case 'F':
        case 'S':
        case 'V':
        case 'P':
          throw fail(
              "unsupported protocol-0 pickle opcode '"
                  + (char) op
                  + "' (torch.save writes protocol 2)");
        default:
          throw fail(String.format("unknown pickle opcode 0x%02x", op));
      }
    }
  }

  // ---------------------------------------------------------------- semantics

  private Object resolveGlobal(String module, String name) throws NemoFormatException {
    String q = module + "." + name;
    for (Callable c : Callable.values()) {
      if (c.qualifiedName.equals(q)) {
        return c;
      }
    }
    if (module.equals("torch")) {
      NemoDtype d = NemoDtype.ofStorageClass(name);
      if (d != null) {
        return new StorageType(name, d);
      }
    }
    if ((module.equals("torch") || module.equals("torch.storage"))
        && name.equals("UntypedStorage")) {
      return new StorageType(name, NemoDtype.UINT8);
    }
    if (module.equals("torch") && name.endsWith("Storage")) {
      throw fail(
          "refusing to unpickle "
              + q
              + ": unsupported storage type (supported: "
              + Arrays.toString(storageClassNames())
              + ")");
    }
    throw fail(
        "refusing to unpickle "
            + q
            + ": a state dict needs only collections.OrderedDict, "
            + "torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and torch.*Storage classes");
  }

  private static String[] storageClassNames() {
    NemoDtype[] v = NemoDtype.values();
    String[] s = new String[v.length];
    for (int i = 0; i < v.length; i++) {
      s[i] = v[i].storageClass();
    }
    return s;
  }

  private Object call(Object func, Object args) throws IOException {
    if (!(func instanceof Callable)) {
      throw fail(
          "refusing to call "
              + describe(func)
              + " (REDUCE): only "
              + "collections.OrderedDict and torch._utils._rebuild_tensor_v2/_rebuild_parameter may be called");
    }
    List<Object> a = tuple(args, "REDUCE arguments");
    switch ((Callable) func) {
      case ORDERED_DICT:
        {
          PyOrderedDict d = new PyOrderedDict();
          if (a.size() > 1) {
            throw fail("OrderedDict called with " + a.size() + " arguments");
          }
          if (a.size() == 1 && a.get(0) != null) {
            Object items = a.get(0);
            List<Object> pairs =
                items instanceof PyTuple
                    ? ((PyTuple) items).items
                    : items instanceof List ? asList(items, "OrderedDict items") : null;
            if (pairs == null) {
              throw fail("OrderedDict called with a " + typeName(items));
            }
            for (Object p : pairs) {
              List<Object> kv =
                  p instanceof PyTuple
                      ? ((PyTuple) p).items
                      : p instanceof List ? asList(p, "pair") : null;
              if (kv == null || kv.size() != 2) {
                throw fail("OrderedDict item is not a pair");
              }
              d.put(kv.get(0), kv.get(1));
            }
          }
          return d;
        }
      case REBUILD_TENSOR_V2:
        return rebuildTensor(a);
      case REBUILD_PARAMETER:
        if (a.size() != 3 || !(a.get(0) instanceof NemoTensor)) {
          throw fail("_rebuild_parameter expects (tensor, requires_grad, hooks)");
        }
        return a.get(0);
      default:
        throw new AssertionError(func);
    }
  }

  private Object newObject(Object cls, Object args, Object kwargs) throws NemoFormatException {
    if (cls != Callable.ORDERED_DICT) {
      throw fail(
          "refusing to create "
              + describe(cls)
              + " (NEWOBJ): only collections.OrderedDict may be created");
    }
    if (!tuple(args, "NEWOBJ arguments").isEmpty()
        || (kwargs != null && !(kwargs instanceof Map && ((Map<?, ?>) kwargs).isEmpty()))) {
      throw fail("OrderedDict.__new__ with arguments");
    }
    return new PyOrderedDict();
  }

  private void build(Object inst, Object state) throws NemoFormatException {
    if (!(inst instanceof PyOrderedDict)) {
      throw fail(
          "refusing BUILD on a "
              + typeName(inst)
              + ": only an OrderedDict's attributes may be set");
    }
    PyOrderedDict d = (PyOrderedDict) inst;
    List<Object> parts = new ArrayList<>();
    if (state instanceof PyTuple && ((PyTuple) state).items.size() == 2) {
      parts.addAll(((PyTuple) state).items); // (dict state, slot state)
    } else {
      parts.add(state);
    }
    for (Object p : parts) {
      if (p == null) {
        continue;
      }
      if (!(p instanceof Map)) {
        throw fail("BUILD state is a " + typeName(p) + ", not a dict");
      }
      for (Map.Entry<?, ?> e : ((Map<?, ?>) p).entrySet()) {
        if (!(e.getKey() instanceof String)) {
          throw fail("BUILD attribute name is a " + typeName(e.getKey()));
        }
        d.attributes.put((String) e.getKey(), e.getValue());
      }
    }
  }

  private StorageRef persistentLoad(Object pid) throws NemoFormatException {
    List<Object> t = pid instanceof PyTuple ? ((PyTuple) pid).items : null;
    if (t == null || t.size() != 5 || !"storage".equals(t.get(0))) {
      throw fail(
          "unsupported persistent id "
              + pid
              + " (expected ('storage', <class>, key, location, numel))");
    }
    if (!(t.get(1) instanceof StorageType)) {
      throw fail("persistent id names " + describe(t.get(1)) + ", not a storage class");
    }
    Object key = t.get(2);
    if (!(key instanceof String) && !(key instanceof Long)) {
      throw fail("storage key is a " + typeName(key));
    }
    String k = key.toString();
    if (k.isEmpty() || k.contains("/") || k.contains("\\") || k.equals("..") || k.equals(".")) {
      throw fail("invalid storage key '" + k + "'");
    }
    Object location = t.get(3);
    if (!(t.get(4) instanceof Long) || (Long) t.get(4) < 0) {
      throw fail("storage numel is not a non-negative int: " + t.get(4));
    }
    return new StorageRef(
        ((StorageType) t.get(1)).dtype, k, String.valueOf(location), (Long) t.get(4));
  }

  private NemoTensor rebuildTensor(List<Object> a) throws IOException {
    if (a.size() != 6 && a.size() != 7) {
      throw fail("_rebuild_tensor_v2 expects 6 or 7 arguments, got " + a.size());
    }
    if (!(a.get(0) instanceof StorageRef)) {
      throw fail("_rebuild_tensor_v2 on a " + typeName(a.get(0)) + ", not a storage");
    }
    StorageRef s = (StorageRef) a.get(0);
    long offset = toLong(a.get(1), "storage offset");
    List<Object> sizeItems = tuple(a.get(2), "tensor size");
    List<Object> strideItems = tuple(a.get(3), "tensor stride");
    if (sizeItems.size() != strideItems.size()) {
      throw fail("tensor size " + sizeItems + " and stride " + strideItems + " differ in rank");
    }
    int[] size = new int[sizeItems.size()];
    long[] stride = new long[size.length];
    for (int i = 0; i < size.length; i++) {
      long d = toLong(sizeItems.get(i), "tensor size");
      if (d < 0 || d > Integer.MAX_VALUE) {
        throw fail("tensor dimension " + d + " is out of range");
      }
      size[i] = (int) d;
      stride[i] = toLong(strideItems.get(i), "tensor stride");
    }
    ByteBuffer bytes = storages.storage(s.key, s.dtype, s.numel);
    try {
      return NemoTensor.wrap(
          "", s.dtype, size, TensorCodec.view(s.dtype, bytes, s.numel, offset, size, stride));
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw fail(
          "bad tensor view of storage "
              + s.key
              + " (offset "
              + offset
              + ", size "
              + Arrays.toString(size)
              + ", stride "
              + Arrays.toString(stride)
              + "): "
              + e.getMessage());
    }
  }

  // ---------------------------------------------------------------- stack and input

  private void push(Object o) {
    stack.add(o);
  }

  private Object pop() throws NemoFormatException {
    if (stack.isEmpty()) {
      throw fail("pickle stack underflow");
    }
    return stack.remove(stack.size() - 1);
  }

  private Object peek() throws NemoFormatException {
    if (stack.isEmpty()) {
      throw fail("pickle stack underflow");
    }
    return stack.get(stack.size() - 1);
  }

  private List<Object> popN(int n) throws NemoFormatException {
    if (stack.size() < n) {
      throw fail("pickle stack underflow");
    }
    List<Object> sub = stack.subList(stack.size() - n, stack.size());
    List<Object> out = new ArrayList<>(sub);
    sub.clear();
    return out;
  }

  private List<Object> popMark() throws NemoFormatException {
    if (metastack.isEmpty()) {
      throw fail("pickle MARK missing");
    }
    List<Object> items = stack;
    stack = metastack.pop();
    return items;
  }

  private Object memoGet(long i) throws NemoFormatException {
    if (!memo.containsKey(i)) {
      throw fail("pickle memo key " + i + " is not defined");
    }
    return memo.get(i);
  }

  private int u8() throws NemoFormatException {
    need(1);
    return data[pos++] & 0xff;
  }

  private int u16() throws NemoFormatException {
    need(2);
    int v = (data[pos] & 0xff) | (data[pos + 1] & 0xff) << 8;
    pos += 2;
    return v;
  }

  private int i32() throws NemoFormatException {
    need(4);
    int v = ByteBuffer.wrap(data, pos, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
    pos += 4;
    return v;
  }

  private long u32() throws NemoFormatException {
    return i32() & 0xffffffffL;
  }

  private long u64() throws NemoFormatException {
    need(8);
    long v = ByteBuffer.wrap(data, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    pos += 8;
    return v;
  }

  private int len(long n) throws NemoFormatException {
    if (n < 0 || n > data.length - pos) {
      throw fail("truncated pickle: a string or bytes of " + n + " bytes passes its end");
    }
    return (int) n;
  }

  private byte[] bytes(int n) throws NemoFormatException {
    need(n);
    byte[] b = Arrays.copyOfRange(data, pos, pos + n);
    pos += n;
    return b;
  }

  private String line() throws NemoFormatException {
    int start = pos;
    while (pos < data.length && data[pos] != '\n') {
      pos++;
    }
    if (pos >= data.length) {
      throw fail("truncated pickle: unterminated text argument");
    }
    String s = new String(data, start, pos - start, StandardCharsets.UTF_8);
    pos++;
    return s;
  }

  private void need(int n) throws NemoFormatException {
    if (n < 0 || pos > data.length - n) {
      throw fail("truncated pickle (no STOP)");
    }
  }

  private String utf8(byte[] b) throws NemoFormatException {
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(b))
          .toString();
    } catch (CharacterCodingException e) {
      throw fail("string is not valid UTF-8");
    }
  }

  private long parseIndex(String s) throws NemoFormatException {
    try {
      return Long.parseLong(s.trim());
    } catch (NumberFormatException e) {
      throw fail("bad memo index '" + s + "'");
    }
  }

  private static Object decodeLong(byte[] le) {
    if (le.length == 0) {
      return 0L;
    }
    byte[] be = new byte[le.length];
    for (int i = 0; i < le.length; i++) {
      be[i] = le[le.length - 1 - i];
    }
    BigInteger v = new BigInteger(be);
    return v.bitLength() < 64 ? (Object) v.longValue() : v;
  }

  private List<Object> tuple(Object o, String what) throws NemoFormatException {
    if (!(o instanceof PyTuple)) {
      throw fail(what + " is a " + typeName(o) + ", not a tuple");
    }
    return ((PyTuple) o).items;
  }

  private long toLong(Object o, String what) throws NemoFormatException {
    if (!(o instanceof Long)) {
      throw fail(what + " is a " + typeName(o) + ", not an int");
    }
    return (Long) o;
  }

  @SuppressWarnings("unchecked")
  private List<Object> asList(Object o, String op) throws NemoFormatException {
    if (!(o instanceof ArrayList)) {
      throw fail(op + " on a " + typeName(o));
    }
    return (List<Object>) o;
  }

  @SuppressWarnings("unchecked")
  private Map<Object, Object> asMap(Object o, String op) throws NemoFormatException {
    if (!(o instanceof LinkedHashMap)) {
      throw fail(op + " on a " + typeName(o));
    }
    return (Map<Object, Object>) o;
  }

  private void putPairs(Map<Object, Object> m, List<Object> items) throws NemoFormatException {
    if (items.size() % 2 != 0) {
      throw fail("odd number of items for a dict");
    }
    for (int i = 0; i < items.size(); i += 2) {
      Object k = items.get(i);
      if (k instanceof List || k instanceof Map || k instanceof Set) {
        throw fail("unhashable dict key of type " + typeName(k));
      }
      m.put(k, items.get(i + 1));
    }
  }

  private static String describe(Object o) {
    if (o instanceof Callable) {
      return ((Callable) o).qualifiedName;
    }
    if (o instanceof StorageType) {
      return o.toString();
    }
    return "a " + typeName(o);
  }

  static String typeName(Object o) {
    if (o == null) {
      return "None";
    } else if (o instanceof String) {
      return "str";
    } else if (o instanceof Long || o instanceof BigInteger) {
      return "int";
    } else if (o instanceof Double) {
      return "float";
    } else if (o instanceof Boolean) {
      return "bool";
    } else if (o instanceof byte[]) {
      return "bytes";
    } else if (o instanceof PyTuple) {
      return "tuple";
    } else if (o instanceof PyOrderedDict) {
      return "OrderedDict";
    } else if (o instanceof Map) {
      return "dict";
    } else if (o instanceof List) {
      return "list";
    } else if (o instanceof Set) {
      return "set";
    } else if (o instanceof NemoTensor) {
      return "tensor";
    } else if (o instanceof StorageRef) {
      return "storage";
    } else if (o instanceof Callable || o instanceof StorageType) {
      return describe(o);
    }
    return Objects.toString(o.getClass().getSimpleName());
  }

  private NemoFormatException fail(String reason) {
    return new NemoFormatException(archive, member, reason + " (pickle offset " + opStart + ")");
  }
}
