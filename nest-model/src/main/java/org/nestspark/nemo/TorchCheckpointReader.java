package org.nestspark.nemo;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads {@code model_weights.ckpt}, i.e. {@code torch.save(model.state_dict())} in PyTorch's zip
 * format (docs/nest-numerics.md §11), into an ordered state dict.
 *
 * <p>Layout: {@code <root>/data.pkl} (found by suffix; {@code <root>} is normally
 * {@code model_weights/}), one storage record {@code <root>/data/<key>} per storage,
 * {@code <root>/version} (or {@code <root>/.data/version}), and, written by torch 2.x only, the
 * optional {@code <root>/byteorder} ({@code little} or {@code big}, honoured) and
 * {@code <root>/.data/serialization_id} (ignored). The pickle is run by {@link RestrictedUnpickler}.
 */
final class TorchCheckpointReader {
  private static final long MAX_PICKLE = 1L << 30;

  /** What a checkpoint holds. */
  static final class Result {
    final LinkedHashMap<String, NemoTensor> stateDict;
    final Map<String, Map<String, Object>> metadata;
    final String version;
    final ByteOrder byteOrder;

    Result(
        LinkedHashMap<String, NemoTensor> stateDict,
        Map<String, Map<String, Object>> metadata,
        String version,
        ByteOrder byteOrder) {
      this.stateDict = stateDict;
      this.metadata = metadata;
      this.version = version;
      this.byteOrder = byteOrder;
    }
  }

  private TorchCheckpointReader() {}

  /**
   * Reads a checkpoint.
   *
   * @param archive the {@code .nemo} it came from (for messages)
   * @param member its member name (for messages)
   * @throws NemoFormatException for anything but a plain state dict in torch's zip format
   */
  static Result read(String archive, String member, RandomAccessBytes ckpt) throws IOException {
    TorchZipReader zip = new TorchZipReader(archive, member, ckpt);
    String pkl = null;
    for (String n : zip.names()) {
      if (n.equals("data.pkl") || n.endsWith("/data.pkl")) {
        if (pkl != null && depth(n) == depth(pkl)) {
          throw zip.fail(
              null, "two data.pkl records ('" + pkl + "', '" + n + "'): ambiguous checkpoint");
        }
        if (pkl == null || depth(n) < depth(pkl)) {
          pkl = n;
        }
      }
    }
    if (pkl == null) {
      List<String> names = zip.names();
      throw zip.fail(
          null,
          "no data.pkl record: not a torch.save checkpoint (records: "
              + names.subList(0, Math.min(8, names.size()))
              + (names.size() > 8 ? ", ..." : "")
              + ")");
    }
    String root = pkl.substring(0, pkl.length() - "data.pkl".length());
    String versionName =
        zip.has(root + "version")
            ? root + "version"
            : zip.has(root + ".data/version") ? root + ".data/version" : null;
    if (versionName == null) {
      throw zip.fail(null, "no " + root + "version record: not a torch.save checkpoint");
    }
    String version = new String(zip.read(versionName, 64), StandardCharsets.US_ASCII).trim();
    if (!version.matches("[0-9]+")) {
      throw zip.fail(versionName, "version record holds '" + version + "', not a number");
    }
    ByteOrder order = ByteOrder.LITTLE_ENDIAN;
    if (zip.has(root + "byteorder")) {
      String bo = new String(zip.read(root + "byteorder", 64), StandardCharsets.US_ASCII).trim();
      if (bo.equals("big")) {
        order = ByteOrder.BIG_ENDIAN;
      } else if (!bo.equals("little")) {
        throw zip.fail(
            root + "byteorder", "byteorder record holds '" + bo + "', not little or big");
      }
    }
    ByteOrder storageOrder = order;
    byte[] pickle = zip.read(pkl, MAX_PICKLE);
    String storagePrefix = root + "data/";
    RestrictedUnpickler.StorageSource storages =
        new RestrictedUnpickler.StorageSource() {
          private String lastKey;
          private ByteBuffer last;

          @Override
          public ByteBuffer storage(String key, NemoDtype dtype, long numel) throws IOException {
            String name = storagePrefix + key;
            if (!key.equals(lastKey)) {
              if (!zip.has(name)) {
                throw zip.fail(
                    null,
                    "the pickle refers to storage '"
                        + key
                        + "' but there is no "
                        + name
                        + " record");
              }
              last = ByteBuffer.wrap(zip.read(name, Integer.MAX_VALUE - 8)).order(storageOrder);
              lastKey = key;
            }
            long want = numel * dtype.itemSize();
            if (last.capacity() != want) {
              throw zip.fail(
                  name,
                  "storage record holds "
                      + last.capacity()
                      + " bytes but the pickle says "
                      + numel
                      + " × "
                      + dtype.itemSize()
                      + " = "
                      + want);
            }
            return last;
          }
        };
    Object top = new RestrictedUnpickler(archive, member + "!" + pkl, pickle, storages).load();
    return new Result(stateDict(zip, pkl, top), metadata(top), version, order);
  }

  private static int depth(String name) {
    int d = 0;
    for (int i = 0; i < name.length(); i++) {
      if (name.charAt(i) == '/') {
        d++;
      }
    }
    return d;
  }

  private static LinkedHashMap<String, NemoTensor> stateDict(
      TorchZipReader zip, String pkl, Object top) throws NemoFormatException {
    if (!(top instanceof Map)) {
      throw zip.fail(
          pkl, "not a state dict: the pickle holds a " + RestrictedUnpickler.typeName(top));
    }
    LinkedHashMap<String, NemoTensor> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) top).entrySet()) {
      if (!(e.getKey() instanceof String)) {
        throw zip.fail(
            pkl, "not a state dict: a key is a " + RestrictedUnpickler.typeName(e.getKey()));
      }
      String key = (String) e.getKey();
      if (!(e.getValue() instanceof NemoTensor)) {
        throw zip.fail(
            pkl,
            "not a state dict: '"
                + key
                + "' holds a "
                + RestrictedUnpickler.typeName(e.getValue())
                + ", not a tensor");
      }
      out.put(key, ((NemoTensor) e.getValue()).withName(key));
    }
    return out;
  }

  /**
   * The OrderedDict's {@code _metadata} (module path → {@code {'version': n}}), kept when it has
   * torch's layout (str keys, dict values of str keys and scalar values); otherwise empty.
   */
  private static Map<String, Map<String, Object>> metadata(Object top) {
    if (!(top instanceof RestrictedUnpickler.PyOrderedDict)) {
      return Collections.emptyMap();
    }
    Object md = ((RestrictedUnpickler.PyOrderedDict) top).attributes.get("_metadata");
    if (!(md instanceof Map)) {
      return Collections.emptyMap();
    }
    LinkedHashMap<String, Map<String, Object>> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) md).entrySet()) {
      if (!(e.getKey() instanceof String) || !(e.getValue() instanceof Map)) {
        return Collections.emptyMap();
      }
      LinkedHashMap<String, Object> inner = new LinkedHashMap<>();
      for (Map.Entry<?, ?> f : ((Map<?, ?>) e.getValue()).entrySet()) {
        Object v = f.getValue();
        boolean scalar =
            v == null
                || v instanceof String
                || v instanceof Long
                || v instanceof BigInteger
                || v instanceof Double
                || v instanceof Boolean;
        if (!(f.getKey() instanceof String) || !scalar) {
          return Collections.emptyMap();
        }
        inner.put((String) f.getKey(), v);
      }
      out.put((String) e.getKey(), Collections.unmodifiableMap(inner));
    }
    return Collections.unmodifiableMap(out);
  }
}
