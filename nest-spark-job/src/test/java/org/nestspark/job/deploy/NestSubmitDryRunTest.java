package org.nestspark.job.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** deploy/submit/nest-submit.sh --dry-run: the exact spark-submit command for YARN and Kubernetes, both deploy modes. */
class NestSubmitDryRunTest {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final String OPENS =
      "-XX:+IgnoreUnrecognizedVMOptions --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.lang.invoke=ALL-UNNAMED"
          + " --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED"
          + " --add-opens=java.base/java.nio=ALL-UNNAMED --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED"
          + " --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED --add-opens=java.base/jdk.internal.ref=ALL-UNNAMED"
          + " --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/sun.nio.cs=ALL-UNNAMED --add-opens=java.base/sun.security.action=ALL-UNNAMED"
          + " --add-opens=java.base/sun.util.calendar=ALL-UNNAMED -Djdk.reflect.useDirectMethodHandle=false -Daeron.publication.unblock.timeout=60000000000";

  @TempDir static Path tmp;
  static Path conf;
  static Path jar;

  @BeforeAll
  static void files() throws Exception {
    conf = Files.writeString(tmp.resolve("nest-small.conf"), "model { num_classes = 8192 }\n");
    jar = Files.write(tmp.resolve("nest-spark.jar"), new byte[] {0x50, 0x4b, 5, 6});
  }

  record Result(int code, String out, String err) {}

  static Result submit(String... args) throws Exception {
    List<String> cmd =
        new ArrayList<>(List.of(REPO.resolve("deploy/submit/nest-submit.sh").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().remove("SPARK_HOME");
    Process p = pb.start();
    byte[] out = p.getInputStream().readAllBytes();
    byte[] err = p.getErrorStream().readAllBytes();
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    return new Result(
        p.exitValue(),
        new String(out, StandardCharsets.UTF_8),
        new String(err, StandardCharsets.UTF_8));
  }

  private static String expected(String template) {
    return template
        .replace("{OPENS}", OPENS)
        .replace("{CONF}", conf.toString())
        .replace("{JAR}", jar.toString())
        .replace("{REPO}", REPO.toString());
  }

  private static void check(String template, String... args) throws Exception {
    Result r = submit(args);
    assertEquals(0, r.code, r.err);
    assertEquals(expected(template), r.out);
  }

  @Test
  void yarnClientCpu() throws Exception {
    check(
        """
        OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE LC_ALL=C.UTF-8 /opt/spark/bin/spark-submit \\
          --master yarn \\
          --deploy-mode client \\
          --name nest-featurize \\
          --class org.nestspark.job.cli.NestCli \\
          --num-executors 4 \\
          --executor-cores 2 \\
          --executor-memory 6g \\
          --driver-memory 4g \\
          --driver-cores 2 \\
          --queue ml \\
          --files {CONF} \\
          --conf 'spark.driver.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=1024m -Dorg.bytedeco.javacpp.maxphysicalbytes=5632m' \\
          --conf 'spark.executor.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=3072m -Dorg.bytedeco.javacpp.maxphysicalbytes=9728m' \\
          --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \\
          --conf spark.kryo.registrator=org.nestspark.job.spark.NestKryoRegistrator \\
          --conf spark.kryoserializer.buffer.max=1024m \\
          --conf spark.executor.memoryOverhead=4g \\
          --conf spark.task.cpus=1 \\
          --conf spark.executorEnv.OMP_NUM_THREADS=1 \\
          --conf spark.executorEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.executorEnv.LC_ALL=C.UTF-8 \\
          --conf spark.dynamicAllocation.enabled=false \\
          {JAR} featurize --config {CONF} --manifest 'hdfs:///corpus/train set.json' --out hdfs:///features
        """,
        "--target",
        "yarn",
        "--deploy-mode",
        "client",
        "--config",
        conf.toString(),
        "--jar",
        jar.toString(),
        "--queue",
        "ml",
        "--executors",
        "4",
        "--executor-cores",
        "2",
        "--executor-memory",
        "6g",
        "--executor-offheap",
        "4g",
        "--driver-memory",
        "4g",
        "--driver-offheap",
        "2g",
        "--spark-submit",
        "/opt/spark/bin/spark-submit",
        "--dry-run",
        "--",
        "featurize",
        "--manifest",
        "hdfs:///corpus/train set.json",
        "--out",
        "hdfs:///features");
  }

  @Test
  void yarnClusterGpus() throws Exception {
    check(
        """
        spark-submit \\
          --master yarn \\
          --deploy-mode cluster \\
          --name nest-pretrain \\
          --class org.nestspark.job.cli.NestCli \\
          --num-executors 2 \\
          --executor-cores 8 \\
          --executor-memory 8g \\
          --driver-memory 8g \\
          --driver-cores 2 \\
          --files {CONF},{REPO}/deploy/gpu/getGpusResources.sh \\
          --conf 'spark.driver.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=3072m -Dorg.bytedeco.javacpp.maxphysicalbytes=11776m' \\
          --conf 'spark.executor.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=15360m -Dorg.bytedeco.javacpp.maxphysicalbytes=24064m' \\
          --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \\
          --conf spark.kryo.registrator=org.nestspark.job.spark.NestKryoRegistrator \\
          --conf spark.kryoserializer.buffer.max=1024m \\
          --conf spark.executor.memoryOverhead=16g \\
          --conf spark.driver.memoryOverhead=4g \\
          --conf spark.task.cpus=4 \\
          --conf spark.executorEnv.OMP_NUM_THREADS=4 \\
          --conf spark.executorEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.executorEnv.LC_ALL=C.UTF-8 \\
          --conf spark.dynamicAllocation.enabled=false \\
          --conf spark.yarn.appMasterEnv.OMP_NUM_THREADS=2 \\
          --conf spark.yarn.appMasterEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.yarn.appMasterEnv.LC_ALL=C.UTF-8 \\
          --conf spark.executor.resource.gpu.amount=2 \\
          --conf spark.task.resource.gpu.amount=1 \\
          --conf spark.executor.resource.gpu.discoveryScript=./getGpusResources.sh \\
          --conf spark.driver.resource.gpu.amount=1 \\
          --conf spark.driver.resource.gpu.discoveryScript=./getGpusResources.sh \\
          {JAR} pretrain --config nest-small.conf model.train_ds.manifest_filepath=hdfs:///corpus/train.json exp_manager.exp_dir=hdfs:///nest/runs
        """,
        "--target",
        "yarn",
        "--deploy-mode",
        "cluster",
        "--config",
        conf.toString(),
        "--jar",
        jar.toString(),
        "--executors",
        "2",
        "--executor-cores",
        "8",
        "--executor-offheap",
        "16g",
        "--gpus-per-executor",
        "2",
        "--dry-run",
        "--",
        "pretrain",
        "model.train_ds.manifest_filepath=hdfs:///corpus/train.json",
        "exp_manager.exp_dir=hdfs:///nest/runs");
  }

  @Test
  void kubernetesClientCpu() throws Exception {
    check(
        """
        OMP_NUM_THREADS=2 OMP_WAIT_POLICY=PASSIVE LC_ALL=C.UTF-8 spark-submit \\
          --master k8s://https://k8s.example:6443 \\
          --deploy-mode client \\
          --name nest-extract \\
          --class org.nestspark.job.cli.NestCli \\
          --num-executors 3 \\
          --executor-cores 4 \\
          --executor-memory 8g \\
          --driver-memory 8g \\
          --driver-cores 2 \\
          --files {CONF} \\
          --conf 'spark.driver.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=3072m -Dorg.bytedeco.javacpp.maxphysicalbytes=11776m' \\
          --conf 'spark.executor.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=7168m -Dorg.bytedeco.javacpp.maxphysicalbytes=15872m' \\
          --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \\
          --conf spark.kryo.registrator=org.nestspark.job.spark.NestKryoRegistrator \\
          --conf spark.kryoserializer.buffer.max=1024m \\
          --conf spark.executor.memoryOverhead=8g \\
          --conf spark.task.cpus=1 \\
          --conf spark.executorEnv.OMP_NUM_THREADS=1 \\
          --conf spark.executorEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.executorEnv.LC_ALL=C.UTF-8 \\
          --conf spark.dynamicAllocation.enabled=false \\
          --conf spark.kubernetes.container.image=registry.example/nest-spark:cpu \\
          --conf spark.kubernetes.namespace=default \\
          --conf spark.kubernetes.authenticate.driver.serviceAccountName=spark \\
          --conf spark.driver.host=10.0.0.5 \\
          local:///opt/nest/nest-spark.jar extract --config {CONF} --model hdfs:///nest/model.nemo --input hdfs:///corpus/val.json --output hdfs:///features --layers all
        """,
        "--target",
        "k8s",
        "--deploy-mode",
        "client",
        "--master",
        "k8s://https://k8s.example:6443",
        "--image",
        "registry.example/nest-spark:cpu",
        "--config",
        conf.toString(),
        "--executors",
        "3",
        "--conf",
        "spark.driver.host=10.0.0.5",
        "--dry-run",
        "--",
        "extract",
        "--model",
        "hdfs:///nest/model.nemo",
        "--input",
        "hdfs:///corpus/val.json",
        "--output",
        "hdfs:///features",
        "--layers",
        "all");
  }

  @Test
  void kubernetesClusterGpus() throws Exception {
    check(
        """
        spark-submit \\
          --master k8s://https://k8s.example:6443 \\
          --deploy-mode cluster \\
          --name nest-pretrain \\
          --class org.nestspark.job.cli.NestCli \\
          --num-executors 2 \\
          --executor-cores 4 \\
          --executor-memory 8g \\
          --driver-memory 8g \\
          --driver-cores 2 \\
          --files {CONF} \\
          --conf 'spark.driver.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=3072m -Dorg.bytedeco.javacpp.maxphysicalbytes=11776m' \\
          --conf 'spark.executor.extraJavaOptions={OPENS} -Dorg.bytedeco.javacpp.maxbytes=7168m -Dorg.bytedeco.javacpp.maxphysicalbytes=15872m' \\
          --conf spark.serializer=org.apache.spark.serializer.KryoSerializer \\
          --conf spark.kryo.registrator=org.nestspark.job.spark.NestKryoRegistrator \\
          --conf spark.kryoserializer.buffer.max=1024m \\
          --conf spark.executor.memoryOverhead=8g \\
          --conf spark.driver.memoryOverhead=4g \\
          --conf spark.task.cpus=4 \\
          --conf spark.executorEnv.OMP_NUM_THREADS=4 \\
          --conf spark.executorEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.executorEnv.LC_ALL=C.UTF-8 \\
          --conf spark.dynamicAllocation.enabled=false \\
          --conf spark.kubernetes.container.image=registry.example/nest-spark:cuda11.6 \\
          --conf spark.kubernetes.namespace=ml \\
          --conf spark.kubernetes.authenticate.driver.serviceAccountName=nest \\
          --conf spark.kubernetes.driverEnv.OMP_NUM_THREADS=2 \\
          --conf spark.kubernetes.driverEnv.OMP_WAIT_POLICY=PASSIVE \\
          --conf spark.kubernetes.driverEnv.LC_ALL=C.UTF-8 \\
          --conf spark.kubernetes.file.upload.path=s3a://bucket/spark-upload \\
          --conf spark.executor.resource.gpu.amount=1 \\
          --conf spark.task.resource.gpu.amount=1 \\
          --conf spark.executor.resource.gpu.vendor=nvidia.com \\
          --conf spark.executor.resource.gpu.discoveryScript=/opt/nest/getGpusResources.sh \\
          --conf spark.kubernetes.executor.podTemplateFile={REPO}/deploy/k8s/executor-pod-template.yaml \\
          --conf spark.driver.resource.gpu.amount=1 \\
          --conf spark.driver.resource.gpu.vendor=nvidia.com \\
          --conf spark.driver.resource.gpu.discoveryScript=/opt/nest/getGpusResources.sh \\
          --conf spark.kubernetes.driver.podTemplateFile={REPO}/deploy/k8s/driver-pod-template.yaml \\
          local:///opt/nest/nest-spark.jar pretrain --config nest-small.conf exp_manager.exp_dir=s3a://bucket/runs
        """,
        "--target",
        "k8s",
        "--deploy-mode",
        "cluster",
        "--master",
        "k8s://https://k8s.example:6443",
        "--image",
        "registry.example/nest-spark:cuda11.6",
        "--namespace",
        "ml",
        "--service-account",
        "nest",
        "--upload-path",
        "s3a://bucket/spark-upload",
        "--config",
        conf.toString(),
        "--gpus-per-executor",
        "1",
        "--dry-run",
        "--",
        "pretrain",
        "exp_manager.exp_dir=s3a://bucket/runs");
  }

  @Test
  void refusesIncompleteOrInconsistentSettings() throws Exception {
    String[][] bad = {
      {"--target", "mesos", "--deploy-mode", "client", "--dry-run", "--", "doctor"},
      {
        "--target",
        "yarn",
        "--deploy-mode",
        "client",
        "--jar",
        "/nonexistent.jar",
        "--dry-run",
        "--",
        "doctor"
      },
      {
        "--target",
        "k8s",
        "--deploy-mode",
        "cluster",
        "--master",
        "k8s://https://h:6443",
        "--dry-run",
        "--",
        "doctor"
      },
      {
        "--target",
        "k8s",
        "--deploy-mode",
        "cluster",
        "--master",
        "k8s://https://h:6443",
        "--image",
        "i",
        "--config",
        "PLACEHOLDER",
        "--dry-run",
        "--",
        "doctor"
      },
      {"--target", "standalone", "--deploy-mode", "client", "--dry-run", "--", "doctor"},
      {
        "--target",
        "yarn",
        "--deploy-mode",
        "client",
        "--jar",
        "PLACEHOLDER_JAR",
        "--executor-cores",
        "2",
        "--gpus-per-executor",
        "4",
        "--dry-run",
        "--",
        "doctor"
      },
      {
        "--target",
        "yarn",
        "--deploy-mode",
        "client",
        "--jar",
        "PLACEHOLDER_JAR",
        "--executor-offheap",
        "1g",
        "--dry-run",
        "--",
        "doctor"
      },
      {"--target", "yarn", "--deploy-mode", "client", "--jar", "PLACEHOLDER_JAR", "--dry-run"},
    };
    String[] why = {
      "--target must be standalone, yarn or k8s",
      "jar not found: /nonexistent.jar",
      "--target k8s needs --image",
      "k8s cluster mode ships local config files through --upload-path",
      "--target standalone needs --master spark://",
      "--executor-cores (2) must be at least --gpus-per-executor (4)",
      "must be at least 1536m",
      "no nest command"
    };
    for (int i = 0; i < bad.length; i++) {
      String[] a = bad[i].clone();
      for (int j = 0; j < a.length; j++) {
        a[j] =
            a[j].replace("PLACEHOLDER_JAR", jar.toString()).replace("PLACEHOLDER", conf.toString());
      }
      Result r = submit(a);
      assertEquals(2, r.code, String.join(" ", a) + "\n" + r.out);
      assertTrue(r.err.contains(why[i]), r.err);
    }
  }
}
