package org.nestspark.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Enumeration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocalFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.util.ModelSerializer;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.ssl.FrozenModules;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes and reads {@link Checkpoint}s: one zip file per checkpoint, {@code step-NNNNNN.ckpt} (the step
 * zero-padded to at least 6 digits), written through Hadoop {@code FileSystem} with {@link AtomicFiles}
 * (temporary name, then rename), so a crash never leaves a half-written file under a checkpoint name.
 *
 * <p><b>Layout (schema version {@value #SCHEMA_VERSION}).</b> Zip entries, in this order:
 *
 * <ol>
 *   <li>{@value #ENTRY_METADATA}: UTF-8 JSON object with, in order, {@code format} (= {@value #FORMAT}),
 *       {@code schema_version}, {@code step}, {@code epoch}, {@code data_position} (any JSON value),
 *       {@code rng} {@code {seed, scheme}}, {@code counters} {@code {steps_done, skipped_empty,
 *       skipped_non_finite}}, {@code provenance} {@code {nest_spark_version, dl4j_version, java_version,
 *       config_sha256, manifest_sha256 {name: hex}, created_at}}, {@code frozen_modules {origin}}.</li>
 *   <li>{@value #ENTRY_CONFIG}: the resolved configuration, {@code NestConfig.render()} (HOCON, UTF-8).</li>
 *   <li>{@value #ENTRY_MODEL}: DL4J {@code ModelSerializer} output of the ComputationGraph with its updater
 *       state (deflate level 0: it is compressed already).</li>
 *   <li>{@code frozen/quantizer.codebooks.npy} ({@code <f8}, {@code (H, C, D)}), {@code frozen/quantizer.proj.weight.npy}
 *       ({@code <f4}, {@code (H·D, F·combine)}), {@code frozen/mask_processor.mask_embedding.npy} ({@code <f4},
 *       {@code (F)}): the model's frozen modules ({@link FrozenModules}) under NeMo's state-dict keys, as NeMo
 *       holds them; {@code checkpoint.json}'s {@code frozen_modules.origin} says where they come from.</li>
 *   <li>{@value #ENTRY_CHECKSUMS}: one line {@code <sha256 hex>  <entry name>} per entry above, in order
 *       ({@code sha256sum} format).</li>
 * </ol>
 *
 * <p><b>Schema 1</b> (before the frozen modules were stored: no {@code frozen/} entries, no
 * {@code frozen_modules}) still loads, with {@link Checkpoint#frozen()} null and a warning;
 * {@link Checkpoint#frozenModules} then draws them from {@code data.seed} and says so.
 *
 * <p><b>Verification on load.</b> The zip must be complete (its end record ends the file — checkpoints
 * carry no zip comment, and a truncated checkpoint could otherwise expose the end record of the embedded
 * model.zip — central directory present, CRC-32 of every entry correct), hold exactly these entries once each, the SHA-256 of every entry must match
 * {@value #ENTRY_CHECKSUMS}, the format and schema version must be known, and the restored graph's
 * iteration/epoch counts must equal {@code step}/{@code epoch}. Anything else is a
 * {@link CheckpointException} naming the file and the reason. Files on non-local file systems are copied
 * to a local temporary file first (zip needs random access).
 */
public final class CheckpointIO {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointIO.class);

  public static final String FORMAT = "nest-spark-checkpoint";
  public static final int SCHEMA_VERSION = 2;

  /** The oldest schema this version reads. */
  public static final int OLDEST_SCHEMA_VERSION = 1;

  public static final String ENTRY_METADATA = "checkpoint.json";
  public static final String ENTRY_CONFIG = "config.conf";
  public static final String ENTRY_MODEL = "model.zip";
  public static final String ENTRY_CHECKSUMS = "SHA256SUMS";

  /** Folder of the frozen modules' entries ({@code frozen/<NeMo key>.npy}). */
  public static final String FROZEN_PREFIX = "frozen/";

  /** The frozen modules' entries, in file order. */
  public static final List<String> FROZEN_ENTRIES =
      FrozenModules.KEYS.stream().map(k -> FROZEN_PREFIX + k + ".npy").toList();

  /** The entries in file order. */
  public static final List<String> ENTRIES =
      List.of(
          ENTRY_METADATA,
          ENTRY_CONFIG,
          ENTRY_MODEL,
          FROZEN_ENTRIES.get(0),
          FROZEN_ENTRIES.get(1),
          FROZEN_ENTRIES.get(2),
          ENTRY_CHECKSUMS);

  /** The entries of a schema-1 checkpoint, in file order. */
  public static final List<String> ENTRIES_SCHEMA_1 =
      List.of(ENTRY_METADATA, ENTRY_CONFIG, ENTRY_MODEL, ENTRY_CHECKSUMS);

  /** How the RNG is driven, recorded in {@code rng.scheme}. */
  public static final String RNG_SCHEME = "nd4j-reseeded-per-step:splitmix64(seed,iteration)";

  private static final Pattern NAME = Pattern.compile("step-(\\d{6,})\\.ckpt");
  private static final long MAX_SMALL_ENTRY = 64L << 20;
  private static final int END_RECORD_SIZE = 22;
  private static final int END_RECORD_SIGNATURE = 0x06054b50;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private CheckpointIO() {}

  /** {@code step-NNNNNN.ckpt}. */
  public static String fileName(long step) {
    if (step < 0) {
      throw new IllegalArgumentException("negative step " + step);
    }
    return String.format("step-%06d.ckpt", step);
  }

  /** The step of a checkpoint file name, or -1 when the name is not one. */
  public static long stepOf(Path file) {
    Matcher m = NAME.matcher(file.getName());
    if (!m.matches()) {
      return -1;
    }
    try {
      return Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Writes {@code ckpt} as {@code dir/step-NNNNNN.ckpt} (replacing a file of that name) and returns its path. */
  public static Path save(Path dir, Checkpoint ckpt, Configuration conf) throws IOException {
    return save(dir, ckpt, conf, tmp -> {});
  }

  /**
   * As {@link #save(Path, Checkpoint, Configuration)}, calling {@code beforeRename} with the complete temporary
   * file just before it gets its final name (a fault-injection point, see {@link AtomicFiles}).
   */
  public static Path save(
      Path dir, Checkpoint ckpt, Configuration conf, java.util.function.Consumer<Path> beforeRename)
      throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    fs.mkdirs(dir);
    Path target = new Path(dir, fileName(ckpt.step()));
    AtomicFiles.write(fs, target, out -> writeZip(out, ckpt), beforeRename);
    return target;
  }

  /** Writes {@code ckpt} to exactly {@code file}. */
  public static void write(FileSystem fs, Path file, Checkpoint ckpt) throws IOException {
    AtomicFiles.write(fs, file, out -> writeZip(out, ckpt));
  }

  /** The zip content of a checkpoint (see the class description), written to {@code out} (not closed). */
  public static void writeZip(OutputStream out, Checkpoint ckpt) throws IOException {
    if (ckpt.frozen() == null) {
      throw new IllegalArgumentException(
          "a checkpoint without its frozen modules (quantizer, mask embedding) cannot be written");
    }
    ZipOutputStream zip = new ZipOutputStream(out, StandardCharsets.UTF_8);
    Map<String, String> sums = new LinkedHashMap<>();
    sums.put(ENTRY_METADATA, putEntry(zip, ENTRY_METADATA, metadata(ckpt)));
    sums.put(
        ENTRY_CONFIG, putEntry(zip, ENTRY_CONFIG, ckpt.config().getBytes(StandardCharsets.UTF_8)));

    zip.setLevel(Deflater.NO_COMPRESSION);
    zip.putNextEntry(new ZipEntry(ENTRY_MODEL));
    MessageDigest md = sha256();
    OutputStream shield = new CloseShield(new DigestOutputStream(zip, md));
    ModelSerializer.writeModel(ckpt.model(), shield, true);
    shield.flush();
    zip.closeEntry();
    zip.setLevel(Deflater.DEFAULT_COMPRESSION);
    sums.put(ENTRY_MODEL, HexFormat.of().formatHex(md.digest()));
    Map<String, NpyArray> frozen = ckpt.frozen().tensors();
    for (int i = 0; i < FrozenModules.KEYS.size(); i++) {
      ByteArrayOutputStream npy = new ByteArrayOutputStream();
      Npy.write(npy, frozen.get(FrozenModules.KEYS.get(i)));
      sums.put(FROZEN_ENTRIES.get(i), putEntry(zip, FROZEN_ENTRIES.get(i), npy.toByteArray()));
    }

    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, String> e : sums.entrySet()) {
      sb.append(e.getValue()).append("  ").append(e.getKey()).append('\n');
    }
    putEntry(zip, ENTRY_CHECKSUMS, sb.toString().getBytes(StandardCharsets.UTF_8));
    zip.finish();
    zip.flush();
  }

  private static String putEntry(ZipOutputStream zip, String name, byte[] content)
      throws IOException {
    zip.putNextEntry(new ZipEntry(name));
    zip.write(content);
    zip.closeEntry();
    return HexFormat.of().formatHex(sha256().digest(content));
  }

  private static byte[] metadata(Checkpoint c) throws IOException {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("schema_version", SCHEMA_VERSION);
    root.put("step", c.step());
    root.put("epoch", c.epoch());
    root.set("data_position", JSON.readTree(c.dataPosition()));
    ObjectNode rng = root.putObject("rng");
    rng.put("seed", c.seed());
    rng.put("scheme", RNG_SCHEME);
    ObjectNode counters = root.putObject("counters");
    counters.put("steps_done", c.counters().stepsDone());
    counters.put("skipped_empty", c.counters().skippedEmpty());
    counters.put("skipped_non_finite", c.counters().skippedNonFinite());
    Provenance p = c.provenance();
    ObjectNode prov = root.putObject("provenance");
    prov.put("nest_spark_version", p.nestSparkVersion());
    prov.put("dl4j_version", p.dl4jVersion());
    prov.put("java_version", p.javaVersion());
    prov.put("config_sha256", p.configSha256());
    ObjectNode manifests = prov.putObject("manifest_sha256");
    for (Map.Entry<String, String> e : p.manifestSha256().entrySet()) {
      manifests.put(e.getKey(), e.getValue());
    }
    prov.put("created_at", p.createdAt());
    root.putObject("frozen_modules").put("origin", c.frozen().origin());
    return JSON.writeValueAsBytes(root);
  }

  /**
   * Reads and verifies a checkpoint (see the class description).
   *
   * @throws CheckpointException when the file is missing, unreadable, truncated, corrupted, incomplete or
   *     inconsistent; the message names the file and the reason
   */
  public static Checkpoint load(Path file, Configuration conf) throws CheckpointException {
    String shown = NestPaths.display(file);
    File local = null;
    boolean temporary = false;
    try {
      FileSystem fs = file.getFileSystem(conf);
      if (!fs.exists(file)) {
        throw new CheckpointException(shown, "no such file");
      }
      if (fs instanceof LocalFileSystem || fs instanceof RawLocalFileSystem) {
        local = new File(fs.makeQualified(file).toUri());
      } else {
        local = File.createTempFile("nest-ckpt-", ".zip");
        temporary = true;
        try (InputStream in = fs.open(file)) {
          Files.copy(in, local.toPath(), StandardCopyOption.REPLACE_EXISTING);
        }
      }
      return read(local, shown);
    } catch (CheckpointException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException(shown, "cannot read: " + e, e);
    } finally {
      if (temporary) {
        local.delete();
      }
    }
  }

  private static Checkpoint read(File local, String shown) throws CheckpointException {
    try (ZipFile zip = openZip(local, shown)) {
      Map<String, ZipEntry> entries = new LinkedHashMap<>();
      for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
        ZipEntry e = en.nextElement();
        if (!ENTRIES.contains(e.getName())) {
          throw new CheckpointException(
              shown,
              "unexpected entry '"
                  + e.getName()
                  + "': damaged, or not a nest-spark checkpoint of schema "
                  + OLDEST_SCHEMA_VERSION
                  + " to "
                  + SCHEMA_VERSION);
        }
        if (entries.put(e.getName(), e) != null) {
          throw new CheckpointException(shown, "entry '" + e.getName() + "' occurs twice");
        }
      }
      for (String name : ENTRIES_SCHEMA_1) {
        if (!entries.containsKey(name)) {
          throw new CheckpointException(shown, "incomplete: no entry '" + name + "'");
        }
      }
      Map<String, String> sums =
          parseSums(
              new String(
                  readSmall(zip, entries.get(ENTRY_CHECKSUMS), shown), StandardCharsets.UTF_8),
              shown);
      byte[] metadata = readSmall(zip, entries.get(ENTRY_METADATA), shown);
      byte[] config = readSmall(zip, entries.get(ENTRY_CONFIG), shown);
      verify(shown, ENTRY_METADATA, sums, sha256().digest(metadata));
      verify(shown, ENTRY_CONFIG, sums, sha256().digest(config));
      verify(shown, ENTRY_MODEL, sums, digestOf(zip, entries.get(ENTRY_MODEL), shown));

      JsonNode meta = parseMetadata(metadata, shown);
      int schema = meta.get("schema_version").asInt();
      FrozenModules frozen = null;
      if (schema == 1) {
        for (String name : FROZEN_ENTRIES) {
          if (entries.containsKey(name)) {
            throw new CheckpointException(
                shown, "unexpected entry '" + name + "' in a checkpoint of schema 1: damaged");
          }
        }
        LOG.warn(
            "{}: checkpoint of schema 1 holds no quantizer or mask embedding; they will be drawn from data.seed",
            shown);
      } else {
        Map<String, NpyArray> tensors = new LinkedHashMap<>();
        for (int i = 0; i < FROZEN_ENTRIES.size(); i++) {
          String name = FROZEN_ENTRIES.get(i);
          if (!entries.containsKey(name)) {
            throw new CheckpointException(shown, "incomplete: no entry '" + name + "'");
          }
          byte[] npy = readSmall(zip, entries.get(name), shown);
          verify(shown, name, sums, sha256().digest(npy));
          try {
            tensors.put(FrozenModules.KEYS.get(i), Npy.read(new java.io.ByteArrayInputStream(npy)));
          } catch (IOException e) {
            throw new CheckpointException(
                shown, name + " is not a valid .npy: " + e.getMessage(), e);
          }
        }
        try {
          frozen = FrozenModules.of(tensors, meta.get("frozen_modules").get("origin").asText());
        } catch (IllegalArgumentException e) {
          throw new CheckpointException(shown, e.getMessage(), e);
        }
      }
      ComputationGraph model;
      try (InputStream in = zip.getInputStream(entries.get(ENTRY_MODEL))) {
        model = ModelSerializer.restoreComputationGraph(in, true);
      } catch (IOException | RuntimeException e) {
        throw new CheckpointException(
            shown, "cannot restore the model from " + ENTRY_MODEL + ": " + e, e);
      }
      long step = meta.get("step").asLong();
      long epoch = meta.get("epoch").asLong();
      if (model.getIterationCount() != step || model.getEpochCount() != epoch) {
        throw new CheckpointException(
            shown,
            "inconsistent: step/epoch "
                + step
                + "/"
                + epoch
                + " but the model's iteration/epoch counts are "
                + model.getIterationCount()
                + "/"
                + model.getEpochCount());
      }
      JsonNode c = meta.get("counters");
      JsonNode p = meta.get("provenance");
      Map<String, String> manifests = new TreeMap<>();
      for (Iterator<Map.Entry<String, JsonNode>> it = p.get("manifest_sha256").fields();
          it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        manifests.put(e.getKey(), e.getValue().asText());
      }
      Provenance prov =
          new Provenance(
              p.get("nest_spark_version").asText(),
              p.get("dl4j_version").asText(),
              p.get("java_version").asText(),
              p.get("config_sha256").asText(),
              manifests,
              p.get("created_at").asText());
      TrainStep.Counters counters =
          new TrainStep.Counters(
              c.get("steps_done").asLong(),
              c.get("skipped_empty").asLong(),
              c.get("skipped_non_finite").asLong());
      return new Checkpoint(
          model,
          step,
          epoch,
          JSON.writeValueAsString(meta.get("data_position")),
          meta.get("rng").get("seed").asLong(),
          counters,
          new String(config, StandardCharsets.UTF_8),
          prov,
          frozen);
    } catch (CheckpointException e) {
      throw e;
    } catch (IOException | RuntimeException e) {
      throw new CheckpointException(shown, "corrupted or truncated: " + e, e);
    }
  }

  private static ZipFile openZip(File local, String shown) throws CheckpointException {
    // A zip reader looks for the last end-of-directory record; in a truncated checkpoint that can
    // be the one
    // of the embedded model.zip. Checkpoints carry no zip comment, so the record must end the file.
    try (RandomAccessFile raf = new RandomAccessFile(local, "r")) {
      long len = raf.length();
      int sig = 0;
      if (len >= END_RECORD_SIZE) {
        raf.seek(len - END_RECORD_SIZE);
        sig = Integer.reverseBytes(raf.readInt());
      }
      if (sig != END_RECORD_SIGNATURE) {
        throw new CheckpointException(
            shown,
            "truncated or not a checkpoint: no zip end record at the end of the file ("
                + len
                + " bytes)");
      }
    } catch (IOException e) {
      if (e instanceof CheckpointException) {
        throw (CheckpointException) e;
      }
      throw new CheckpointException(shown, "cannot read: " + e, e);
    }
    try {
      return new ZipFile(local, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new CheckpointException(
          shown, "not a complete zip file (truncated or corrupted): " + e.getMessage(), e);
    }
  }

  private static byte[] readSmall(ZipFile zip, ZipEntry e, String shown) throws IOException {
    if (e.getSize() > MAX_SMALL_ENTRY) {
      throw new CheckpointException(
          shown, "entry '" + e.getName() + "' is implausibly large (" + e.getSize() + " bytes)");
    }
    try (InputStream in = zip.getInputStream(e)) {
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      in.transferTo(bos);
      return bos.toByteArray();
    }
  }

  private static byte[] digestOf(ZipFile zip, ZipEntry e, String shown) throws IOException {
    MessageDigest md = sha256();
    byte[] buf = new byte[1 << 16];
    try (InputStream in = zip.getInputStream(e)) {
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
    }
    return md.digest();
  }

  private static Map<String, String> parseSums(String text, String shown)
      throws CheckpointException {
    Map<String, String> sums = new LinkedHashMap<>();
    for (String line : text.split("\n")) {
      if (line.isEmpty()) {
        continue;
      }
      int sep = line.indexOf("  ");
      if (sep != 64 || !line.substring(0, 64).matches("[0-9a-f]{64}")) {
        throw new CheckpointException(shown, ENTRY_CHECKSUMS + ": malformed line '" + line + "'");
      }
      sums.put(line.substring(sep + 2), line.substring(0, sep));
    }
    return sums;
  }

  private static void verify(String shown, String entry, Map<String, String> sums, byte[] digest)
      throws CheckpointException {
    String expected = sums.get(entry);
    if (expected == null) {
      throw new CheckpointException(
          shown, ENTRY_CHECKSUMS + " has no checksum for '" + entry + "'");
    }
    String actual = HexFormat.of().formatHex(digest);
    if (!expected.equals(actual)) {
      throw new CheckpointException(
          shown,
          "checksum mismatch for '"
              + entry
              + "' (expected "
              + expected
              + ", got "
              + actual
              + "): corrupted");
    }
  }

  private static JsonNode parseMetadata(byte[] bytes, String shown) throws CheckpointException {
    JsonNode meta;
    try {
      meta = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new CheckpointException(
          shown, ENTRY_METADATA + " is not valid JSON: " + e.getMessage(), e);
    }
    if (meta == null || !meta.isObject() || !FORMAT.equals(meta.path("format").asText())) {
      throw new CheckpointException(shown, ENTRY_METADATA + ": format is not '" + FORMAT + "'");
    }
    int version = meta.path("schema_version").asInt(-1);
    if (version < OLDEST_SCHEMA_VERSION || version > SCHEMA_VERSION) {
      throw new CheckpointException(
          shown,
          "schema version "
              + version
              + " is not supported (this nest-spark reads versions "
              + OLDEST_SCHEMA_VERSION
              + " to "
              + SCHEMA_VERSION
              + ")");
    }
    if (version >= 2 && meta.path("frozen_modules").path("origin").isMissingNode()) {
      throw new CheckpointException(shown, ENTRY_METADATA + ": missing 'frozen_modules.origin'");
    }
    String[][] required = {
      {"step"},
      {"epoch"},
      {"data_position"},
      {"rng", "seed"},
      {"counters", "steps_done"},
      {"counters", "skipped_empty"},
      {"counters", "skipped_non_finite"},
      {"provenance", "nest_spark_version"},
      {"provenance", "dl4j_version"},
      {"provenance", "java_version"},
      {"provenance", "config_sha256"},
      {"provenance", "manifest_sha256"},
      {"provenance", "created_at"}
    };
    for (String[] path : required) {
      JsonNode n = meta;
      for (String k : path) {
        n = n.path(k);
      }
      if (n.isMissingNode()) {
        throw new CheckpointException(
            shown, ENTRY_METADATA + ": missing '" + String.join(".", path) + "'");
      }
    }
    return meta;
  }

  /** The checkpoint files in {@code dir} ({@code step-NNNNNN.ckpt}), oldest step first; empty if no folder. */
  public static List<Path> list(Path dir, Configuration conf) throws IOException {
    FileSystem fs = dir.getFileSystem(conf);
    List<Path> out = new ArrayList<>();
    if (!fs.exists(dir)) {
      return out;
    }
    for (FileStatus st : fs.listStatus(dir)) {
      if (st.isFile() && !AtomicFiles.isTemporary(st.getPath()) && stepOf(st.getPath()) >= 0) {
        out.add(st.getPath());
      }
    }
    out.sort(Comparator.comparingLong(CheckpointIO::stepOf).thenComparing(Path::getName));
    return out;
  }

  /**
   * The newest checkpoint of {@code dir} that loads and verifies, skipping unusable ones (each reported
   * to {@code warnings} and logged as a warning naming the file and the reason); empty if none.
   */
  public static Optional<Checkpoint> loadNewestValid(
      Path dir, Configuration conf, Consumer<String> warnings) throws IOException {
    List<Path> files = list(dir, conf);
    for (int i = files.size() - 1; i >= 0; i--) {
      try {
        return Optional.of(load(files.get(i), conf));
      } catch (CheckpointException e) {
        String msg = "skipping unusable checkpoint " + e.getMessage();
        LOG.warn(msg);
        warnings.accept(msg);
      }
    }
    return Optional.empty();
  }

  /** Passes writes through; close only flushes (the zip entry must stay open). */
  private static final class CloseShield extends FilterOutputStream {
    CloseShield(OutputStream target) {
      super(target);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      out.write(b, off, len);
    }

    @Override
    public void close() throws IOException {
      flush();
    }
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
