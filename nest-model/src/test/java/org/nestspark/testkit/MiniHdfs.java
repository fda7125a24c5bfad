package org.nestspark.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.hdfs.DFSConfigKeys;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Hadoop's own mini HDFS for one test class, so {@code hdfs://} paths are tested against a real NameNode
 * and DataNodes (nest-spark's test kit; the test-jar of nest-model ships it to nest-spark-job's tests):
 *
 * <pre>{@code
 * @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();
 * ... HDFS.putGolden("features/wav/speech_1s.wav", "/corpus/a.wav"); HDFS.uri() + "/corpus/manifest.json" ...
 * }</pre>
 *
 * <p>The cluster starts before the class's first test in a temporary folder of its own and stops, folder
 * deleted, after its last; {@link #perTest()} (registered on an instance field) gives each test a cluster
 * of its own (tests that stop DataNodes). Only integration tests ({@code *IT}, run by failsafe) start one.
 */
public final class MiniHdfs
    implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {
  private final int dataNodes;
  private int replication;
  private boolean perTest;
  private Path dir;
  private MiniDFSCluster cluster;

  /** One DataNode. */
  public MiniHdfs() {
    this(1);
  }

  public MiniHdfs(int dataNodes) {
    this.dataNodes = dataNodes;
  }

  /** {@code dfs.replication} of the files the tests write (HDFS's default, 3, when not set). */
  public MiniHdfs replication(int replication) {
    this.replication = replication;
    return this;
  }

  /** A cluster for each test instead of one for the class. */
  public MiniHdfs perTest() {
    this.perTest = true;
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    if (!perTest) {
      start();
    }
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    if (!perTest) {
      stop();
    }
  }

  @Override
  public void beforeEach(ExtensionContext context) throws Exception {
    if (perTest) {
      start();
    }
  }

  @Override
  public void afterEach(ExtensionContext context) throws IOException {
    if (perTest) {
      stop();
    }
  }

  private void start() throws IOException {
    dir = Files.createTempDirectory("nest-minihdfs");
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("hdfs").toString());
    if (replication > 0) {
      conf.setInt(DFSConfigKeys.DFS_REPLICATION_KEY, replication);
    }
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(dataNodes).build();
    cluster.waitActive();
  }

  private void stop() throws IOException {
    if (cluster != null) {
      cluster.shutdown();
      cluster = null;
    }
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
      dir = null;
    }
  }

  public MiniDFSCluster cluster() {
    return cluster;
  }

  /** The cluster's file system. */
  public FileSystem fs() throws IOException {
    return cluster.getFileSystem();
  }

  /** {@code hdfs://host:port}, to which absolute paths are appended. */
  public String uri() throws IOException {
    return fs().getUri().toString();
  }

  /** Copies the class-path resource {@code resource} to {@code hdfsPath}. */
  public void put(String resource, String hdfsPath) throws IOException {
    try (InputStream in = MiniHdfs.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IOException("no class-path resource " + resource);
      }
      try (OutputStream out = fs().create(new org.apache.hadoop.fs.Path(hdfsPath))) {
        in.transferTo(out);
      }
    }
  }

  /** Copies the golden file {@code golden/<rel>} ({@link Golden}) to {@code hdfsPath}. */
  public void putGolden(String rel, String hdfsPath) throws IOException {
    try (InputStream in = Golden.open(rel);
        OutputStream out = fs().create(new org.apache.hadoop.fs.Path(hdfsPath))) {
      in.transferTo(out);
    }
  }

  /** Writes {@code text} (UTF-8) to {@code hdfsPath}. */
  public void write(String hdfsPath, String text) throws IOException {
    try (OutputStream out = fs().create(new org.apache.hadoop.fs.Path(hdfsPath))) {
      out.write(text.getBytes(StandardCharsets.UTF_8));
    }
  }

  /** The bytes of {@code hdfsPath}. */
  public byte[] read(String hdfsPath) throws IOException {
    try (InputStream in = fs().open(new org.apache.hadoop.fs.Path(hdfsPath))) {
      return in.readAllBytes();
    }
  }
}
