package org.nestspark.nemo;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;

/**
 * Writes {@code model_weights.ckpt} in PyTorch's zip format the way torch's own writer (miniz in
 * {@code PyTorchStreamWriter}, torch 1.13) lays it out (docs/nest-numerics.md §11):
 * records {@code model_weights/data.pkl}, {@code model_weights/byteorder} ({@code little}; written by
 * torch 2.x, harmless to 1.13), {@code model_weights/data/<key>} in string order of the key and
 * {@code model_weights/version} ({@code 3\n}); every record stored (not compressed), its data 64-byte
 * aligned by an {@code FB} extra field in the local header, followed by a data descriptor (flags
 * 0x0808, CRC and sizes 0 in the local header, as miniz writes them); then the central directory, a
 * zip64 end record and locator (miniz always writes them) and the end record.
 *
 * <p>The total size is known before anything is written ({@link #size()}), so the checkpoint can be
 * streamed straight into a tar member; tensor bytes are encoded chunk by chunk, never all at once.
 */
final class TorchCheckpointWriter {
  static final String ROOT = "model_weights/";
  static final int ALIGNMENT = 64;
  private static final int DESCRIPTOR = 16;
  private static final long U32 = 0xffffffffL;
  private static final int CHUNK_ELEMENTS = 1 << 15;

  /** A record to write: name and content. */
  private static final class Rec {
    final String name;
    final byte[] nameBytes;
    final byte[] bytes;
    final NemoTensor tensor;
    final long length;
    long localOffset;
    int extraLength;
    long crc;

    Rec(String name, byte[] bytes, NemoTensor tensor) {
      this.name = name;
      this.nameBytes = name.getBytes(StandardCharsets.UTF_8);
      this.bytes = bytes;
      this.tensor = tensor;
      this.length =
          bytes != null ? bytes.length : (long) tensor.numel() * tensor.dtype().itemSize();
    }
  }

  private final List<Rec> records = new ArrayList<>();
  private final long centralOffset;
  private final long centralSize;
  private final long size;

  private TorchCheckpointWriter(List<Rec> recs) {
    records.addAll(recs);
    long cursor = 0;
    for (Rec r : records) {
      if (r.length >= U32) {
        throw new IllegalArgumentException(r.name + ": records of 4 GiB or more are not supported");
      }
      long start = cursor + 30 + r.nameBytes.length + 4;
      int pad = (int) ((ALIGNMENT - start % ALIGNMENT) % ALIGNMENT);
      r.localOffset = cursor;
      r.extraLength = 4 + pad;
      cursor += 30 + r.nameBytes.length + r.extraLength + r.length + DESCRIPTOR;
    }
    centralOffset = cursor;
    long cd = 0;
    for (Rec r : records) {
      cd += 46 + r.nameBytes.length + (r.localOffset >= U32 ? 12 : 0);
    }
    centralSize = cd;
    size = centralOffset + centralSize + 56 + 20 + 22;
  }

  /**
   * Plans the checkpoint of a state dict.
   *
   * @param includeByteorder whether to write the {@code byteorder} record (torch 1.13 did not; the
   *     golden checkpoint is reproduced byte for byte without it)
   */
  static TorchCheckpointWriter plan(
      Map<String, NemoTensor> stateDict,
      Map<String, Map<String, Object>> metadata,
      boolean includeByteorder) {
    StateDictPickler.Pickled p = StateDictPickler.pickle(stateDict, metadata);
    List<Rec> recs = new ArrayList<>();
    recs.add(new Rec(ROOT + "data.pkl", p.bytes, null));
    if (includeByteorder) {
      recs.add(new Rec(ROOT + "byteorder", "little".getBytes(StandardCharsets.US_ASCII), null));
    }
    TreeMap<String, NemoTensor> byKey = new TreeMap<>();
    for (int i = 0; i < p.storages.size(); i++) {
      byKey.put(Integer.toString(i), p.storages.get(i));
    }
    for (Map.Entry<String, NemoTensor> e : byKey.entrySet()) {
      recs.add(new Rec(ROOT + "data/" + e.getKey(), null, e.getValue()));
    }
    recs.add(new Rec(ROOT + "version", "3\n".getBytes(StandardCharsets.US_ASCII), null));
    return new TorchCheckpointWriter(recs);
  }

  /** Exact number of bytes {@link #writeTo} writes. */
  long size() {
    return size;
  }

  /** Streams the checkpoint; does not close {@code out}. */
  void writeTo(OutputStream out) throws IOException {
    long written = 0;
    for (Rec r : records) {
      if (written != r.localOffset) {
        throw new IllegalStateException("layout error at " + r.name);
      }
      ByteBuffer h = le(30 + r.nameBytes.length + r.extraLength);
      h.putInt(0x04034b50)
          .putShort((short) 0)
          .putShort((short) 0x0808)
          .putShort((short) 0)
          .putShort((short) 0)
          .putShort((short) 0)
          .putInt(0)
          .putInt(0)
          .putInt(0)
          .putShort((short) r.nameBytes.length)
          .putShort((short) r.extraLength);
      h.put(r.nameBytes);
      h.put((byte) 'F').put((byte) 'B').putShort((short) (r.extraLength - 4));
      for (int i = 4; i < r.extraLength; i++) {
        h.put((byte) 'Z');
      }
      out.write(h.array());
      CRC32 crc = new CRC32();
      if (r.bytes != null) {
        crc.update(r.bytes);
        out.write(r.bytes);
      } else {
        writeTensor(r.tensor, out, crc);
      }
      r.crc = crc.getValue();
      ByteBuffer d = le(DESCRIPTOR);
      d.putInt(0x08074b50).putInt((int) r.crc).putInt((int) r.length).putInt((int) r.length);
      out.write(d.array());
      written += h.capacity() + r.length + DESCRIPTOR;
    }
    for (Rec r : records) {
      boolean z64 = r.localOffset >= U32;
      ByteBuffer c = le(46 + r.nameBytes.length + (z64 ? 12 : 0));
      c.putInt(0x02014b50)
          .putShort((short) 0)
          .putShort((short) 0)
          .putShort((short) 0x0808)
          .putShort((short) 0)
          .putShort((short) 0)
          .putShort((short) 0)
          .putInt((int) r.crc)
          .putInt((int) r.length)
          .putInt((int) r.length)
          .putShort((short) r.nameBytes.length)
          .putShort((short) (z64 ? 12 : 0))
          .putShort((short) 0)
          .putShort((short) 0)
          .putShort((short) 0)
          .putInt(0)
          .putInt(z64 ? (int) U32 : (int) r.localOffset);
      c.put(r.nameBytes);
      if (z64) {
        c.putShort((short) 1).putShort((short) 8).putLong(r.localOffset);
      }
      out.write(c.array());
    }
    long zip64End = centralOffset + centralSize;
    int n = records.size();
    ByteBuffer e = le(56 + 20 + 22);
    e.putInt(0x06064b50)
        .putLong(44)
        .putShort((short) 0x031e)
        .putShort((short) 45)
        .putInt(0)
        .putInt(0)
        .putLong(n)
        .putLong(n)
        .putLong(centralSize)
        .putLong(centralOffset);
    e.putInt(0x07064b50).putInt(0).putLong(zip64End).putInt(1);
    e.putInt(0x06054b50)
        .putShort((short) 0)
        .putShort((short) 0)
        .putShort((short) Math.min(n, 0xffff))
        .putShort((short) Math.min(n, 0xffff))
        .putInt((int) Math.min(centralSize, U32))
        .putInt((int) Math.min(centralOffset, U32))
        .putShort((short) 0);
    out.write(e.array());
  }

  private static void writeTensor(NemoTensor t, OutputStream out, CRC32 crc) throws IOException {
    int n = t.numel();
    int item = t.dtype().itemSize();
    ByteBuffer buf = le(Math.min(n, CHUNK_ELEMENTS) * item);
    for (int from = 0; from < n; from += CHUNK_ELEMENTS) {
      int count = Math.min(CHUNK_ELEMENTS, n - from);
      buf.clear();
      t.encodeTo(from, count, buf);
      crc.update(buf.array(), 0, count * item);
      out.write(buf.array(), 0, count * item);
    }
  }

  private static ByteBuffer le(int n) {
    return ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
  }
}
