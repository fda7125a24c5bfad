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
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Hadoop's own mini HDFS for one test class, so {@code hdfs://} paths are tested against a real NameNode
 * and DataNodes (nest-spark's test kit; the test-jar of nest-model ships it to nest-spark-job's tests):
 *
 * <pre>{@code
 * @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs();
 * ... HDFS.put("/golden/features/wav/speech_1s.wav", "/corpus/a.wav"); HDFS.uri() + "/corpus/manifest.json" ...
 * }</pre>
 *
 * <p>The cluster starts before the class's first test in a temporary folder of its own and stops, folder
 * deleted, after its last.
 */
public final class MiniHdfs implements BeforeAllCallback, AfterAllCallback {
  private final int dataNodes;
  private Path dir;
  private MiniDFSCluster cluster;

  /** One DataNode. */
  public MiniHdfs() {
    this(1);
  }

  public MiniHdfs(int dataNodes) {
    this.dataNodes = dataNodes;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    dir = Files.createTempDirectory("nest-minihdfs");
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("hdfs").toString());
    cluster = new MiniDFSCluster.Builder(conf).numDataNodes(dataNodes).build();
    cluster.waitActive();
  }

  @Override
  public void afterAll(ExtensionContext context) throws IOException {
    if (cluster != null) {
      cluster.shutdown();
      cluster = null;
    }
    if (dir != null) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
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
