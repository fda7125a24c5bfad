package org.nestspark.job.tensorboard;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * A reader of TensorBoard event files for tests, written from the formats' definitions (not from
 * {@link TfRecords} or {@link EventProtos}): TFRecord framing with both masked CRC32C checks, then a generic
 * protobuf wire-format decoder for Event, Summary, Value and SessionLog. {@link #scalarsWithPurge} applies
 * TensorBoard's rule for restarts: a SessionLog START at step s drops the events read so far at step s and
 * later.
 */
public final class EventFileReader {
  private EventFileReader() {}

  /** One decoded Event. */
  public record Event(
      double wallTime,
      long step,
      String fileVersion,
      Map<String, Float> scalars,
      int sessionStatus,
      String sessionMsg) {}

  /** Reads every record of {@code file}, checking lengths and CRCs; throws on any damage. */
  public static List<byte[]> records(Path file) throws IOException {
    List<byte[]> out = new ArrayList<>();
    try (InputStream raw = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(raw)) {
      while (true) {
        byte[] header = new byte[12];
        int first = in.read(header, 0, 1);
        if (first < 0) {
          return out;
        }
        in.readFully(header, 1, 11);
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        long len = h.getLong(0);
        int lenCrc = h.getInt(8);
        if (lenCrc != masked(header, 0, 8)) {
          throw new IOException(file + ": length CRC mismatch at record " + out.size());
        }
        if (len < 0 || len > 1 << 26) {
          throw new IOException(file + ": implausible record length " + len);
        }
        byte[] data = new byte[(int) len];
        byte[] footer = new byte[4];
        try {
          in.readFully(data);
          in.readFully(footer);
        } catch (EOFException e) {
          throw new IOException(file + ": truncated record " + out.size(), e);
        }
        if (ByteBuffer.wrap(footer).order(ByteOrder.LITTLE_ENDIAN).getInt()
            != masked(data, 0, data.length)) {
          throw new IOException(file + ": data CRC mismatch at record " + out.size());
        }
        out.add(data);
      }
    }
  }

  /** CRC32C rotated right by 15 bits plus 0xa282ead8 (TensorFlow's masked CRC). */
  static int masked(byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(b, off, len);
    int crc = (int) c.getValue();
    return Integer.rotateRight(crc, 15) + 0xa282ead8;
  }

  /** The events of {@code file}. */
  public static List<Event> events(Path file) throws IOException {
    List<Event> out = new ArrayList<>();
    for (byte[] r : records(file)) {
      out.add(event(r));
    }
    return out;
  }

  static Event event(byte[] b) {
    double wall = 0;
    long step = 0;
    String version = null;
    Map<String, Float> scalars = new LinkedHashMap<>();
    int status = 0;
    String msg = null;
    for (Field f : fields(b)) {
      switch (f.number) {
        case 1 -> wall = Double.longBitsToDouble(f.fixed);
        case 2 -> step = f.varint;
        case 3 -> version = new String(f.bytes, StandardCharsets.UTF_8);
        case 5 -> {
          for (Field value : fields(f.bytes)) {
            if (value.number == 1) {
              String tag = null;
              Float v = null;
              for (Field vf : fields(value.bytes)) {
                if (vf.number == 1) {
                  tag = new String(vf.bytes, StandardCharsets.UTF_8);
                } else if (vf.number == 2) {
                  v = Float.intBitsToFloat((int) vf.fixed);
                }
              }
              scalars.put(tag, v);
            }
          }
        }
        case 6 -> {
          for (Field sf : fields(f.bytes)) {
            if (sf.number == 1) {
              status = (int) sf.varint;
            } else if (sf.number == 3) {
              msg = new String(sf.bytes, StandardCharsets.UTF_8);
            }
          }
        }
        default -> throw new IllegalArgumentException("unexpected Event field " + f.number);
      }
    }
    return new Event(wall, step, version, scalars, status, msg);
  }

  /** A decoded field: number and, by wire type, varint, fixed (32 or 64 bits) or bytes. */
  record Field(int number, int wireType, long varint, long fixed, byte[] bytes) {}

  static List<Field> fields(byte[] b) {
    List<Field> out = new ArrayList<>();
    int[] pos = {0};
    while (pos[0] < b.length) {
      long key = varint(b, pos);
      int number = (int) (key >>> 3);
      int wire = (int) (key & 7);
      switch (wire) {
        case 0 -> out.add(new Field(number, wire, varint(b, pos), 0, null));
        case 1 -> {
          long v = ByteBuffer.wrap(b, pos[0], 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
          pos[0] += 8;
          out.add(new Field(number, wire, 0, v, null));
        }
        case 5 -> {
          long v =
              ByteBuffer.wrap(b, pos[0], 4).order(ByteOrder.LITTLE_ENDIAN).getInt() & 0xFFFFFFFFL;
          pos[0] += 4;
          out.add(new Field(number, wire, 0, v, null));
        }
        case 2 -> {
          int n = (int) varint(b, pos);
          byte[] v = java.util.Arrays.copyOfRange(b, pos[0], pos[0] + n);
          pos[0] += n;
          out.add(new Field(number, wire, 0, 0, v));
        }
        default -> throw new IllegalArgumentException("wire type " + wire);
      }
    }
    return out;
  }

  static long varint(byte[] b, int[] pos) {
    long v = 0;
    for (int shift = 0; ; shift += 7) {
      int x = b[pos[0]++] & 0xFF;
      v |= (long) (x & 0x7F) << shift;
      if ((x & 0x80) == 0) {
        return v;
      }
    }
  }

  /**
   * Every scalar series of {@code files} read in order (tag → step → value, the last value of a step
   * winning), with TensorBoard's purge: a SessionLog START (status 1) at step s drops what was read at s and
   * later. Each file must start with the file_version event.
   */
  public static Map<String, TreeMap<Long, Float>> scalarsWithPurge(List<Path> files)
      throws IOException {
    Map<String, TreeMap<Long, Float>> out = new TreeMap<>();
    for (Path f : files) {
      List<Event> events = events(f);
      if (events.isEmpty() || !"brain.Event:2".equals(events.get(0).fileVersion())) {
        throw new IOException(f + ": does not start with file_version brain.Event:2");
      }
      for (Event e : events) {
        if (e.sessionStatus() == 1) {
          for (TreeMap<Long, Float> series : out.values()) {
            series.tailMap(e.step(), true).clear();
          }
        }
        for (Map.Entry<String, Float> s : e.scalars().entrySet()) {
          out.computeIfAbsent(s.getKey(), k -> new TreeMap<>()).put(e.step(), s.getValue());
        }
      }
    }
    return out;
  }
}
