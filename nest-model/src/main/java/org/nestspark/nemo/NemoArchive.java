package org.nestspark.nemo;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.EOFException;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;

/**
 * Reads and writes NeMo {@code .nemo} archives (docs/nest-numerics.md §11; NeMo's {@code SaveRestoreConnector}).
 *
 * <p><b>Reading</b> accepts what NeMo's {@code restore_from} accepts: an uncompressed tar (NeMo ≥ 1.7),
 * a gzip-compressed tar (older NeMo; told apart by the gzip magic bytes, whatever the file name), or an
 * already extracted folder. Members {@code ./model_config.yaml} and {@code ./model_weights.ckpt} are
 * required ({@code ./} optional); other regular files are artifacts, kept as names only. Nothing is
 * extracted to disk: a plain tar read through Hadoop is read in place with positioned reads; a gzip
 * tar or a stream can only be read in order, so its checkpoint is held in memory, or spooled to a
 * temporary file (deleted afterwards) when larger than 256 MiB. Unsafe archives are refused (see
 * {@link TarReader}), and the checkpoint pickle can only build a state dict (see
 * {@link RestrictedUnpickler}). Every problem is a {@link NemoFormatException} naming the archive and
 * member.
 *
 * <p><b>Writing</b> produces what NeMo ≥ 1.7 writes and {@code restore_from} loads: an uncompressed tar
 * with {@code ./}, {@code ./model_config.yaml} (block-style YAML of {@link NemoModel#config()}) and
 * {@code ./model_weights.ckpt} (torch's zip format as torch 1.13 writes it, plus a {@code byteorder}
 * record; see {@link TorchCheckpointWriter} and {@link StateDictPickler}). The checkpoint is streamed;
 * a Hadoop path is written atomically (temporary name, then rename).
 *
 * <p>NeMo quirks handled: PAX headers before every member (Python's tar default); gzip archives from
 * before NeMo 1.7; torch 1.13 checkpoints without {@code byteorder} and with data offsets only
 * computable from the local zip headers.
 */
public final class NemoArchive {
  /** The config member's name as NeMo writes it. */
  public static final String CONFIG_MEMBER = "./model_config.yaml";

  /** The weights member's name as NeMo writes it. */
  public static final String WEIGHTS_MEMBER = "./model_weights.ckpt";

  static final long DEFAULT_MEMORY_LIMIT = 256L << 20;
  private static final int CONFIG_LIMIT = NemoYaml.MAX_CHARS;
  private static final int BUFFER = 1 << 16;

  private NemoArchive() {}

  // ---------------------------------------------------------------- reading

  /**
   * Reads a {@code .nemo} file (or an extracted {@code .nemo} folder) through Hadoop's
   * {@code FileSystem}.
   *
   * @throws NemoFormatException when the archive is malformed, unsafe or incomplete
   * @throws java.io.FileNotFoundException when there is no such file
   */
  public static NemoModel read(Path path, Configuration conf) throws IOException {
    return read(path, conf, DEFAULT_MEMORY_LIMIT);
  }

  static NemoModel read(Path path, Configuration conf, long memoryLimit) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    String name = NestPaths.display(path);
    FileStatus st = fs.getFileStatus(path);
    if (st.isDirectory()) {
      return readFolder(fs, path, name);
    }
    long len = st.getLen();
    try (FSDataInputStream in = fs.open(path)) {
      byte[] magic = new byte[(int) Math.min(2, len)];
      in.readFully(0, magic);
      if (magic.length == 2 && (magic[0] & 0xff) == 0x1f && (magic[1] & 0xff) == 0x8b) {
        in.seek(0);
        return read(new BufferedInputStream(in, BUFFER), name, memoryLimit);
      }
      return readTar(TarReader.of(name, RandomAccessBytes.of(in, len)), name, memoryLimit, false);
    }
  }

  /**
   * Reads a {@code .nemo} from a stream (plain or gzip tar, detected by magic); does not close it.
   *
   * @param name what to call the archive in messages
   */
  public static NemoModel read(InputStream in, String name) throws IOException {
    return read(in, name, DEFAULT_MEMORY_LIMIT);
  }

  static NemoModel read(InputStream input, String name, long memoryLimit) throws IOException {
    InputStream in = input.markSupported() ? input : new BufferedInputStream(input, BUFFER);
    in.mark(2);
    int b0 = in.read();
    int b1 = in.read();
    in.reset();
    boolean gzip = b0 == 0x1f && b1 == 0x8b;
    InputStream tar = in;
    try {
      if (gzip) {
        tar = new BufferedInputStream(new GZIPInputStream(in, BUFFER), BUFFER);
      }
      return readTar(TarReader.of(name, tar), name, memoryLimit, gzip);
    } catch (ZipException | EOFException e) {
      throw new NemoFormatException(
          name,
          null,
          (gzip ? "corrupt or truncated gzip data: " : "truncated archive: ") + e.getMessage(),
          e);
    }
  }

  private static NemoModel readTar(TarReader tar, String name, long memoryLimit, boolean gzip)
      throws IOException {
    String yaml = null;
    String yamlMember = null;
    TorchCheckpointReader.Result ckpt = null;
    List<String> artifacts = new ArrayList<>();
    List<String> members = new ArrayList<>();
    TarReader.Entry e;
    while ((e = tar.next()) != null) {
      members.add(e.rawName);
      if (e.isDirectory()) {
        continue;
      }
      if (e.name.equals("model_config.yaml")) {
        if (yaml != null) {
          throw new NemoFormatException(name, e.rawName, "duplicate config member");
        }
        yaml = utf8(tar.readContent(e, CONFIG_LIMIT), name, e.rawName);
        yamlMember = e.rawName;
      } else if (e.name.equals("model_weights.ckpt")) {
        if (ckpt != null) {
          throw new NemoFormatException(name, e.rawName, "duplicate weights member");
        }
        try (RandomAccessBytes bytes = tar.openContent(e, memoryLimit)) {
          ckpt = TorchCheckpointReader.read(name, e.rawName, bytes);
        }
      } else {
        artifacts.add(e.rawName);
      }
    }
    if (members.isEmpty()) {
      throw new NemoFormatException(name, null, "empty tar archive");
    }
    if (yaml == null) {
      throw new NemoFormatException(
          name, null, "no " + CONFIG_MEMBER + " member" + listing(members));
    }
    if (ckpt == null) {
      throw new NemoFormatException(
          name, null, "no " + WEIGHTS_MEMBER + " member" + hint(members) + listing(members));
    }
    return new NemoModel(
        yaml, NemoYaml.load(yaml, name, yamlMember), ckpt.stateDict, ckpt.metadata, artifacts);
  }

  private static NemoModel readFolder(FileSystem fs, Path dir, String name) throws IOException {
    Path cfg = new Path(dir, "model_config.yaml");
    Path w = new Path(dir, "model_weights.ckpt");
    if (!fs.exists(cfg) || !fs.exists(w)) {
      throw new NemoFormatException(
          name,
          null,
          "folder without model_config.yaml and model_weights.ckpt: not an extracted .nemo");
    }
    FileStatus cs = fs.getFileStatus(cfg);
    if (cs.getLen() > CONFIG_LIMIT) {
      throw new NemoFormatException(
          name, "model_config.yaml", "config of " + cs.getLen() + " bytes is too large");
    }
    String yaml;
    try (FSDataInputStream in = fs.open(cfg)) {
      byte[] b = new byte[(int) cs.getLen()];
      in.readFully(0, b);
      yaml = utf8(b, name, "model_config.yaml");
    }
    TorchCheckpointReader.Result ckpt;
    try (FSDataInputStream in = fs.open(w)) {
      ckpt =
          TorchCheckpointReader.read(
              name, "model_weights.ckpt", RandomAccessBytes.of(in, fs.getFileStatus(w).getLen()));
    }
    List<String> artifacts = new ArrayList<>();
    for (FileStatus s : fs.listStatus(dir)) {
      String n = s.getPath().getName();
      if (s.isFile() && !n.equals("model_config.yaml") && !n.equals("model_weights.ckpt")) {
        artifacts.add(n);
      }
    }
    return new NemoModel(
        yaml,
        NemoYaml.load(yaml, name, "model_config.yaml"),
        ckpt.stateDict,
        ckpt.metadata,
        artifacts);
  }

  private static String utf8(byte[] b, String archive, String member) throws NemoFormatException {
    try {
      String s =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(b))
              .toString();
      return s.startsWith("\uFEFF") ? s.substring(1) : s;
    } catch (CharacterCodingException e) {
      throw new NemoFormatException(archive, member, "config is not UTF-8 text");
    }
  }

  private static String hint(List<String> members) {
    for (String m : members) {
      if (m.endsWith(".distcp") || m.contains("model_weights/")) {
        return " (this looks like a distributed torch_dist checkpoint, which is not supported)";
      }
      if (m.contains("mp_rank_") || m.contains("tp_rank_")) {
        return " (this looks like a model-parallel checkpoint, which is not supported)";
      }
    }
    return "";
  }

  private static String listing(List<String> members) {
    return " (members: "
        + members.subList(0, Math.min(10, members.size()))
        + (members.size() > 10 ? ", ..." : "")
        + ")";
  }

  // ---------------------------------------------------------------- writing

  /** Writes a {@code .nemo} atomically through Hadoop's {@code FileSystem}, replacing any existing file. */
  public static void write(NemoModel model, Path path, Configuration conf) throws IOException {
    FileSystem fs = path.getFileSystem(conf);
    AtomicFiles.write(fs, path, out -> write(model, out));
  }

  /** Writes a {@code .nemo} to a stream (flushed, not closed). */
  public static void write(NemoModel model, OutputStream out) throws IOException {
    write(model, out, System.currentTimeMillis() / 1000, true);
  }

  static void write(NemoModel model, OutputStream out, long mtime, boolean includeByteorder)
      throws IOException {
    byte[] yaml = NemoYaml.dump(model.config()).getBytes(StandardCharsets.UTF_8);
    TorchCheckpointWriter ckpt =
        TorchCheckpointWriter.plan(model.stateDict(), model.metadata(), includeByteorder);
    OutputStream b =
        new BufferedOutputStream(
            new FilterOutputStream(out) {
              @Override
              public void write(byte[] buf, int off, int len) throws IOException {
                out.write(buf, off, len);
              }

              @Override
              public void close() throws IOException {
                flush(); // never close the caller's stream
              }
            },
            BUFFER);
    TarWriter tar = new TarWriter(b, mtime);
    tar.directory("./");
    tar.file(CONFIG_MEMBER, yaml);
    tar.fileHeader(WEIGHTS_MEMBER, ckpt.size());
    ckpt.writeTo(b);
    tar.pad(ckpt.size());
    tar.finish();
    b.flush();
  }
}
