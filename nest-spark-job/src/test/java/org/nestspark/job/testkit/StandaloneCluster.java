package org.nestspark.job.testkit;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A real Spark standalone cluster for one test class (nest-spark's test kit, shipped in nest-spark-job's
 * test-jar): a master and {@code workers} workers, each its own JVM, started by {@code
 * deploy/standalone/cluster.sh} from Maven's Spark jars before the class's first test and stopped (with
 * the executors the workers started) after its last:
 *
 * <pre>{@code
 * @RegisterExtension static final StandaloneCluster CLUSTER = new StandaloneCluster("it-cluster", 2, 1, "2g");
 * ... CLUSTER.submit(events, List.of(), List.of("featurize", ...)) ... CLUSTER.executors().get(0).destroyForcibly() ...
 * }</pre>
 *
 * <p>State (pids, logs, the master URL) lives in {@code nest-spark-job/target/<name>}; the master and
 * UI ports are free ones found at start, so several clusters may run on one machine. Only the
 * integration tests ({@code *IT}, run by failsafe) start clusters.
 */
public final class StandaloneCluster implements BeforeAllCallback, AfterAllCallback {
  /** The repository root (tests run in {@code nest-spark-job/}). */
  public static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  private static final Pattern EXECUTOR_ID = Pattern.compile("--executor-id (\\S+)");

  private final Path dir;
  private final int workers;
  private final int cores;
  private final String memory;
  private final Map<String, String> env = new LinkedHashMap<>();
  private String master;

  /**
   * A cluster of {@code workers} workers of {@code coresPerWorker} cores and {@code memoryPerWorker}
   * each, its state in {@code nest-spark-job/target/<name>}.
   */
  public StandaloneCluster(String name, int workers, int coresPerWorker, String memoryPerWorker) {
    this.dir = REPO.resolve("nest-spark-job/target").resolve(name);
    this.workers = workers;
    this.cores = coresPerWorker;
    this.memory = memoryPerWorker;
    env.put("NEST_CLUSTER_DIR", dir.toString());
  }

  /** Extra JVM options of the workers ({@code NEST_WORKER_JAVA_OPTS}, e.g. GPU resources). */
  public StandaloneCluster workerJavaOptions(String options) {
    env.put("NEST_WORKER_JAVA_OPTS", options);
    return this;
  }

  @Override
  public void beforeAll(ExtensionContext context) throws Exception {
    // the master's port, its UI's and one UI port per worker (cluster.sh: UI port + i)
    env.put("NEST_MASTER_PORT", Integer.toString(freePorts(1)));
    env.put("NEST_MASTER_UI_PORT", Integer.toString(freePorts(1 + workers)));
    Files.createDirectories(dir);
    script(60, "stop");
    script(240, "start", Integer.toString(workers), Integer.toString(cores), memory);
    master = Files.readString(dir.resolve("master-url")).strip();
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    if (master != null) {
      master = null;
      script(60, "stop");
    }
  }

  private void script(long timeoutSeconds, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", "deploy/standalone/cluster.sh"));
    cmd.addAll(List.of(args));
    Path log = dir.resolve("cluster-sh.log");
    Process p = command(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError(
          "timed out: " + String.join(" ", cmd) + "\n" + Files.readString(log));
    }
    if (p.exitValue() != 0) {
      throw new AssertionError(
          String.join(" ", cmd) + " exited " + p.exitValue() + "\n" + Files.readString(log));
    }
  }

  /** The master's URL, {@code spark://127.0.0.1:<port>}. */
  public String master() {
    return master;
  }

  /** The cluster's folder: pids, the daemons' logs, executor folders ({@code work-<i>/app-*}). */
  public Path dir() {
    return dir;
  }

  /** The environment that points the scripts under {@code deploy/} at this cluster. */
  public Map<String, String> env() {
    return Map.copyOf(env);
  }

  /**
   * {@code cmd} run in the repository with this cluster's environment ({@code NEST_CLUSTER_DIR}, its
   * ports) and without {@code SPARK_HOME}, so the scripts use Maven's Spark.
   */
  public ProcessBuilder command(List<String> cmd) {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(REPO.toFile());
    pb.environment().putAll(env);
    pb.environment().remove("SPARK_HOME");
    return pb;
  }

  /**
   * A nest command submitted with {@code deploy/standalone/submit.sh} (Spark's own SparkSubmit, the
   * shaded jar) to this cluster as the cluster tests submit: 1 GB executors of one OpenMP thread, a
   * 1 GB driver, 4 attempts per task, Spark's event log in {@code eventLog} (created), then {@code
   * sparkConf} ({@code key=value}, each given as {@code --conf}); output not redirected.
   */
  public ProcessBuilder submit(Path eventLog, List<String> sparkConf, List<String> nest)
      throws IOException {
    Files.createDirectories(eventLog);
    List<String> cmd =
        new ArrayList<>(
            List.of(
                "bash",
                "deploy/standalone/submit.sh",
                "--master",
                master,
                "--conf",
                "spark.executor.memory=1g",
                "--conf",
                "spark.executorEnv.OMP_NUM_THREADS=1",
                "--conf",
                "spark.task.maxFailures=4"));
    for (String c : sparkConf) {
      cmd.addAll(List.of("--conf", c));
    }
    cmd.addAll(
        List.of(
            "--conf",
            "spark.eventLog.enabled=true",
            "--conf",
            "spark.eventLog.dir=" + eventLog.toUri(),
            "--"));
    cmd.addAll(nest);
    ProcessBuilder pb = command(cmd);
    pb.environment().put("OMP_NUM_THREADS", "1");
    pb.environment().put("NEST_DRIVER_MEMORY", "1g");
    return pb;
  }

  /** The executor JVMs the workers run now ({@code CoarseGrainedExecutorBackend} children). */
  public List<ProcessHandle> executors() throws IOException {
    List<ProcessHandle> out = new ArrayList<>();
    for (File f : dir.toFile().listFiles((d, n) -> n.startsWith("worker-") && n.endsWith(".pid"))) {
      long pid = Long.parseLong(Files.readString(f.toPath()).strip());
      Optional<ProcessHandle> w = ProcessHandle.of(pid);
      w.ifPresent(
          h ->
              h.children()
                  .filter(
                      c ->
                          c.info()
                              .commandLine()
                              .orElse("")
                              .contains("CoarseGrainedExecutorBackend"))
                  .forEach(out::add));
    }
    return out;
  }

  /** The executor JVM Spark calls {@code executorId}, if one of the workers runs it. */
  public Optional<ProcessHandle> executor(String executorId) throws IOException {
    return executors().stream()
        .filter(e -> executorId(e).filter(executorId::equals).isPresent())
        .findFirst();
  }

  /** Spark's id of an executor JVM, from its command line ({@code --executor-id}). */
  public static Optional<String> executorId(ProcessHandle executor) {
    Matcher m = EXECUTOR_ID.matcher(executor.info().commandLine().orElse(""));
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }

  /** Deletes {@code dir} with everything in it, if it exists, and creates it empty. */
  public static Path emptyDir(Path dir) throws IOException {
    if (Files.exists(dir)) {
      try (Stream<Path> files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    return Files.createDirectories(dir);
  }

  /** The first of {@code n} consecutive free ports. */
  public static int freePorts(int n) throws IOException {
    for (int attempt = 0; attempt < 50; attempt++) {
      int base;
      try (ServerSocket s = new ServerSocket(0)) {
        base = s.getLocalPort();
      }
      if (base + n > 65535) {
        continue;
      }
      boolean ok = true;
      for (int i = 1; i < n && ok; i++) {
        try (ServerSocket s = new ServerSocket(base + i)) {
          ok = true;
        } catch (IOException e) {
          ok = false;
        }
      }
      if (ok) {
        return base;
      }
    }
    throw new IllegalStateException("no " + n + " free consecutive ports");
  }

  /**
   * A jar holding only a manifest whose Class-Path is this build's classes and dependencies, Spark,
   * Hadoop and Scala left to the cluster: an application jar without a package phase. With {@code
   * withTestClasses} the test classes and test libraries stay on it (executors that run functions
   * defined in tests).
   */
  public static Path manifestJar(Path out, boolean withTestClasses) throws IOException {
    String cp = System.getProperty("surefire.test.class.path");
    if (cp == null || cp.isEmpty()) {
      cp = System.getProperty("java.class.path");
    }
    List<String> urls = new ArrayList<>();
    for (String e : cp.split(File.pathSeparator)) {
      String u = e.replace('\\', '/');
      boolean cluster =
          u.contains("/org/apache/spark/")
              || u.contains("/org/apache/hadoop/")
              || u.contains("/org/scala-lang/");
      boolean test =
          u.endsWith("/test-classes")
              || u.contains("/org/junit/")
              || u.contains("/org/opentest4j/")
              || u.contains("/org/apiguardian/")
              || u.contains("/nest-model/") && u.endsWith("-tests.jar");
      if (e.isEmpty() || cluster || test && !withTestClasses) {
        continue;
      }
      urls.add(Path.of(e).toUri().toString());
    }
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.CLASS_PATH, String.join(" ", urls));
    m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, "org.nestspark.job.cli.NestCli");
    try (OutputStream os = Files.newOutputStream(out);
        JarOutputStream j = new JarOutputStream(os, m)) {
      j.flush();
    }
    return out;
  }
}
