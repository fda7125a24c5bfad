package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FilterFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nestspark.config.NestConfig;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.testkit.TestGraphs;

/** {@link CheckpointIO}: round trip, pinned layout, rejection of bad files, listing, exact resume. */
class CheckpointIOTest {
  private static final Configuration CONF = new Configuration(false);
  private static final NestConfig CFG = NestConfig.defaults();
  private static final FrozenModules FROZEN = FrozenModules.drawn(CFG.settings());

  @TempDir java.nio.file.Path tmp;

  private Path dir() {
    return new Path(tmp.toUri());
  }

  private static AdamW adamw() {
    return new AdamW(new NoamAnnealing(2.0, 16, 3, 1e-5), 0.9, 0.98, 1e-8, 1e-2);
  }

  /** A graph with dropout and BatchNorm trained {@code steps} steps on batches 0.. (seed 42, clip 1.0). */
  private static TrainStep trained(int steps) {
    ComputationGraph g = TestGraphs.graph(adamw(), DataType.FLOAT, 0.7, 9);
    TrainStep t = new TrainStep(g, 42, 1.0);
    for (int s = 0; s < steps; s++) {
      t.fit(TestGraphs.batch(s, DataType.FLOAT, false));
    }
    return t;
  }

  private static Checkpoint checkpoint(TrainStep t, String position) {
    return Checkpoint.of(
        t,
        position,
        CFG,
        Map.of("train.json", "ab".repeat(32), "noise.json", "cd".repeat(32)),
        FROZEN);
  }

  private static byte[] bytes(Checkpoint c) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    CheckpointIO.writeZip(bos, c);
    return bos.toByteArray();
  }

  /** Entries of a zip, in file order. */
  private static LinkedHashMap<String, byte[]> entries(byte[] zip) throws IOException {
    LinkedHashMap<String, byte[]> out = new LinkedHashMap<>();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        out.put(e.getName(), in.readAllBytes());
      }
    }
    return out;
  }

  private static byte[] zip(Map<String, byte[]> entries) throws IOException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(bos)) {
      for (Map.Entry<String, byte[]> e : entries.entrySet()) {
        z.putNextEntry(new ZipEntry(e.getKey()));
        z.write(e.getValue());
        z.closeEntry();
      }
    }
    return bos.toByteArray();
  }

  private static String sums(Map<String, byte[]> entries) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, byte[]> e : entries.entrySet()) {
      if (!e.getKey().equals(CheckpointIO.ENTRY_CHECKSUMS)) {
        sb.append(
                HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(e.getValue())))
            .append("  ")
            .append(e.getKey())
            .append('\n');
      }
    }
    return sb.toString();
  }

  private Path writeRaw(String name, byte[] content) throws IOException {
    Files.write(tmp.resolve(name), content);
    return new Path(tmp.resolve(name).toUri());
  }

  private static CheckpointException rejected(Path p) {
    return assertThrows(CheckpointException.class, () -> CheckpointIO.load(p, CONF));
  }

  @Test
  void roundTripRestoresEverything() throws IOException {
    TrainStep t = trained(3);
    Checkpoint c = checkpoint(t, "{ \"epoch_seed\": 5, \"offset\": 12 }");
    Path file = CheckpointIO.save(dir(), c, CONF);
    assertEquals("step-000003.ckpt", file.getName());
    assertFalse(
        Files.list(tmp).anyMatch(p -> p.getFileName().toString().contains(".tmp-")),
        "no temporary file left");

    Checkpoint back = CheckpointIO.load(file, CONF);
    assertEquals(3, back.step());
    assertEquals(0, back.epoch());
    assertEquals("{\"epoch_seed\":5,\"offset\":12}", back.dataPosition());
    assertEquals(42, back.seed());
    assertEquals(t.counters(), back.counters());
    assertEquals(CFG.render(), back.config());
    assertEquals(c.provenance(), back.provenance());
    assertEquals("1.0.0-M2.1", back.provenance().dl4jVersion());
    assertEquals(System.getProperty("java.version"), back.provenance().javaVersion());
    assertEquals(CFG.sha256(), back.provenance().configSha256());
    assertEquals(2, back.provenance().manifestSha256().size());
    assertArrayEquals(TestGraphs.flat(t.graph().params()), TestGraphs.flat(back.model().params()));
    assertArrayEquals(
        TestGraphs.flat(t.graph().getUpdater().getStateViewArray()),
        TestGraphs.flat(back.model().getUpdater().getStateViewArray()));
    assertEquals(t.graph().getConfiguration().toJson(), back.model().getConfiguration().toJson());
    assertEquals("12", Checkpoint.normaliseJson(" 12 "));
    assertEquals(
        1234L,
        new Checkpoint(
                back.model(),
                3,
                0,
                "1234",
                1,
                TrainStep.Counters.ZERO,
                "x",
                back.provenance(),
                FROZEN)
            .dataPositionAsLong());
    assertThrows(IllegalArgumentException.class, () -> Checkpoint.normaliseJson("{not json"));
    assertThrows(IllegalArgumentException.class, () -> Checkpoint.normaliseJson("1 2"));
  }

  @Test
  void layoutIsPinned() throws Exception {
    byte[] z = bytes(checkpoint(trained(1), "7"));
    LinkedHashMap<String, byte[]> e = entries(z);
    assertEquals(
        List.of(
            "checkpoint.json",
            "config.conf",
            "model.zip",
            "frozen/quantizer.codebooks.npy",
            "frozen/quantizer.proj.weight.npy",
            "frozen/mask_processor.mask_embedding.npy",
            "SHA256SUMS"),
        new ArrayList<>(e.keySet()));
    assertEquals(CheckpointIO.ENTRIES, new ArrayList<>(e.keySet()));

    JsonNode meta = new ObjectMapper().readTree(e.get("checkpoint.json"));
    List<String> keys = new ArrayList<>();
    meta.fieldNames().forEachRemaining(keys::add);
    assertEquals(
        List.of(
            "format",
            "schema_version",
            "step",
            "epoch",
            "data_position",
            "rng",
            "counters",
            "provenance",
            "frozen_modules"),
        keys);
    assertEquals("nest-spark-checkpoint", meta.get("format").asText());
    assertEquals(2, meta.get("schema_version").asInt());
    assertEquals(
        "drawn from data.seed=" + CFG.getLong("data.seed"),
        meta.get("frozen_modules").get("origin").asText());
    assertEquals(List.of("origin"), names(meta.get("frozen_modules")));
    assertEquals(1, meta.get("step").asLong());
    assertEquals(7, meta.get("data_position").asLong());
    assertEquals(List.of("seed", "scheme"), names(meta.get("rng")));
    assertEquals(
        List.of("steps_done", "skipped_empty", "skipped_non_finite"), names(meta.get("counters")));
    assertEquals(
        List.of(
            "nest_spark_version",
            "dl4j_version",
            "java_version",
            "config_sha256",
            "manifest_sha256",
            "created_at"),
        names(meta.get("provenance")));
    assertEquals(
        List.of("noise.json", "train.json"), names(meta.get("provenance").get("manifest_sha256")));

    assertEquals(sums(e), new String(e.get("SHA256SUMS"), StandardCharsets.UTF_8));
    assertEquals(CFG.render(), new String(e.get("config.conf"), StandardCharsets.UTF_8));
    // model.zip is a DL4J ModelSerializer archive with the updater state
    List<String> model = new ArrayList<>(entries(e.get("model.zip")).keySet());
    assertTrue(
        model.containsAll(List.of("configuration.json", "coefficients.bin", "updaterState.bin")),
        model.toString());
    // the frozen modules as NeMo holds them: float64 codebooks, float32 projection and embedding,
    // NeMo's shapes
    NpyArray cb = Npy.read(new ByteArrayInputStream(e.get("frozen/quantizer.codebooks.npy")));
    NpyArray proj = Npy.read(new ByteArrayInputStream(e.get("frozen/quantizer.proj.weight.npy")));
    NpyArray emb =
        Npy.read(new ByteArrayInputStream(e.get("frozen/mask_processor.mask_embedding.npy")));
    assertEquals(NpyDtype.FLOAT64, cb.dtype());
    assertArrayEquals(new int[] {1, 8192, 16}, cb.shape());
    assertEquals(NpyDtype.FLOAT32, proj.dtype());
    assertArrayEquals(new int[] {16, 640}, proj.shape());
    assertEquals(NpyDtype.FLOAT32, emb.dtype());
    assertArrayEquals(new int[] {80}, emb.shape());
    assertArrayEquals(FROZEN.quantizer(CFG.settings()).codebooks(), cb.doubleData());
    assertArrayEquals(FROZEN.quantizer(CFG.settings()).projWeight(), proj.floatData());
    assertArrayEquals(FROZEN.masking(CFG.settings()).maskEmbedding(), emb.floatData());
  }

  @Test
  void frozenModulesRoundTripWithTheirOrigin() throws IOException {
    NestConfig small =
        NestConfig.load(
            List.of(),
            List.of("model.num_classes=64", "model.code_dim=4", "model.num_books=2", "data.seed=3"),
            CONF);
    FrozenModules f = FrozenModules.drawn(small.settings()).withOrigin("/models/nemo.nemo");
    Checkpoint c = Checkpoint.of(trained(1), "1", small, Map.of(), f);
    Checkpoint back = CheckpointIO.load(CheckpointIO.save(dir(), c, CONF), CONF);
    assertTrue(f.sameValues(back.frozen()));
    assertEquals("/models/nemo.nemo", back.frozen().origin());
    List<String> warnings = new ArrayList<>();
    assertTrue(back.frozenModules(small, warnings::add) == back.frozen());
    assertEquals(List.of(), warnings);
    assertFalse(f.sameValues(FrozenModules.drawn(CFG.settings())));
    assertThrows(
        IllegalArgumentException.class,
        () -> back.frozen().quantizer(CFG.settings()),
        "8192 codes do not fit a 64-code checkpoint");
  }

  /** A checkpoint written before checkpoints held the frozen modules still loads, and says what it lacks. */
  @Test
  void schemaOneCheckpointStillLoads() throws Exception {
    Path old =
        new Path(
            CheckpointIOTest.class.getResource("/checkpoints/schema1-step-000000.ckpt").toURI());
    Checkpoint c = CheckpointIO.load(old, CONF);
    assertEquals(0, c.step());
    assertEquals("{\"epoch\":0,\"batch\":0}", c.dataPosition());
    assertEquals(7, c.seed());
    assertEquals(9057, c.model().numParams());
    assertEquals(119.2115, c.model().params().sumNumber().doubleValue(), 1e-3);
    assertNull(c.frozen());
    NestConfig cfg =
        NestConfig.load(List.of(), org.nestspark.restore.Restore.modelOverrides(c.config()), CONF);
    List<String> warnings = new ArrayList<>();
    FrozenModules f = c.frozenModules(cfg, warnings::add);
    assertTrue(f.sameValues(FrozenModules.drawn(cfg.settings())));
    assertEquals(1, warnings.size());
    String w = warnings.get(0);
    assertTrue(
        w.contains("schema 1")
            && w.contains(
                "quantizer.codebooks, quantizer.proj.weight, mask_processor.mask_embedding")
            && w.contains("drawn from data.seed=7"),
        w);
    // written again, it is a schema-2 checkpoint holding what was drawn
    Checkpoint again =
        new Checkpoint(
            c.model(),
            0,
            0,
            c.dataPosition(),
            c.seed(),
            c.counters(),
            c.config(),
            c.provenance(),
            f);
    LinkedHashMap<String, byte[]> e = entries(bytes(again));
    assertEquals(CheckpointIO.ENTRIES, new ArrayList<>(e.keySet()));
    // a schema-1 file with frozen entries is damaged
    LinkedHashMap<String, byte[]> v1 =
        entries(Files.readAllBytes(java.nio.file.Path.of(old.toUri())));
    v1.put("frozen/quantizer.codebooks.npy", e.get("frozen/quantizer.codebooks.npy"));
    v1.put("SHA256SUMS", sums(v1).getBytes(StandardCharsets.UTF_8));
    CheckpointException x = rejected(writeRaw("v1-frozen.ckpt", zip(v1)));
    assertTrue(
        x.reason()
            .contains(
                "unexpected entry 'frozen/quantizer.codebooks.npy' in a checkpoint of schema 1"),
        x.reason());
  }

  private static List<String> names(JsonNode n) {
    List<String> out = new ArrayList<>();
    for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
      out.add(it.next());
    }
    return out;
  }

  @Test
  void fileNamesAndListing() throws IOException {
    assertEquals("step-000120.ckpt", CheckpointIO.fileName(120));
    assertEquals("step-1234567.ckpt", CheckpointIO.fileName(1234567));
    assertEquals(120, CheckpointIO.stepOf(new Path("/x/step-000120.ckpt")));
    assertEquals(-1, CheckpointIO.stepOf(new Path("/x/step-12.ckpt")));
    assertEquals(-1, CheckpointIO.stepOf(new Path("/x/.step-000120.ckpt.tmp-1")));
    for (String n :
        List.of(
            "step-000010.ckpt",
            "step-000009.ckpt",
            "step-1000000.ckpt",
            ".step-000011.ckpt.tmp-abc",
            "notes.txt")) {
      Files.write(tmp.resolve(n), new byte[] {1});
    }
    List<String> listed = new ArrayList<>();
    for (Path p : CheckpointIO.list(dir(), CONF)) {
      listed.add(p.getName());
    }
    assertEquals(List.of("step-000009.ckpt", "step-000010.ckpt", "step-1000000.ckpt"), listed);
    assertTrue(CheckpointIO.list(new Path(tmp.resolve("missing").toUri()), CONF).isEmpty());
  }

  @Test
  void rejectsTruncatedCorruptedAndPartialFiles() throws Exception {
    byte[] good = bytes(checkpoint(trained(1), "7"));
    assertEquals(1, CheckpointIO.load(writeRaw("ok.ckpt", good), CONF).step());

    CheckpointException e =
        rejected(writeRaw("half.ckpt", java.util.Arrays.copyOf(good, good.length / 2)));
    assertTrue(
        e.getMessage().startsWith(tmp.resolve("half.ckpt").toString() + ": "), e.getMessage());
    assertTrue(e.reason().contains("truncated"), e.reason());

    e = rejected(writeRaw("short.ckpt", java.util.Arrays.copyOf(good, good.length - 10)));
    assertTrue(e.reason().contains("truncated"), e.reason());

    // a flipped byte inside the model entry: zip CRC (or the SHA-256) catches it
    byte[] flipped = good.clone();
    int at = indexOf(flipped, "coefficients.bin".getBytes(StandardCharsets.US_ASCII)) + 400;
    flipped[at] ^= 0x5a;
    e = rejected(writeRaw("flipped.ckpt", flipped));
    assertTrue(e.reason().contains("corrupted"), e.reason());

    LinkedHashMap<String, byte[]> entries = entries(good);

    // content changed but zip-consistent: only the SHA-256 can tell
    LinkedHashMap<String, byte[]> edited = new LinkedHashMap<>(entries);
    edited.put("config.conf", "model { }".getBytes(StandardCharsets.UTF_8));
    e = rejected(writeRaw("edited.ckpt", zip(edited)));
    assertTrue(e.reason().contains("checksum mismatch for 'config.conf'"), e.reason());

    LinkedHashMap<String, byte[]> partial = new LinkedHashMap<>(entries);
    partial.remove("SHA256SUMS");
    e = rejected(writeRaw("nosums.ckpt", zip(partial)));
    assertTrue(e.reason().contains("incomplete: no entry 'SHA256SUMS'"), e.reason());

    partial = new LinkedHashMap<>(entries);
    partial.remove("model.zip");
    e = rejected(writeRaw("nomodel.ckpt", zip(partial)));
    assertTrue(e.reason().contains("incomplete: no entry 'model.zip'"), e.reason());

    LinkedHashMap<String, byte[]> extra = new LinkedHashMap<>(entries);
    extra.put("evil.bin", new byte[3]);
    e = rejected(writeRaw("extra.ckpt", zip(extra)));
    assertTrue(e.reason().contains("unexpected entry 'evil.bin'"), e.reason());

    e = rejected(writeRaw("v3.ckpt", zip(withMetadata(entries, m -> m.put("schema_version", 3)))));
    assertTrue(
        e.reason()
            .contains("schema version 3 is not supported (this nest-spark reads versions 1 to 2)"),
        e.reason());

    partial = new LinkedHashMap<>(entries);
    partial.remove("frozen/quantizer.proj.weight.npy");
    partial.put("SHA256SUMS", sums(partial).getBytes(StandardCharsets.UTF_8));
    e = rejected(writeRaw("noproj.ckpt", zip(partial)));
    assertTrue(
        e.reason().contains("incomplete: no entry 'frozen/quantizer.proj.weight.npy'"), e.reason());

    LinkedHashMap<String, byte[]> badShape = new LinkedHashMap<>(entries);
    ByteArrayOutputStream npy = new ByteArrayOutputStream();
    Npy.write(npy, new int[] {15, 640}, new float[15 * 640]);
    badShape.put("frozen/quantizer.proj.weight.npy", npy.toByteArray());
    badShape.put("SHA256SUMS", sums(badShape).getBytes(StandardCharsets.UTF_8));
    e = rejected(writeRaw("badproj.ckpt", zip(badShape)));
    assertTrue(
        e.reason()
            .contains(
                "quantizer.proj.weight [15, 640] does not project to quantizer.codebooks [1, 8192, 16]"),
        e.reason());

    e =
        rejected(
            writeRaw(
                "noorigin.ckpt",
                zip(
                    withMetadata(
                        entries,
                        m -> {
                          m.remove("frozen_modules");
                          return m;
                        }))));
    assertTrue(e.reason().contains("missing 'frozen_modules.origin'"), e.reason());

    e = rejected(writeRaw("steps.ckpt", zip(withMetadata(entries, m -> m.put("step", 5)))));
    assertTrue(e.reason().contains("inconsistent"), e.reason());

    e =
        rejected(
            writeRaw(
                "nosteps.ckpt",
                zip(
                    withMetadata(
                        entries,
                        m -> {
                          m.remove("counters");
                          return m;
                        }))));
    assertTrue(e.reason().contains("missing 'counters.steps_done'"), e.reason());

    e = rejected(writeRaw("text.ckpt", "hello".getBytes(StandardCharsets.US_ASCII)));
    assertTrue(e.reason().contains("not a checkpoint"), e.reason());

    e = rejected(new Path(tmp.resolve("absent.ckpt").toUri()));
    assertEquals("no such file", e.reason());
  }

  /** Entries with an edited checkpoint.json and recomputed SHA256SUMS (a well-formed file with other metadata). */
  private static LinkedHashMap<String, byte[]> withMetadata(
      Map<String, byte[]> entries, UnaryOperator<ObjectNode> edit) throws Exception {
    ObjectMapper om = new ObjectMapper();
    ObjectNode meta = (ObjectNode) om.readTree(entries.get("checkpoint.json"));
    LinkedHashMap<String, byte[]> out = new LinkedHashMap<>(entries);
    out.put("checkpoint.json", om.writeValueAsBytes(edit.apply(meta)));
    out.put("SHA256SUMS", sums(out).getBytes(StandardCharsets.UTF_8));
    return out;
  }

  private static int indexOf(byte[] hay, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= hay.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (hay[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new IllegalStateException("not found");
  }

  @Test
  void newestValidSkipsCorruptOnesWithAWarning() throws IOException {
    TrainStep t = trained(2);
    CheckpointIO.save(dir(), checkpoint(t, "2"), CONF);
    t.fit(TestGraphs.batch(2, DataType.FLOAT, false));
    t.fit(TestGraphs.batch(3, DataType.FLOAT, false));
    Path newest = CheckpointIO.save(dir(), checkpoint(t, "4"), CONF);
    byte[] b = Files.readAllBytes(tmp.resolve(newest.getName()));
    Files.write(tmp.resolve(newest.getName()), java.util.Arrays.copyOf(b, b.length - 100));
    Files.write(tmp.resolve(".step-000006.ckpt.tmp-123"), new byte[] {1, 2});

    List<String> warnings = new ArrayList<>();
    Optional<Checkpoint> c = CheckpointIO.loadNewestValid(dir(), CONF, warnings::add);
    assertTrue(c.isPresent());
    assertEquals(2, c.get().step());
    assertEquals(2, c.get().dataPositionAsLong());
    assertEquals(1, warnings.size());
    assertTrue(warnings.get(0).contains("step-000004.ckpt"), warnings.get(0));
    assertTrue(
        CheckpointIO.loadNewestValid(new Path(tmp.resolve("none").toUri()), CONF, warnings::add)
            .isEmpty());
  }

  @Test
  void resumeEqualsStraightTraining() throws IOException {
    int n = 3;
    int m = 3;
    TrainStep straight = trained(n + m);

    TrainStep first = trained(n);
    Path file = CheckpointIO.save(dir(), checkpoint(first, Integer.toString(n)), CONF);
    Checkpoint c = CheckpointIO.load(file, CONF);
    TrainStep resumed = new TrainStep(c.model(), c.seed(), 1.0);
    resumed.restoreCounters(c.counters());
    for (long s = c.dataPositionAsLong(); s < n + m; s++) {
      Nd4jNoise.disturb();
      assertTrue(resumed.fit(TestGraphs.batch(s, DataType.FLOAT, false)).done());
    }
    assertEquals(n + m, resumed.graph().getIterationCount());
    assertEquals(straight.counters(), resumed.counters());
    double[] a = TestGraphs.flat(straight.graph().params());
    double[] b = TestGraphs.flat(resumed.graph().params());
    double maxDiff = 0;
    for (int i = 0; i < a.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    assertTrue(maxDiff <= 1e-6, "max |difference| " + maxDiff);
    assertArrayEquals(
        TestGraphs.flat(straight.graph().getUpdater().getStateViewArray()),
        TestGraphs.flat(resumed.graph().getUpdater().getStateViewArray()),
        1e-6);
    // the run is not trivially equal to the start: training moved the parameters
    assertFalse(
        java.util.Arrays.equals(
            a, TestGraphs.flat(TestGraphs.graph(adamw(), DataType.FLOAT, 0.7, 9).params())));
  }

  /** Uses ND4J's RNG the way unrelated code would (a resumed JVM has a different RNG history). */
  private static final class Nd4jNoise {
    static void disturb() {
      org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(System.nanoTime());
    }
  }

  /**
   * A file system that is not Hadoop's local one (so the checkpoint goes through the copy-to-temp path a
   * remote file system such as HDFS takes), backed by the local disk under the scheme {@code nesttest:}.
   */
  public static final class RemoteLikeFs extends FilterFileSystem {
    public RemoteLikeFs() {
      super(new RawLocalFileSystem());
    }

    @Override
    public void initialize(URI name, Configuration conf) throws IOException {
      fs.initialize(URI.create("file:///"), conf);
      setConf(conf);
    }

    @Override
    public String getScheme() {
      return "nesttest";
    }

    @Override
    public URI getUri() {
      return URI.create("nesttest:///");
    }

    @Override
    protected void checkPath(Path path) {}

    private static Path local(Path p) {
      return new Path("file", null, p.toUri().getPath());
    }

    private static Path mine(Path p) {
      return new Path("nesttest", null, p.toUri().getPath());
    }

    @Override
    public FSDataInputStream open(Path f, int bufferSize) throws IOException {
      return fs.open(local(f), bufferSize);
    }

    @Override
    public FSDataOutputStream create(
        Path f,
        FsPermission permission,
        boolean overwrite,
        int bufferSize,
        short replication,
        long blockSize,
        Progressable progress)
        throws IOException {
      return fs.create(
          local(f), permission, overwrite, bufferSize, replication, blockSize, progress);
    }

    @Override
    public boolean rename(Path src, Path dst) throws IOException {
      return fs.rename(local(src), local(dst));
    }

    @Override
    public boolean delete(Path f, boolean recursive) throws IOException {
      return fs.delete(local(f), recursive);
    }

    @Override
    public boolean mkdirs(Path f) throws IOException {
      return fs.mkdirs(local(f));
    }

    @Override
    public boolean mkdirs(Path f, FsPermission permission) throws IOException {
      return fs.mkdirs(local(f), permission);
    }

    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
      FileStatus st = fs.getFileStatus(local(f));
      st.setPath(mine(st.getPath()));
      return st;
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
      FileStatus[] all = fs.listStatus(local(f));
      for (FileStatus st : all) {
        st.setPath(mine(st.getPath()));
      }
      return all;
    }
  }

  @Test
  void saveAndLoadThroughANonLocalFileSystem() throws IOException {
    Configuration conf = new Configuration(false);
    conf.set("fs.nesttest.impl", RemoteLikeFs.class.getName());
    conf.setBoolean("fs.nesttest.impl.disable.cache", true);
    Path dir = new Path("nesttest", null, tmp.resolve("remote").toString());
    assertFalse(dir.getFileSystem(conf) instanceof org.apache.hadoop.fs.LocalFileSystem);
    TrainStep t = trained(2);
    Path file = CheckpointIO.save(dir, checkpoint(t, "2"), conf);
    assertEquals("nesttest", file.toUri().getScheme());
    assertTrue(Files.exists(tmp.resolve("remote").resolve("step-000002.ckpt")));
    assertEquals(
        List.of(file.getName()), CheckpointIO.list(dir, conf).stream().map(Path::getName).toList());
    Checkpoint back = CheckpointIO.loadNewestValid(dir, conf, w -> {}).orElseThrow();
    assertEquals(2, back.step());
    assertArrayEquals(TestGraphs.flat(t.graph().params()), TestGraphs.flat(back.model().params()));
    Files.write(tmp.resolve("remote").resolve("step-000002.ckpt"), new byte[] {'P', 'K'});
    CheckpointException e =
        assertThrows(CheckpointException.class, () -> CheckpointIO.load(file, conf));
    assertTrue(e.getMessage().startsWith(file.toString() + ": "), e.getMessage());
  }
}
