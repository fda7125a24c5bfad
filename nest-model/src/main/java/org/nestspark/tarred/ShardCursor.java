package org.nestspark.tarred;

import java.io.BufferedInputStream;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.nestspark.audio.AudioException;
import org.nestspark.io.NestPaths;
import org.nestspark.nemo.NemoFormatException;
import org.nestspark.nemo.TarReader;

/**
 * A position in one tar shard, read front to back through Hadoop {@code FileSystem} (docs/nest-numerics.md §2, "Other loaders").
 * {@link #take} returns the bytes of the member with a file id ({@link MemberNames}): members passed on the way
 * are kept in a buffer of at most {@code bufferBytes} (oldest dropped first), so requests that follow the shard's
 * order within the buffer's reach read the shard once, sequentially; a request for a member already dropped
 * opens the shard again from the start. After one complete pass the cursor knows every member's id, so a member
 * the shard does not have is reported at once, without reading.
 *
 * <p>A damaged archive (truncated, a corrupt header) ends the pass where the damage is; members after it count
 * as absent and are reported with the damage. Problems are {@link AudioException}s naming shard and member.
 * Not thread-safe; {@link ShardCursors} serializes access.
 */
final class ShardCursor {
  private static final int MAX_MEMBER = Integer.MAX_VALUE - 8;

  private final String shard;
  private final String display;
  private final long bufferBytes;
  private final Map<String, byte[]> buffer = new LinkedHashMap<>();
  private final Map<String, String> memberNames = new HashMap<>();
  private long buffered;
  private InputStream in;
  private TarReader tar;
  private Set<String> passIds = new HashSet<>();

  /** All member ids, known after a complete pass; null before. */
  private Set<String> allIds;

  /** The damage that ended the last complete pass, or null. */
  private String damage;

  int opens;

  ShardCursor(String shard, long bufferBytes) {
    this.shard = shard;
    this.display = NestPaths.display(new Path(java.net.URI.create(shard)));
    this.bufferBytes = bufferBytes;
  }

  /** The content of the member whose file id is {@code id}. */
  byte[] take(String id, Configuration conf) throws AudioException {
    byte[] b = buffer.get(id);
    if (b != null) {
      return b;
    }
    if (allIds != null && !allIds.contains(id)) {
      throw missing(id);
    }
    boolean restarted = false;
    while (true) {
      if (tar == null) {
        if (restarted || allIds != null && !allIds.contains(id)) {
          throw missing(id);
        }
        open(conf);
        restarted = true;
      }
      TarReader.Entry e;
      try {
        e = tar.next();
      } catch (NemoFormatException ex) {
        endPass(ex.getMessage());
        continue;
      } catch (IOException ex) {
        close();
        throw new AudioException(display, "read error: " + ex, ex);
      }
      if (e == null) {
        endPass(null);
        continue;
      }
      if (!e.isFile()) {
        continue;
      }
      String memberId = MemberNames.ofMember(e.name());
      byte[] content;
      try {
        content = tar.readContent(e, MAX_MEMBER);
      } catch (NemoFormatException ex) {
        passIds.add(memberId);
        memberNames.put(memberId, e.name());
        endPass(ex.getMessage());
        if (memberId.equals(id)) {
          throw new AudioException(display + ": " + e.name(), "damaged member: " + ex.reason());
        }
        continue;
      } catch (IOException ex) {
        close();
        throw new AudioException(display + ": " + e.name(), "read error: " + ex, ex);
      }
      passIds.add(memberId);
      memberNames.put(memberId, e.name());
      keep(memberId, content);
      if (memberId.equals(id)) {
        return content;
      }
    }
  }

  /** The member name of a file id seen in this shard (for messages), or the id itself. */
  String memberName(String id) {
    return memberNames.getOrDefault(id, id);
  }

  String display() {
    return display;
  }

  private void open(Configuration conf) throws AudioException {
    Path p = new Path(java.net.URI.create(shard));
    try {
      in = new BufferedInputStream(p.getFileSystem(conf).open(p), 1 << 16);
    } catch (FileNotFoundException ex) {
      allIds = Set.of();
      damage = "no such shard";
      throw new AudioException(display, "no such shard");
    } catch (IOException | RuntimeException ex) {
      throw new AudioException(display, "cannot open: " + ex, ex);
    }
    tar = TarReader.of(display, in);
    passIds = new HashSet<>();
    opens++;
  }

  private void endPass(String damageMessage) {
    allIds = passIds;
    if (damageMessage != null) {
      damage = damageMessage;
    }
    close();
  }

  private AudioException missing(String id) {
    String reason = "no member for file id '" + id + "' in this shard";
    if (damage != null) {
      reason += " (the shard is damaged: " + damage + ")";
    }
    return new AudioException(display, reason);
  }

  private void keep(String id, byte[] content) {
    byte[] old = buffer.remove(id);
    if (old != null) {
      buffered -= old.length;
    }
    buffer.put(id, content);
    buffered += content.length;
    Iterator<Map.Entry<String, byte[]>> it = buffer.entrySet().iterator();
    while (buffered > bufferBytes && buffer.size() > 1 && it.hasNext()) {
      Map.Entry<String, byte[]> oldest = it.next();
      if (oldest.getKey().equals(id)) {
        continue;
      }
      buffered -= oldest.getValue().length;
      it.remove();
    }
  }

  /** Closes the stream (the buffer and what is known about the members stay). */
  void close() {
    tar = null;
    if (in != null) {
      try {
        in.close();
      } catch (IOException ignored) {
        // nothing was written: a failed close loses nothing
      }
      in = null;
    }
  }
}
