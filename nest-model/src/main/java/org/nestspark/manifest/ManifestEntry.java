package org.nestspark.manifest;

import java.io.Serializable;
import java.net.URI;
import java.util.Objects;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.NestPaths;

/**
 * One line of a NeMo manifest (docs/nest-numerics.md §2): the audio file, its optional {@code duration} and
 * {@code offset} in seconds, where it came from (manifest and 1-based line, for messages) and the
 * original JSON object (extra fields are carried along untouched, e.g. into {@code features.json}).
 * An entry of a tarred dataset (docs/nest-numerics.md §2, "Other loaders") also names its shard and the member that holds
 * its audio ({@link #tarShard()}, {@link #tarMember()}).
 */
public final class ManifestEntry implements Serializable {
  private static final long serialVersionUID = 1L;

  private final String manifest;
  private final int line;
  private final long id;
  private final String audioUri;
  private final String audioFilepath;
  private final Double duration;
  private final double offset;
  private final String json;
  private final String tarShard;
  private final String tarMember;

  public ManifestEntry(
      String manifest,
      int line,
      long id,
      URI audio,
      String audioFilepath,
      Double duration,
      double offset,
      String json) {
    this.manifest = Objects.requireNonNull(manifest);
    this.line = line;
    this.id = id;
    this.audioUri = audio.toString();
    this.audioFilepath = Objects.requireNonNull(audioFilepath);
    this.duration = duration;
    this.offset = offset;
    this.json = Objects.requireNonNull(json);
    this.tarShard = null;
    this.tarMember = null;
  }

  private ManifestEntry(ManifestEntry e, String tarShard, String tarMember) {
    this.manifest = e.manifest;
    this.line = e.line;
    this.id = e.id;
    this.audioUri = e.audioUri;
    this.audioFilepath = e.audioFilepath;
    this.duration = e.duration;
    this.offset = e.offset;
    this.json = e.json;
    this.tarShard = Objects.requireNonNull(tarShard);
    this.tarMember = Objects.requireNonNull(tarMember);
  }

  /** This entry read from member {@code member} (its file id, docs/nest-numerics.md §2) of the tar shard {@code shard} (a URI). */
  public ManifestEntry inShard(String shard, String member) {
    return new ManifestEntry(this, shard, member);
  }

  /** The tar shard (URI) holding this entry's audio, or null for an entry read from its own file. */
  public String tarShard() {
    return tarShard;
  }

  /** The file id of the shard member holding the audio (member name without extension), or null. */
  public String tarMember() {
    return tarMember;
  }

  /** The manifest this entry was read from, as given (for messages). */
  public String manifest() {
    return manifest;
  }

  /** 1-based physical line number within {@link #manifest()}. */
  public int line() {
    return line;
  }

  /** Position across all manifests read together (NeMo numbers entries globally). */
  public long id() {
    return id;
  }

  /** The resolved audio file. */
  public Path audioPath() {
    return new Path(URI.create(audioUri));
  }

  /** The path exactly as written in the manifest (NeMo names extracted features after it). */
  public String audioFilepath() {
    return audioFilepath;
  }

  /** The {@code duration} field in seconds, or null when the line has none. */
  public Double duration() {
    return duration;
  }

  /** The {@code offset} field in seconds (0 when absent). */
  public double offset() {
    return offset;
  }

  /** The JSON object of the line, as written. */
  public String json() {
    return json;
  }

  /** "manifest:line" for messages. */
  public String where() {
    return manifest + ":" + line;
  }

  /** "manifest:line: audio path" for messages about this utterance's audio or what is made from it. */
  public String whereAndAudio() {
    return where() + ": " + NestPaths.display(audioPath());
  }

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ManifestEntry)) {
      return false;
    }
    ManifestEntry e = (ManifestEntry) o;
    return line == e.line
        && id == e.id
        && manifest.equals(e.manifest)
        && audioUri.equals(e.audioUri)
        && json.equals(e.json)
        && Objects.equals(tarShard, e.tarShard)
        && Objects.equals(tarMember, e.tarMember);
  }

  @Override
  public int hashCode() {
    return Objects.hash(manifest, line, id, audioUri);
  }

  @Override
  public String toString() {
    return where() + " " + (tarShard == null ? audioFilepath : tarShard + ":" + tarMember);
  }
}
