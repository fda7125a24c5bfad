package org.nestspark.tarred;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How NeMo ties a tarred manifest's entries to shard members (docs/nest-numerics.md §2, "Other loaders": item lookup by file
 * stem). A member's file id is its base name up to the first dot (WebDataset's sample key); an entry's is the
 * base name of its {@code audio_filepath} without the extension, after removing a {@code -subN} suffix: NeMo's
 * {@code convert_to_tarred_audio_dataset.py} writes a file once per shard and names the further entries of the
 * same file {@code name-sub1.wav}, {@code name-sub2.wav}, ... (the member stays {@code name.wav}; NeMo's lhotse
 * reader strips the suffix the same way). Every entry of a file id gets one utterance from the member, each with
 * its own {@code offset} and {@code duration}.
 */
public final class MemberNames {
  private static final Pattern SUB = Pattern.compile("^(.+)-sub\\d+(\\.\\w+)?$");

  private MemberNames() {}

  /** The file id of a shard member name, e.g. {@code dir/a_b.wav} → {@code a_b}. */
  public static String ofMember(String memberName) {
    String base = baseName(memberName);
    int dot = base.indexOf('.');
    return dot < 0 ? base : base.substring(0, dot);
  }

  /** The member file id an entry's {@code audio_filepath} refers to, e.g. {@code x-sub2.wav} → {@code x}. */
  public static String ofEntry(String audioFilepath) {
    String base = baseName(audioFilepath);
    Matcher m = SUB.matcher(base);
    if (m.matches()) {
      base = m.group(1) + (m.group(2) == null ? "" : m.group(2));
    }
    int dot = base.lastIndexOf('.');
    return dot <= 0 ? base : base.substring(0, dot);
  }

  /**
   * NeMo's squashed member name of an audio file: the path's directory separators and dots before the
   * extension become {@code _} ({@code /data/a.b/c.wav} → {@code _data_a_b_c.wav}).
   */
  public static String squash(String path) {
    String base = path;
    String ext = "";
    int slash = path.lastIndexOf('/');
    int dot = path.lastIndexOf('.');
    if (dot > slash + 1) {
      base = path.substring(0, dot);
      ext = path.substring(dot);
    }
    return base.replace('/', '_').replace('.', '_') + ext;
  }

  private static String baseName(String p) {
    int slash = Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\'));
    return p.substring(slash + 1);
  }
}
