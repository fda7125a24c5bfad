package org.nestspark.job.tensorboard;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The protocol buffer encoding of the few TensorFlow messages an event file of scalars needs (field
 * numbers of {@code tensorflow/core/util/event.proto} and {@code tensorflow/core/framework/summary.proto}):
 *
 * <pre>
 * Event      { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; SessionLog session_log = 6; }
 * Summary    { repeated Value value = 1; }
 * Value      { string tag = 1; float simple_value = 2; }
 * SessionLog { SessionStatus status = 1; string checkpoint_path = 2; string msg = 3; }   // START = 1
 * </pre>
 */
public final class EventProtos {
  /** {@code SessionLog.SessionStatus.START}. */
  public static final int SESSION_START = 1;

  /** The first event of every file: its format version. */
  public static final String FILE_VERSION = "brain.Event:2";

  private EventProtos() {}

  /** An Event holding {@code file_version}. */
  public static byte[] fileVersion(double wallTime) {
    Msg e = new Msg();
    e.fixed64(1, Double.doubleToLongBits(wallTime));
    e.varint(2, 0);
    e.string(3, FILE_VERSION);
    return e.bytes();
  }

  /** An Event with one scalar Summary.Value per entry (tag → value, as {@code simple_value}). */
  public static byte[] scalars(double wallTime, long step, Map<String, Double> values) {
    Msg summary = new Msg();
    for (Map.Entry<String, Double> v : values.entrySet()) {
      Msg value = new Msg();
      value.string(1, v.getKey());
      value.fixed32(2, Float.floatToIntBits(v.getValue().floatValue()));
      summary.message(1, value);
    }
    Msg e = new Msg();
    e.fixed64(1, Double.doubleToLongBits(wallTime));
    e.varint(2, step);
    e.message(5, summary);
    return e.bytes();
  }

  /** An Event with a SessionLog of {@code status} (START: readers drop the earlier events at {@code step} and later). */
  public static byte[] sessionLog(double wallTime, long step, int status, String msg) {
    Msg log = new Msg();
    log.varint(1, status);
    log.string(3, msg);
    Msg e = new Msg();
    e.fixed64(1, Double.doubleToLongBits(wallTime));
    e.varint(2, step);
    e.message(6, log);
    return e.bytes();
  }

  /** A message being encoded: fields appended in order. */
  static final class Msg {
    private final ByteArrayOutputStream b = new ByteArrayOutputStream();

    void tag(int field, int wireType) {
      rawVarint(((long) field << 3) | wireType);
    }

    void rawVarint(long v) {
      while ((v & ~0x7FL) != 0) {
        b.write((int) ((v & 0x7F) | 0x80));
        v >>>= 7;
      }
      b.write((int) v);
    }

    void varint(int field, long v) {
      tag(field, 0);
      rawVarint(v);
    }

    void fixed64(int field, long v) {
      tag(field, 1);
      for (int i = 0; i < 8; i++) {
        b.write((int) (v >>> (8 * i)) & 0xFF);
      }
    }

    void fixed32(int field, int v) {
      tag(field, 5);
      for (int i = 0; i < 4; i++) {
        b.write((v >>> (8 * i)) & 0xFF);
      }
    }

    void bytes(int field, byte[] v) {
      tag(field, 2);
      rawVarint(v.length);
      b.write(v, 0, v.length);
    }

    void string(int field, String s) {
      bytes(field, s.getBytes(StandardCharsets.UTF_8));
    }

    void message(int field, Msg m) {
      bytes(field, m.bytes());
    }

    byte[] bytes() {
      return b.toByteArray();
    }
  }
}
