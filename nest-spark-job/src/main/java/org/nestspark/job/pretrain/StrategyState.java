package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestInputStream;
import java.security.DigestOutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.train.CheckpointIO;

/**
 * The low-communication strategy's state beside a checkpoint: {@code checkpoints/step-NNNNNN.diloco/}
 * holds {@code worker-WWW.npy} (each worker's inner AdamW state view, float32, written by the worker itself
 * on its executor at the end of the round that reaches the checkpoint), {@code outer_momentum.npy} (the
 * driver's Nesterov buffer) and, written last by the driver, {@value #STATE}: the strategy, the number of
 * workers and the SHA-256 of every file. The checkpoint itself is written after this folder, so a checkpoint
 * whose folder verifies resumes exactly; one without (older runs, a damaged folder, another strategy) resumes
 * with fresh inner states and a zero outer momentum, and says so.
 *
 * <p>Inner states go from executors straight to storage and back: the driver never holds them, whatever the
 * number of workers.
 */
final class StrategyState {
  static final String SUFFIX = ".diloco";
  static final String STATE = "state.json";
  static final String OUTER = "outer_momentum.npy";

  private StrategyState() {}

  /** The folder of the checkpoint at {@code step}. */
  static Path dir(Path checkpointDir, long step) {
    return new Path(checkpointDir, CheckpointIO.fileName(step).replace(".ckpt", SUFFIX));
  }

  static String workerFile(int worker) {
    return String.format(Locale.ROOT, "worker-%03d.npy", worker);
  }

  /** Writes a float32 vector atomically and returns its SHA-256. */
  static String writeVector(FileSystem fs, Path file, float[] v) throws IOException {
    MessageDigest md = sha256();
    AtomicFiles.write(
        fs,
        file,
        out -> {
          DigestOutputStream d =
              new DigestOutputStream(
                  out, md); // not closed: AtomicFiles closes the stream after its flush
          Npy.write(d, new int[] {v.length}, v);
          d.flush();
        });
    return HexFormat.of().formatHex(md.digest());
  }

  /** Reads a float32 vector of {@code length} values, checking its SHA-256 when {@code sha256} is not null. */
  static float[] readVector(FileSystem fs, Path file, int length, String sha256)
      throws IOException {
    MessageDigest md = sha256();
    NpyArray a;
    try (InputStream in = new DigestInputStream(fs.open(file), md)) {
      a = Npy.read(in);
      in.transferTo(java.io.OutputStream.nullOutputStream());
    }
    String got = HexFormat.of().formatHex(md.digest());
    if (sha256 != null && !sha256.equals(got)) {
      throw new IOException(
          file + ": SHA-256 " + got + " does not match " + sha256 + " recorded in " + STATE);
    }
    float[] v = a.toFloatArray();
    if (v.length != length) {
      throw new IOException(file + ": " + v.length + " values, expected " + length);
    }
    return v;
  }

  /** Writes {@value #OUTER} and then {@value #STATE}, completing the folder. */
  static void complete(
      FileSystem fs, Path dir, int workers, float[] outerMomentum, Map<Integer, String> workerSha)
      throws IOException {
    ObjectNode n = MetricsLog.JSON.createObjectNode();
    n.put("strategy", "diloco");
    n.put("workers", workers);
    n.put("length", outerMomentum.length);
    ObjectNode files = n.putObject("sha256");
    files.put(OUTER, writeVector(fs, new Path(dir, OUTER), outerMomentum));
    for (Map.Entry<Integer, String> e : workerSha.entrySet()) {
      files.put(workerFile(e.getKey()), e.getValue());
    }
    byte[] bytes =
        MetricsLog.JSON
            .writerWithDefaultPrettyPrinter()
            .writeValueAsString(n)
            .getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(dir, STATE), out -> out.write(bytes));
  }

  /** A verified folder: the outer momentum and the recorded SHA-256 of each worker's file. */
  record Loaded(Path dir, int workers, float[] outerMomentum, Map<Integer, String> workerSha256) {}

  /**
   * Loads the folder of the checkpoint at {@code step}.
   *
   * @throws IOException naming the file and the reason when it is missing or does not verify
   */
  static Loaded load(Path checkpointDir, long step, int length, Configuration conf)
      throws IOException {
    Path dir = dir(checkpointDir, step);
    FileSystem fs = dir.getFileSystem(conf);
    Path state = new Path(dir, STATE);
    if (!fs.exists(state)) {
      throw new IOException(state + " not found");
    }
    JsonNode n;
    try (InputStream in = fs.open(state)) {
      n = MetricsLog.JSON.readTree(in);
    }
    if (!"diloco".equals(n.path("strategy").asText()) || n.path("length").asInt() != length) {
      throw new IOException(state + ": not a diloco state of " + length + " parameters");
    }
    JsonNode sums = n.path("sha256");
    float[] outer = readVector(fs, new Path(dir, OUTER), length, sums.path(OUTER).asText(null));
    Map<Integer, String> workers = new TreeMap<>();
    int w = n.path("workers").asInt();
    for (int i = 0; i < w; i++) {
      String sha = sums.path(workerFile(i)).asText(null);
      if (sha != null) {
        workers.put(i, sha);
      }
    }
    return new Loaded(dir, w, outer, workers);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
