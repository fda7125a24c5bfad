package org.nestspark.job.cli;

import java.io.InputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.TreeMap;
import org.bytedeco.javacpp.Pointer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nestspark.config.NestConfig;
import org.nestspark.model.NestGraph;
import org.nestspark.train.AdamW;
import org.nestspark.train.TrainStep;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest doctor [--config FILE]... [--expect-gpu] [--batch B] [--seconds S] [key=value]...}: what this
 * JVM runs on (ND4J backend and devices, BLAS, threads, versions, JavaCPP off-heap limits) and one NEST
 * training step on a random batch, with its loss and time. Without {@code --config} the model has the shape
 * of {@code conf/nest-tiny.conf}; with it, the configured model (check a preset on the target hardware).
 *
 * <p>Exit codes: 0 healthy; 1 the training step failed or gave a non-finite loss, or {@code --expect-gpu} was
 * given and the CUDA backend is not the one loaded; 2 bad usage or configuration.
 */
@Command(
    name = "doctor",
    description = {
      "ND4J backend, devices, BLAS, threads, versions; one tiny training step",
      "Without --config the model has the shape of conf/nest-tiny.conf; with it, the configured model. "
          + "Exit 0 healthy; 1 the training step failed or gave a non-finite loss, or --expect-gpu and no "
          + "CUDA backend."
    })
final class DoctorCommand extends NestCommand {
  /** The model of {@code conf/nest-tiny.conf}, used when no {@code --config} is given. */
  static final List<String> TINY =
      List.of(
          "model.num_classes=256",
          "model.encoder.d_model=64",
          "model.encoder.n_heads=4",
          "model.encoder.n_layers=2",
          "model.encoder.subsampling_conv_channels=32",
          "model.encoder.dropout=0.1",
          "model.optim.lr=5.0",
          "model.optim.weight_decay=0.0",
          "model.optim.sched.warmup_steps=50",
          "model.optim.sched.min_lr=1.0e-5");

  static final String CUDA_BACKEND = "org.nd4j.linalg.jcublas.JCublasBackend";

  @Option(
      names = "--expect-gpu",
      description = "exit 1 unless ND4J's CUDA backend is the one loaded")
  boolean expectGpu;

  @Option(
      names = "--batch",
      paramLabel = "B",
      description = "utterances in the random training batch (default ${DEFAULT-VALUE})")
  int batch = 2;

  @Option(
      names = "--seconds",
      paramLabel = "S",
      description = "seconds per utterance, 0.2 to 60 (default ${DEFAULT-VALUE})")
  double seconds = 2.0;

  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    if (batch < 1) {
      throw new UsageException("--batch must be a positive integer, got " + batch);
    }
    if (!(seconds >= 0.2 && seconds <= 60)) {
      throw new UsageException("--seconds must be between 0.2 and 60 seconds, got " + seconds);
    }
    NestConfig cfg = cl.load(cl.configFiles().isEmpty() ? TINY : List.of(), err);

    out.println("== runtime ==");
    line(
        out,
        "java",
        System.getProperty("java.version")
            + " ("
            + System.getProperty("java.vm.name")
            + ", "
            + System.getProperty("java.home")
            + ")");
    line(
        out,
        "os",
        System.getProperty("os.name")
            + " "
            + System.getProperty("os.version")
            + " "
            + System.getProperty("os.arch"));
    line(out, "cpus (JVM)", Integer.toString(Runtime.getRuntime().availableProcessors()));
    line(out, "heap max", gib(Runtime.getRuntime().maxMemory()));
    line(out, "spark", sparkVersion());
    line(out, "hadoop", org.apache.hadoop.util.VersionInfo.getVersion());
    line(out, "dl4j (deeplearning4j-nn)", mavenVersion("org.deeplearning4j", "deeplearning4j-nn"));
    line(out, "nd4j (nd4j-api)", mavenVersion("org.nd4j", "nd4j-api"));
    line(out, "javacpp", mavenVersion("org.bytedeco", "javacpp"));
    line(out, "OMP_NUM_THREADS", envOr("OMP_NUM_THREADS", "(unset)"));
    line(out, "OMP_WAIT_POLICY", envOr("OMP_WAIT_POLICY", "(unset)"));
    line(out, "CUDA_VISIBLE_DEVICES", envOr("CUDA_VISIBLE_DEVICES", "(unset)"));
    line(out, "backends in the jar", backendsOnClasspath());
    out.println("== ND4J ==");
    String backend;
    try {
      backend = Nd4j.getBackend().getClass().getName();
    } catch (LinkageError | RuntimeException e) {
      // e.g. the CUDA build on a host without an NVIDIA driver: libcuda.so.1 missing, no backend
      // left
      err.println("nest doctor: ND4J could not load a backend: " + causes(e));
      if (DoctorCommand.class.getResource(CUDA_BACKEND_RESOURCE) != null) {
        err.println(
            "nest doctor: this is the CUDA build (nd4j-cuda-11.6): it needs an NVIDIA driver (libcuda.so.1), the CUDA 11.6"
                + " runtime and a visible GPU; the CPU build is mvn -DskipTests package without -Pcuda");
      }
      return 1;
    }
    line(out, "backend", backend + (CUDA_BACKEND.equals(backend) ? " (CUDA)" : " (CPU)"));
    line(out, "devices", Integer.toString(Nd4j.getAffinityManager().getNumberOfDevices()));
    line(out, "blas vendor", String.valueOf(Nd4j.factory().blas().getBlasVendor()));
    org.nestspark.model.nn.ComputeThreads
        .ensureApplied(); // what the layers do when a graph is built
    line(out, "blas max threads", Integer.toString(Nd4j.factory().blas().getMaxThreads()));
    line(out, "nd4j max threads", Integer.toString(Nd4j.getEnvironment().maxThreads()));
    line(out, "nd4j master threads", Integer.toString(Nd4j.getEnvironment().maxMasterThreads()));
    line(out, "compute threads", org.nestspark.model.nn.ComputeThreads.describe());
    String kernels = cfg.getString("model.kernels");
    String forced = System.getProperty(org.nestspark.model.nn.Kernels.PROPERTY);
    line(
        out,
        "kernels",
        "model.kernels="
            + kernels
            + (forced == null ? "" : ", -Dnest.kernels=" + forced)
            + " -> "
            + org.nestspark.model.nn.Kernels.resolve(kernels).configName());
    line(
        out,
        "batch slices",
        "trainer.batch_slices="
            + cfg.config().getValue("trainer.batch_slices").unwrapped()
            + " -> "
            + TrainStep.resolveBatchSlices(cfg.settings().trainer().batchSlices())
            + " (slices of a training batch run at once, one thread each)");
    line(out, "default data type", String.valueOf(Nd4j.dataType()));
    line(out, "javacpp maxbytes", gib(Pointer.maxBytes()) + " (-Dorg.bytedeco.javacpp.maxbytes)");
    line(
        out,
        "javacpp maxphysicalbytes",
        gib(Pointer.maxPhysicalBytes()) + " (-Dorg.bytedeco.javacpp.maxphysicalbytes)");
    line(out, "resident memory now", gib(Pointer.physicalBytes()));
    Properties env = Nd4j.getExecutioner().getEnvironmentInformation();
    Map<String, String> sorted = new TreeMap<>();
    env.forEach((k, v) -> sorted.put(String.valueOf(k), String.valueOf(v)));
    sorted.forEach((k, v) -> line(out, "env " + k, v));

    boolean gpuMissing = expectGpu && !CUDA_BACKEND.equals(backend);
    if (gpuMissing) {
      err.println(
          "nest doctor: --expect-gpu: the loaded ND4J backend is "
              + backend
              + ", not the CUDA backend "
              + CUDA_BACKEND
              + " (build with mvn -Pcuda package and run on a host with CUDA 11.6)");
    }

    out.println("== one training step ==");
    int code = trainStep(cfg, batch, seconds, out, err);
    if (gpuMissing) {
      return 1;
    }
    if (code == 0) {
      out.println("doctor: OK");
    }
    return code;
  }

  private static int trainStep(
      NestConfig cfg, int batch, double seconds, PrintStream out, PrintStream err) {
    try {
      long t0 = System.nanoTime();
      ComputationGraph g = NestGraph.build(cfg.settings(), AdamW.of(cfg.settings().optim()));
      TrainStep step = TrainStep.of(g, cfg.settings());
      long t1 = System.nanoTime();
      int numClasses = cfg.getInt("model.num_classes");
      int books = cfg.getInt("model.num_books");
      MultiDataSet ds =
          randomBatch(
              batch,
              seconds,
              cfg.getInt("model.preprocessor.features"),
              numClasses,
              books,
              cfg.getInt("model.encoder.subsampling_factor"),
              cfg.getLong("data.seed"));
      line(
          out,
          "model",
          String.format(
              Locale.ROOT,
              "d_model %d, %d layers, %d heads, %d classes x %d book(s): %,d parameters (built in %.0f ms)",
              cfg.getInt("model.encoder.d_model"),
              cfg.getInt("model.encoder.n_layers"),
              cfg.getInt("model.encoder.n_heads"),
              numClasses,
              books,
              g.numParams(),
              (t1 - t0) / 1e6));
      line(
          out,
          "batch",
          String.format(
              Locale.ROOT,
              "%d x %.1f s of random features (%d frames), %d selected tokens",
              batch,
              seconds,
              ds.getFeatures(0).size(2),
              (long) ds.getLabelsMaskArray(0).sumNumber().doubleValue()));
      for (int i = 1; i <= 2; i++) {
        long s0 = System.nanoTime();
        TrainStep.StepResult r = step.fit(ds);
        double ms = (System.nanoTime() - s0) / 1e6;
        line(
            out,
            "step " + i + (i == 1 ? " (first, with warm-up)" : ""),
            String.format(
                Locale.ROOT,
                "%s, loss %.4f, lr %.3g, %.0f ms, %.1f s of audio/s",
                r.outcome(),
                r.score(),
                r.learningRate(),
                ms,
                batch * seconds / (ms / 1e3)));
        if (!r.done() || !Double.isFinite(r.score())) {
          err.println(
              "nest doctor: the training step did not complete: "
                  + r.outcome()
                  + ", loss "
                  + r.score());
          return 1;
        }
      }
      line(out, "resident memory after", gib(Pointer.physicalBytes()));
      return 0;
    } catch (RuntimeException | LinkageError e) {
      err.println("nest doctor: the training step failed: " + e);
      e.printStackTrace(err);
      return 1;
    }
  }

  /** A NEST batch of random features: prefix masks, about 30 % of the valid encoder steps selected. */
  static MultiDataSet randomBatch(
      int batch,
      double seconds,
      int features,
      int numClasses,
      int books,
      int subsampling,
      long seed) {
    int valid = (int) Math.round(seconds * 100);
    int frames = (valid + 15) / 16 * 16;
    Nd4j.getRandom().setSeed(seed);
    INDArray x = Nd4j.randn(DataType.FLOAT, batch, features, frames);
    INDArray fMask = Nd4j.zeros(DataType.FLOAT, batch, frames);
    fMask.get(NDArrayIndex.all(), NDArrayIndex.interval(0, valid)).assign(1);
    int tEnc = (frames + subsampling - 1) / subsampling;
    int validEnc = (valid + subsampling - 1) / subsampling;
    Random r = new Random(seed);
    INDArray labels = Nd4j.create(DataType.FLOAT, batch, books, tEnc);
    INDArray lMask = Nd4j.zeros(DataType.FLOAT, batch, tEnc);
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < tEnc; t++) {
        for (int k = 0; k < books; k++) {
          labels.putScalar(new long[] {b, k, t}, r.nextInt(numClasses));
        }
        if (t < validEnc && (t % 3 == 0 || r.nextDouble() < 0.1)) {
          lMask.putScalar(b, t, 1);
        }
      }
    }
    return new MultiDataSet(
        new INDArray[] {x},
        new INDArray[] {labels},
        new INDArray[] {fMask},
        new INDArray[] {lMask});
  }

  static final String CUDA_BACKEND_RESOURCE = "/org/nd4j/linalg/jcublas/JCublasBackend.class";
  static final String CPU_BACKEND_RESOURCE = "/org/nd4j/linalg/cpu/nativecpu/CpuBackend.class";

  /** Which ND4J backends the classpath holds (what the build put in the jar). */
  static String backendsOnClasspath() {
    List<String> found = new ArrayList<>();
    if (DoctorCommand.class.getResource(CPU_BACKEND_RESOURCE) != null) {
      found.add("CPU (nd4j-native)");
    }
    if (DoctorCommand.class.getResource(CUDA_BACKEND_RESOURCE) != null) {
      found.add("CUDA (nd4j-cuda-11.6)");
    }
    return found.isEmpty() ? "none" : String.join(", ", found);
  }

  /** The messages of a throwable and its causes, innermost last. */
  static String causes(Throwable t) {
    StringBuilder sb = new StringBuilder();
    java.util.Set<Throwable> seen = new java.util.HashSet<>();
    for (Throwable c = t; c != null && seen.add(c); c = c.getCause()) {
      if (sb.length() > 0) {
        sb.append(" <- ");
      }
      sb.append(c.getClass().getSimpleName());
      if (c.getMessage() != null) {
        sb.append(": ").append(c.getMessage());
      }
    }
    return sb.toString();
  }

  private static void line(PrintStream out, String key, String value) {
    out.printf(Locale.ROOT, "%-28s %s%n", key + ":", value);
  }

  private static String gib(long bytes) {
    return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
  }

  private static String envOr(String name, String fallback) {
    String v = System.getenv(name);
    return v == null ? fallback : v;
  }

  static String sparkVersion() {
    try {
      return org.apache.spark.package$.MODULE$.SPARK_VERSION();
    } catch (LinkageError e) {
      return "not on the classpath";
    }
  }

  /** The version in a jar's {@code META-INF/maven/.../pom.properties} (kept in the shaded jar). */
  static String mavenVersion(String group, String artifact) {
    try (InputStream in =
        DoctorCommand.class.getResourceAsStream(
            "/META-INF/maven/" + group + "/" + artifact + "/pom.properties")) {
      if (in == null) {
        return "unknown";
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version", "unknown");
    } catch (java.io.IOException e) {
      return "unknown";
    }
  }
}
