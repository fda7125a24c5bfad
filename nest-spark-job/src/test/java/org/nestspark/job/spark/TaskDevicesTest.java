package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link TaskDevices} under Spark's real resource scheduling: a standalone cluster on this machine
 * (deploy/standalone/cluster.sh, one worker with 2 cores) whose worker and executor find two fake GPUs
 * "0" and "1" with a discovery script; an executor with both GPUs runs two tasks of one GPU each, and
 * each task must bind its own address (on the CPU backend the binding is a no-op, the address is
 * what is checked).
 */
class TaskDevicesTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final String OPENS =
      "-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED "
          + "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED "
          + "--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
          + "--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED "
          + "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED "
          + "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED "
          + "--add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED "
          + "-Djdk.reflect.useDirectMethodHandle=false";
  static final Path CLUSTER_DIR = REPO.resolve("target/standalone-gpu-test");
  @TempDir static Path tmp;
  static Path script;
  static String master;
  static Map<String, String> env;

  @BeforeAll
  static void startCluster() throws Exception {
    script = tmp.resolve("fake-gpus.sh");
    Files.writeString(
        script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\",\"1\"]}'\n");
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
    int masterPort = freePort();
    int uiPort = freePort();
    env =
        Map.of(
            "NEST_CLUSTER_DIR",
            CLUSTER_DIR.toString(),
            "NEST_MASTER_PORT",
            Integer.toString(masterPort),
            "NEST_MASTER_UI_PORT",
            Integer.toString(uiPort),
            "NEST_WORKER_JAVA_OPTS",
            "-Dspark.worker.resource.gpu.amount=2 -Dspark.worker.resource.gpu.discoveryScript="
                + script);
    String cluster = REPO.resolve("deploy/standalone/cluster.sh").toString();
    run(List.of(cluster, "stop"), 60);
    Result r = run(List.of(cluster, "start", "1", "2", "1g"), 180);
    assertEquals(0, r.code, r.out);
    master = Files.readString(CLUSTER_DIR.resolve("master-url")).strip();
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (env != null) {
      run(List.of(REPO.resolve("deploy/standalone/cluster.sh").toString(), "stop"), 60);
    }
  }

  record Result(int code, String out) {}

  private static Result run(List<String> cmd, int seconds) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).directory(REPO.toFile());
    pb.environment().putAll(env);
    pb.environment().remove("SPARK_HOME");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), out);
    return new Result(p.exitValue(), out);
  }

  private static int freePort() throws Exception {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  @Test
  void outsideATaskNothingIsBound() {
    assertTrue(TaskDevices.bindTaskGpu().isEmpty());
    assertTrue(TaskDevices.gpuAddress(null).isEmpty());
  }

  @Test
  void eachTaskBindsTheGpuSparkAssignedIt() throws Exception {
    SparkConf conf =
        new SparkConf()
            .setMaster(master)
            .setAppName("task-devices-test")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.executor.cores", "2")
            .set("spark.executor.memory", "768m")
            .set("spark.executor.resource.gpu.amount", "2")
            .set("spark.executor.resource.gpu.discoveryScript", script.toString())
            .set("spark.task.resource.gpu.amount", "1")
            .set(
                "spark.executor.extraClassPath",
                org.nestspark.job.deploy.NestSubmitStandaloneTest.manifestJar(
                        tmp.resolve("executor-classpath.jar"), true)
                    .toString())
            .set("spark.executor.extraJavaOptions", OPENS);
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      // each task holds its GPU for a moment, so the two run at the same time on the one executor
      List<String> got =
          sc.parallelize(List.of(0, 1), 2)
              .mapPartitions(
                  it -> {
                    String bound = TaskDevices.bindTaskGpu().orElse("none");
                    String assigned = TaskContext.get().resources().get("gpu").get().addresses()[0];
                    Thread.sleep(1500);
                    return List.of(TaskContext.getPartitionId() + ":" + bound + ":" + assigned)
                        .iterator();
                  })
              .collect();
      assertEquals(2, got.size(), got.toString());
      Set<String> bound = new HashSet<>();
      for (String g : got) {
        String[] f = g.split(":");
        assertEquals(
            f[2], f[1], "task " + f[0] + " bound another GPU than Spark assigned it: " + got);
        bound.add(f[1]);
      }
      assertEquals(Set.of("0", "1"), bound, got.toString());
    }
  }
}
