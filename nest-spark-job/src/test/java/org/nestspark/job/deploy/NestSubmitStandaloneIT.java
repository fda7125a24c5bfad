package org.nestspark.job.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.job.testkit.StandaloneCluster;

/**
 * deploy/submit/nest-submit.sh against a real Spark standalone cluster on this machine
 * (deploy/standalone/cluster.sh: a master and two workers, each its own JVM, executors started by the
 * workers), with deploy/standalone/submit.sh as spark-submit: featurize of the bundled sample corpus in
 * client mode and in cluster mode (driver on a worker), and a failing driver reported as exit 1.
 *
 * <p>The application jar is a manifest-only jar whose Class-Path names this build's classes and
 * dependency jars (Spark's class loaders follow it), so the test needs no shaded jar from a package phase.
 */
class NestSubmitStandaloneIT {
  static final Path REPO = StandaloneCluster.REPO;

  @RegisterExtension
  static final StandaloneCluster CLUSTER =
      new StandaloneCluster("standalone-deploy-test", 2, 1, "2g");

  @TempDir static Path tmp;
  static Path jar;

  @BeforeAll
  static void applicationJar() throws Exception {
    jar = StandaloneCluster.manifestJar(tmp.resolve("nest-spark-app.jar"), false);
  }

  record Result(int code, String out) {}

  static Result run(List<String> cmd, int seconds) throws Exception {
    Process p = CLUSTER.command(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), out);
    return new Result(p.exitValue(), out);
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
                CLUSTER.master(),
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
      Class.forName(name, false, NestSubmitStandaloneIT.class.getClassLoader());
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
    try (Stream<Path> s = Files.walk(CLUSTER.dir())) {
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
