package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.job.testkit.StandaloneCluster;

/**
 * {@link TaskDevices} under Spark's real resource scheduling: a standalone cluster on this machine
 * (deploy/standalone/cluster.sh, one worker with 2 cores) whose worker and executor find two fake GPUs
 * "0" and "1" with a discovery script; an executor with both GPUs runs two tasks of one GPU each, and
 * each task must bind its own address (on the CPU backend the binding is a no-op, the address is
 * what is checked). Outside a task: {@link TaskDevicesTest}.
 */
class TaskDevicesIT {
  static final String OPENS =
      "-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED "
          + "--add-opens=java.base/java.lang.invoke=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED "
          + "--add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED "
          + "--add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED "
          + "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED "
          + "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED "
          + "--add-opens=java.base/sun.security.action=ALL-UNNAMED --add-opens=java.base/sun.util.calendar=ALL-UNNAMED "
          + "-Djdk.reflect.useDirectMethodHandle=false";

  /** The fake discovery script: written before the cluster starts (its workers run it). */
  static final Path SCRIPT = fakeGpus();

  @RegisterExtension
  static final StandaloneCluster CLUSTER =
      new StandaloneCluster("standalone-gpu-test", 1, 2, "1g")
          .workerJavaOptions(
              "-Dspark.worker.resource.gpu.amount=2 -Dspark.worker.resource.gpu.discoveryScript="
                  + SCRIPT);

  @TempDir static Path tmp;

  private static Path fakeGpus() {
    try {
      Path dir = Files.createDirectories(StandaloneCluster.REPO.resolve("nest-spark-job/target"));
      Path script = dir.resolve("fake-gpus.sh");
      Files.writeString(
          script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\",\"1\"]}'\n");
      Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
      return script;
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Test
  void eachTaskBindsTheGpuSparkAssignedIt() throws Exception {
    SparkConf conf =
        new SparkConf()
            .setMaster(CLUSTER.master())
            .setAppName("task-devices-test")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.executor.cores", "2")
            .set("spark.executor.memory", "768m")
            .set("spark.executor.resource.gpu.amount", "2")
            .set("spark.executor.resource.gpu.discoveryScript", SCRIPT.toString())
            .set("spark.task.resource.gpu.amount", "1")
            .set(
                "spark.executor.extraClassPath",
                StandaloneCluster.manifestJar(tmp.resolve("executor-classpath.jar"), true)
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
