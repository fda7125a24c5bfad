package org.nestspark.manifest;

import java.io.Serializable;
import java.net.URI;
import java.util.Objects;

import org.apache.hadoop.fs.Path;

/**
 * One line of a NeMo manifest (docs/nest-numerics.md §2): the audio file, its optional {@code duration} and
 * {@code offset} in seconds, where it came from (manifest and 1-based line, for messages) and the
 * original JSON object (extra fields are carried along untouched, e.g. into {@code features.json}).
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

  public ManifestEntry(String manifest, int line, long id, URI audio, String audioFilepath, Double duration, double offset, String json) {
    this.manifest = Objects.requireNonNull(manifest);
    this.line = line;
    this.id = id;
    this.audioUri = audio.toString();
    this.audioFilepath = Objects.requireNonNull(audioFilepath);
    this.duration = duration;
    this.offset = offset;
    this.json = Objects.requireNonNull(json);
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

  @Override
  public boolean equals(Object o) {
    if (!(o instanceof ManifestEntry)) {
      return false;
    }
    ManifestEntry e = (ManifestEntry) o;
    return line == e.line && id == e.id && manifest.equals(e.manifest) && audioUri.equals(e.audioUri) && json.equals(e.json);
  }

  @Override
  public int hashCode() {
    return Objects.hash(manifest, line, id, audioUri);
  }

  @Override
  public String toString() {
    return where() + " " + audioFilepath;
  }
}
