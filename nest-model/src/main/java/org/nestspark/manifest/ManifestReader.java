package org.nestspark.manifest;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.NestPaths;

/**
 * Reads NeMo manifests (docs/nest-numerics.md §2, "Manifest"): JSON Lines, one object per non-empty line, through Hadoop
 * {@code FileSystem}.
 *
 * <ul>
 *   <li>The audio path is {@code audio_filename} if present, else {@code audio_filepath}; relative paths
 *       resolve against the manifest's own folder (NeMo's first choice; NeMo's fallback to the working
 *       directory is not applied, since executors have no common working directory). Absolute paths
 *       without a scheme stay on the manifest's file system.</li>
 *   <li>{@code duration} and {@code offset} are optional numbers in seconds; other fields are kept
 *       untouched and otherwise ignored.</li>
 *   <li>Several manifests (a comma-separated string or a list) are read in order; entries are numbered
 *       globally, lines per file.</li>
 *   <li>Entries with a duration outside {@code [min_duration, max_duration]} are dropped and counted
 *       (bounds keep); entries without a duration are never filtered.</li>
 *   <li>CRLF line endings, blank lines and a UTF-8 byte-order mark are tolerated.</li>
 *   <li>A malformed line (invalid JSON or UTF-8, not an object, missing or non-string path, negative,
 *       NaN, infinite or non-numeric duration or offset) is skipped and reported as a
 *       {@link ManifestProblem} naming manifest, line and reason. An offset beyond the end of the audio
 *       can only be seen with the audio's header and is reported when the file is loaded.</li>
 * </ul>
 *
 * <p>Limits: a line is at most {@link #MAX_LINE_BYTES} (16 MiB); within a line, Jackson's defaults hold
 * (JSON nested at most 1000 deep, numbers of at most 1000 digits, strings of at most 20 M characters), and
 * a line beyond them is skipped with Jackson's reason. The number of lines is not limited (entries are
 * kept in memory, about a few hundred bytes each).
 */
public final class ManifestReader {
  /**
   * The longest line accepted, in bytes (16 MiB; a NeMo manifest line is a few hundred bytes): a longer one
   * is skipped and reported without being held in memory.
   */
  public static final int MAX_LINE_BYTES = 16 << 20;

  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(
              com.fasterxml.jackson.core.json.JsonReadFeature
                  .ALLOW_NON_NUMERIC_NUMBERS) // Python writes NaN
          .build();

  private final Configuration hadoopConf;
  private final Double minDuration;
  private final Double maxDuration;

  /**
   * @param minDuration {@code min_duration} in seconds, or null for no lower bound
   * @param maxDuration {@code max_duration} in seconds, or null for no upper bound
   */
  public ManifestReader(Configuration hadoopConf, Double minDuration, Double maxDuration) {
    this.hadoopConf = hadoopConf;
    this.minDuration = minDuration;
    this.maxDuration = maxDuration;
  }

  /** A reader that keeps every well-formed entry. */
  public static ManifestReader unfiltered(Configuration hadoopConf) {
    return new ManifestReader(hadoopConf, null, null);
  }

  /**
   * Reads the manifests in order.
   *
   * @throws ManifestException when a manifest itself cannot be read (missing, a directory, I/O error)
   */
  public ManifestReadResult read(List<String> manifests) throws ManifestException {
    if (manifests.isEmpty()) {
      throw new ManifestException("no manifest given");
    }
    List<ManifestEntry> entries = new ArrayList<>();
    List<ManifestProblem> problems = new ArrayList<>();
    int[] filtered = {0};
    Map<String, String> sha256 = new LinkedHashMap<>();
    for (String m : manifests) {
      sha256.put(m, readOne(m, entries, problems, filtered));
    }
    return new ManifestReadResult(entries, problems, filtered[0], sha256);
  }

  /** Reads one manifest and returns the SHA-256 (hex) of its bytes, computed while reading. */
  private String readOne(
      String manifest, List<ManifestEntry> entries, List<ManifestProblem> problems, int[] filtered)
      throws ManifestException {
    Path path;
    try {
      path = NestPaths.fromUserString(manifest);
    } catch (IllegalArgumentException e) {
      throw new ManifestException(manifest + ": not a valid path or URI (" + e.getMessage() + ")");
    }
    try {
      FileSystem fs = path.getFileSystem(hadoopConf);
      FileStatus st;
      try {
        st = fs.getFileStatus(path);
      } catch (java.io.FileNotFoundException e) {
        throw new ManifestException(manifest + ": no such manifest");
      }
      if (st.isDirectory()) {
        throw new ManifestException(manifest + ": is a directory, not a manifest");
      }
      MessageDigest digest = sha256();
      try (InputStream in =
          new BufferedInputStream(new DigestInputStream(fs.open(path), digest), 1 << 16)) {
        readLines(manifest, path, in, entries, problems, filtered);
      }
      return HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      throw new ManifestException(manifest + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Reads the lines of one manifest from {@code in}: each well-formed entry is added to {@code entries}, each
   * bad line to {@code problems}; a line longer than {@link #MAX_LINE_BYTES} is skipped (its bytes are read
   * but not kept).
   */
  void readLines(
      String manifest,
      Path path,
      InputStream in,
      List<ManifestEntry> entries,
      List<ManifestProblem> problems,
      int[] filtered)
      throws IOException {
    CharsetDecoder utf8 =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
    int lineNo = 0;
    boolean eof = false;
    while (!eof) {
      buf.reset();
      long length = 0;
      int b;
      while ((b = in.read()) != -1 && b != '\n') {
        if (length++ < MAX_LINE_BYTES) {
          buf.write(b);
        }
      }
      eof = b == -1;
      if (eof && length == 0) {
        break;
      }
      lineNo++;
      if (length > MAX_LINE_BYTES) {
        problems.add(
            new ManifestProblem(
                manifest,
                lineNo,
                "line of " + length + " bytes, longer than the " + MAX_LINE_BYTES + " accepted"));
        continue;
      }
      String text;
      try {
        text = utf8.decode(ByteBuffer.wrap(buf.toByteArray())).toString();
      } catch (CharacterCodingException e) {
        problems.add(new ManifestProblem(manifest, lineNo, "not valid UTF-8"));
        continue;
      }
      if (lineNo == 1 && text.startsWith("\uFEFF")) {
        text = text.substring(1);
      }
      if (text.endsWith("\r")) {
        text = text.substring(0, text.length() - 1);
      }
      if (text.isBlank()) {
        continue;
      }
      parseLine(manifest, path, lineNo, text.strip(), entries, problems, filtered);
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private void parseLine(
      String manifest,
      Path manifestPath,
      int lineNo,
      String text,
      List<ManifestEntry> entries,
      List<ManifestProblem> problems,
      int[] filtered) {
    JsonNode node;
    try {
      JsonParser p = JSON.createParser(text);
      node = JSON.readTree(p);
      if (p.nextToken() != null) {
        problems.add(
            new ManifestProblem(manifest, lineNo, "invalid JSON: more than one value on the line"));
        return;
      }
    } catch (JsonProcessingException e) {
      problems.add(
          new ManifestProblem(manifest, lineNo, "invalid JSON: " + e.getOriginalMessage()));
      return;
    } catch (IOException e) {
      problems.add(new ManifestProblem(manifest, lineNo, "invalid JSON: " + e.getMessage()));
      return;
    }
    if (node == null || !node.isObject()) {
      problems.add(new ManifestProblem(manifest, lineNo, "expected a JSON object"));
      return;
    }
    String key = node.has("audio_filename") ? "audio_filename" : "audio_filepath";
    JsonNode audio = node.get(key);
    if (audio == null || audio.isNull()) {
      problems.add(new ManifestProblem(manifest, lineNo, "missing audio_filepath"));
      return;
    }
    if (!audio.isTextual()) {
      problems.add(
          new ManifestProblem(manifest, lineNo, key + " must be a string, got " + kind(audio)));
      return;
    }
    String audioPath = audio.textValue();
    if (audioPath.isBlank()) {
      problems.add(new ManifestProblem(manifest, lineNo, key + " is empty"));
      return;
    }
    Double duration = null;
    JsonNode d = node.get("duration");
    if (d != null && !d.isNull()) {
      String bad = checkSeconds(d, "duration");
      if (bad != null) {
        problems.add(new ManifestProblem(manifest, lineNo, bad));
        return;
      }
      duration = d.doubleValue();
    }
    double offset = 0;
    JsonNode o = node.get("offset");
    if (o != null && !o.isNull()) {
      String bad = checkSeconds(o, "offset");
      if (bad != null) {
        problems.add(new ManifestProblem(manifest, lineNo, bad));
        return;
      }
      offset = o.doubleValue();
    }
    if (duration != null
        && (minDuration != null && duration < minDuration
            || maxDuration != null && duration > maxDuration)) {
      filtered[0]++;
      return;
    }
    Path resolved;
    try {
      resolved = NestPaths.resolveAgainst(manifestPath, audioPath);
    } catch (IllegalArgumentException e) {
      problems.add(
          new ManifestProblem(
              manifest, lineNo, key + " '" + audioPath + "' is not a valid path or URI"));
      return;
    }
    long id = entries.size();
    entries.add(
        new ManifestEntry(
            manifest, lineNo, id, resolved.toUri(), audioPath, duration, offset, text));
  }

  private static String checkSeconds(JsonNode v, String name) {
    if (!v.isNumber()) {
      return name + " must be a number of seconds, got " + kind(v);
    }
    double x = v.doubleValue();
    if (Double.isNaN(x)) {
      return name + " is NaN";
    }
    if (Double.isInfinite(x)) {
      return name + " is infinite";
    }
    if (x < 0) {
      return "negative " + name + " " + x;
    }
    return null;
  }

  private static String kind(JsonNode v) {
    if (v.isTextual()) {
      return "the string \"" + v.textValue() + "\"";
    }
    if (v.isNumber()) {
      return "the number " + v.asText();
    }
    if (v.isBoolean()) {
      return v.asText();
    }
    return v.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
  }
}
