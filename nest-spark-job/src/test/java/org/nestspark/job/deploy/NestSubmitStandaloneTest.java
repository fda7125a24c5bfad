package org.nestspark.job.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/submit/nest-submit.sh against a real Spark standalone cluster on this machine
 * (deploy/standalone/cluster.sh: a master and two workers, each its own JVM, executors started by the
 * workers), with deploy/standalone/submit.sh as spark-submit: featurize of the bundled sample corpus in
 * client mode and in cluster mode (driver on a worker), and a failing driver reported as exit 1.
 *
 * <p>The application jar is a manifest-only jar whose Class-Path names this build's classes and
 * dependency jars (Spark's class loaders follow it), so the test needs no shaded jar from a package phase.
 */
public class NestSubmitStandaloneTest {
  static final Path REPO = NestSubmitDryRunTest.REPO;
  static final Path CLUSTER_DIR = REPO.resolve("target/standalone-deploy-test");
  static String master;
  static Map<String, String> env;
  @TempDir static Path tmp;
  static Path jar;

  @BeforeAll
  static void startCluster() throws Exception {
    int masterPort = freePort(1);
    int uiPort = freePort(3);
    env =
        Map.of(
            "NEST_CLUSTER_DIR",
            CLUSTER_DIR.toString(),
            "NEST_MASTER_PORT",
            Integer.toString(masterPort),
            "NEST_MASTER_UI_PORT",
            Integer.toString(uiPort));
    run(List.of(REPO.resolve("deploy/standalone/cluster.sh").toString(), "stop"), 60);
    Result r =
        run(
            List.of(
                REPO.resolve("deploy/standalone/cluster.sh").toString(), "start", "2", "1", "2g"),
            180);
    assertEquals(0, r.code, r.out);
    master = Files.readString(CLUSTER_DIR.resolve("master-url")).strip();
    jar = manifestJar(tmp.resolve("nest-spark-app.jar"));
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (env != null) {
      run(List.of(REPO.resolve("deploy/standalone/cluster.sh").toString(), "stop"), 60);
    }
  }

  record Result(int code, String out) {}

  static Result run(List<String> cmd, int seconds) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(REPO.toFile());
    pb.environment().putAll(env == null ? Map.of() : env);
    pb.environment().remove("SPARK_HOME");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), out);
    return new Result(p.exitValue(), out);
  }

  /** {@code n} consecutive free ports. */
  static int freePort(int n) throws Exception {
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
        } catch (java.io.IOException e) {
          ok = false;
        }
      }
      if (ok) {
        return base;
      }
    }
    throw new IllegalStateException("no free ports");
  }

  /** A jar holding only a manifest whose Class-Path is this build's classes and dependencies, Spark and Hadoop left to the cluster. */
  static Path manifestJar(Path out) throws Exception {
    return manifestJar(out, false);
  }

  /**
   * The same; with {@code withTestClasses} the test classes and test libraries stay on it (executors that
   * run functions defined in tests).
   */
  public static Path manifestJar(Path out, boolean withTestClasses) throws Exception {
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

  private static List<String> submit(String mode, int executors, String... command) {
    List<String> cmd =
        new ArrayList<>(
            List.of(
                REPO.resolve("deploy/submit/nest-submit.sh").toString(),
                "--target",
                "standalone",
                "--deploy-mode",
                mode,
                "--master",
                master,
                "--jar",
                jar.toString(),
                "--config",
                REPO.resolve("conf/nest-tiny.conf").toString(),
                "--executors",
                Integer.toString(executors),
                "--executor-cores",
                "1",
                "--executor-memory",
                "768m",
                "--executor-offheap",
                "1536m",
                "--driver-cores",
                "1",
                "--driver-memory",
                "768m",
                "--driver-offheap",
                "1536m",
                "--spark-submit",
                REPO.resolve("deploy/standalone/submit.sh").toString()));
    if (!hasClass("org.nestspark.job.spark.NestKryoRegistrator")) {
      // the wrapper's default registrator arrives with the pretraining job; ND4J's own serves
      // featurize
      cmd.addAll(List.of("--kryo-registrator", "org.nd4j.kryo.Nd4jRegistrator"));
    }
    cmd.add("--");
    cmd.addAll(List.of(command));
    return cmd;
  }

  private static boolean hasClass(String name) {
    try {
      Class.forName(name, false, NestSubmitStandaloneTest.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  private static long files(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.count();
    }
  }

  @Test
  void featurizesTheSampleCorpusInClientAndClusterModeAndReportsAFailedDriver() throws Exception {
    String sample = REPO.resolve("deploy/sample").toString();
    // client mode: the driver is the submitting JVM, two executors on the two workers
    Path out = tmp.resolve("features-client");
    Result r =
        run(
            submit(
                "client",
                2,
                "featurize",
                "--manifest",
                sample + "/train_manifest.json," + sample + "/val_manifest.json",
                "--out",
                out.toString()),
            240);
    assertEquals(0, r.code, r.out);
    assertTrue(
        r.out.contains("featurized 32 utterance(s) (32 written, 0 already complete), skipped 0"),
        r.out);
    assertEquals(33, files(out), "32 .npy files and features.json");
    // the executors ran in worker-started JVMs with the wrapper's settings and the shipped config
    List<Path> executorLogs;
    try (Stream<Path> s = Files.walk(CLUSTER_DIR)) {
      executorLogs =
          s.filter(
                  p ->
                      p.getFileName().toString().equals("stderr") && p.toString().contains("/app-"))
              .collect(Collectors.toList());
    }
    assertTrue(executorLogs.size() >= 2, "executor logs: " + executorLogs);
    boolean sawSettings = false;
    for (Path log : executorLogs) {
      String s = Files.readString(log);
      if (s.contains("-Dorg.bytedeco.javacpp.maxbytes=512m")
          && s.contains("-Dorg.bytedeco.javacpp.maxphysicalbytes=1792m")
          && s.contains("--add-opens=java.base/sun.nio.ch=ALL-UNNAMED")
          && Files.exists(log.resolveSibling("nest-tiny.conf"))) {
        sawSettings = true;
      }
    }
    assertTrue(
        sawSettings,
        "an executor started with the JavaCPP caps, the module options and the shipped config");

    // cluster mode: the driver runs on a worker; the wrapper waits for it and reports its end
    Path out2 = tmp.resolve("features-cluster");
    Result c =
        run(
            submit(
                "cluster",
                1,
                "featurize",
                "--manifest",
                sample + "/val_manifest.json",
                "--out",
                out2.toString()),
            240);
    assertEquals(0, c.code, c.out);
    assertTrue(c.out.contains("is FINISHED"), c.out);
    assertEquals(5, files(out2), "4 .npy files and features.json");

    // a driver that fails (no such manifest) makes the wrapper exit 1, although Spark's client
    // exits 0
    Result f =
        run(
            submit(
                "cluster",
                1,
                "featurize",
                "--manifest",
                sample + "/no_such_manifest.json",
                "--out",
                tmp.resolve("x").toString()),
            240);
    assertEquals(1, f.code, f.out);
    assertTrue(f.out.matches("(?s).*nest-submit: driver driver-\\d+-\\d+ ended FAILED.*"), f.out);
  }
}
