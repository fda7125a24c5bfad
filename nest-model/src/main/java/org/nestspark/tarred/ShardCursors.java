package org.nestspark.tarred;

import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.audio.AudioException;

/**
 * The {@link ShardCursor}s of this JVM (an executor): one per shard, shared by the tasks that read it, each used
 * by one thread at a time. At most {@link #MAX_OPEN} shards are held; the least recently used one is closed
 * and forgotten when another is needed. Buffers are {@code data.tar_buffer_mb} per shard.
 */
public final class ShardCursors {
  /** Shards held open at once per JVM. */
  public static final int MAX_OPEN = 8;

  private static final Map<String, ShardCursor> CURSORS = new LinkedHashMap<>(16, 0.75f, true);
  private static long opens;

  private ShardCursors() {}

  /**
   * The bytes of the member with file id {@code memberId} of {@code shard} (a URI).
   *
   * @throws AudioException naming shard and member: no such shard, no such member, a damaged member or archive
   */
  public static byte[] member(String shard, String memberId, Configuration conf, long bufferBytes)
      throws AudioException {
    ShardCursor c = cursor(shard, bufferBytes);
    synchronized (c) {
      int before = c.opens;
      try {
        return c.take(memberId, conf);
      } finally {
        addOpens(c.opens - before);
      }
    }
  }

  /** "shard: member" for messages, with the member's full name when the shard has been read. */
  public static String describe(String shard, String memberId) {
    ShardCursor c;
    synchronized (CURSORS) {
      c = CURSORS.get(shard);
    }
    if (c == null) {
      return shard + ": " + memberId;
    }
    synchronized (c) {
      return c.display() + ": " + c.memberName(memberId);
    }
  }

  /** How many times this JVM opened a shard (each open is one sequential read from the start). */
  public static synchronized long opens() {
    return opens;
  }

  private static synchronized void addOpens(int n) {
    opens += n;
  }

  /** Closes every shard (tests, benchmarks). */
  public static void clear() {
    synchronized (CURSORS) {
      for (ShardCursor c : CURSORS.values()) {
        synchronized (c) {
          c.close();
        }
      }
      CURSORS.clear();
    }
  }

  private static ShardCursor cursor(String shard, long bufferBytes) {
    synchronized (CURSORS) {
      ShardCursor c = CURSORS.get(shard);
      if (c == null) {
        c = new ShardCursor(shard, bufferBytes);
        CURSORS.put(shard, c);
        while (CURSORS.size() > MAX_OPEN) {
          String eldest = CURSORS.keySet().iterator().next();
          ShardCursor old = CURSORS.remove(eldest);
          synchronized (old) {
            old.close();
          }
        }
      }
      return c;
    }
  }
}
