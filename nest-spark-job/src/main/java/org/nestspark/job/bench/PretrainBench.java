package org.nestspark.job.bench;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.batch.BatchPlanner;
import org.nestspark.config.NestConfig;
import org.nestspark.job.pretrain.BatchSource;
import org.nestspark.job.pretrain.BatchSpec;
import org.nestspark.job.pretrain.MetricsReader;
import org.nestspark.job.pretrain.PretrainJob;
import org.nestspark.job.pretrain.TrainingData;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.model.NestGraph;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.train.AdamW;
import org.nestspark.train.TrainStep;

/**
 * {@code nest bench pretrain}: the same total work (a number of batches of the configured training set) done
 * several ways, side by side in one run:
 *
 * <ol>
 *   <li>one process, no Spark: build a batch, {@link TrainStep#fit}, repeat;</li>
 *   <li>the pretraining job on Spark {@code local[2]} with 2 workers: parameter averaging every 1, 4 and 16
 *       steps, and DiLoCo with {@code --inner-steps} H (default: a quarter of the batches, i.e. two rounds);</li>
 *   <li>optionally ({@code --master spark://...}) parameter averaging every step and DiLoCo on a standalone
 *       cluster, with this jar shipped to the executors.</li>
 * </ol>
 * Every row counts the same thing: seconds of audio in the batches trained ({@link BatchSource.Built#audioSeconds},
 * each utterance's own length), and wall time of the training rounds only (Spark start-up, validation and
 * checkpoints excluded; the one-process row: its build-and-fit loop). Workers build their batches in their
 * training thread ({@code pretrain.prefetch_batches=0}), as the one process does, so each worker uses one core.
 * The speed-up column is audio-s/s over the one-process row's; bytes are what each round sends to and
 * receives from the workers ({@code timing} records).
 */
public final class PretrainBench {

  private PretrainBench() {}

  /**
   * Runs the benchmark, printing each row to {@code out} as soon as it is measured (a row that fails says
   * so and the others still run), and returns the whole table.
   */
  public static String run(
      List<String> configFiles,
      List<String> overrides,
      int batches,
      String master,
      int innerSteps,
      boolean local,
      PrintStream out)
      throws Exception {
    Lines report = new Lines(out);
    List<String> base = new ArrayList<>(overrides);
    base.add("model.validation_ds.manifest_filepath=null");
    base.add("trainer.val_check_interval=1000000");
    base.add("trainer.log_every_n_steps=1000000");
    base.add("trainer.max_epochs=-1");
    base.add("pretrain.prefetch_batches=0");
    base.add("exp_manager.checkpoint_callback_params.every_n_train_steps=0");
    NestConfig cfg =
        NestConfig.load(
            configFiles,
            with(base, "trainer.max_steps=" + batches, "exp_manager.exp_dir=/tmp/unused"),
            new Configuration());
    report.append(
        String.format(
            Locale.ROOT,
            "pretrain benchmark: %d batches of %d (%s), d_model %d, %d layers, OMP_NUM_THREADS=%s%n",
            batches,
            cfg.getInt("model.train_ds.batch_size"),
            String.join(",", cfg.getStringList("model.train_ds.manifest_filepath")),
            cfg.getInt("model.encoder.d_model"),
            cfg.getInt("model.encoder.n_layers"),
            System.getenv().getOrDefault("OMP_NUM_THREADS", "default")));
    report.append(
        String.format(
            Locale.ROOT,
            "%-44s %7s %6s %7s %8s %9s %8s %6s %7s %9s %9s %9s%n",
            "mode",
            "wall s",
            "steps",
            "batches",
            "audio s",
            "audio-s/s",
            "speed-up",
            "prep %",
            "train %",
            "average %",
            "MB/round",
            "MB/step"));
    double[] one = new double[1];
    report.append(single(cfg, batches, one)).append('\n');
    for (int f : local ? new int[] {1, 4, 16} : new int[0]) {
      report.append(
          row(
              "local[2], parameter averaging every " + f,
              () ->
                  spark(
                      configFiles,
                      base,
                      batches,
                      "local[2]",
                      "local[2], parameter averaging every " + f,
                      one[0],
                      "pretrain.strategy=parameter_averaging",
                      "pretrain.averaging_frequency=" + f)));
    }
    if (local) {
      report.append(
          row(
              "local[2], diloco H=" + innerSteps,
              () ->
                  spark(
                      configFiles,
                      base,
                      batches,
                      "local[2]",
                      "local[2], diloco H=" + innerSteps,
                      one[0],
                      "pretrain.strategy=diloco",
                      "pretrain.diloco.inner_steps=" + innerSteps)));
    }
    if (master != null) {
      report.append(
          row(
              "standalone, parameter averaging every 1",
              () ->
                  spark(
                      configFiles,
                      base,
                      batches,
                      master,
                      "standalone, parameter averaging every 1",
                      one[0],
                      "pretrain.strategy=parameter_averaging",
                      "pretrain.averaging_frequency=1")));
      report.append(
          row(
              "standalone, diloco H=" + innerSteps,
              () ->
                  spark(
                      configFiles,
                      base,
                      batches,
                      master,
                      "standalone, diloco H=" + innerSteps,
                      one[0],
                      "pretrain.strategy=diloco",
                      "pretrain.diloco.inner_steps=" + innerSteps)));
    }
    return report.toString();
  }

  /** The table so far, echoed to the console line by line. */
  private static final class Lines {
    private final StringBuilder text = new StringBuilder();
    private final PrintStream out;

    Lines(PrintStream out) {
      this.out = out;
    }

    Lines append(String s) {
      text.append(s);
      out.print(s);
      out.flush();
      return this;
    }

    Lines append(char c) {
      return append(String.valueOf(c));
    }

    @Override
    public String toString() {
      return text.toString();
    }
  }

  /** A measured row and its line end, or the row's label and why it failed. */
  private static String row(String label, java.util.concurrent.Callable<String> measure) {
    try {
      return measure.call() + "\n";
    } catch (Exception | OutOfMemoryError e) {
      return String.format(
          Locale.ROOT, "%-44s failed: %s%n", label, e.toString().lines().findFirst().orElse(""));
    }
  }

  private static List<String> with(List<String> base, String... more) {
    List<String> out = new ArrayList<>(base);
    out.addAll(List.of(more));
    return out;
  }

  private static String single(NestConfig cfg, int batches, double[] audioPerSecond)
      throws Exception {
    Configuration conf = new Configuration();
    List<ManifestEntry> train =
        new ManifestReader(
                conf,
                cfg.getDouble("model.train_ds.min_duration"),
                cfg.getDouble("model.train_ds.max_duration"))
            .read(cfg.getStringList("model.train_ds.manifest_filepath"))
            .entries();
    List<ManifestEntry> noise =
        cfg.getStringList("model.train_ds.noise_manifest").isEmpty()
            ? List.of()
            : ManifestReader.unfiltered(conf)
                .read(cfg.getStringList("model.train_ds.noise_manifest"))
                .entries();
    BatchPlanner planner =
        new BatchPlanner(
            cfg.getInt("model.train_ds.batch_size"),
            true,
            true,
            cfg.getInt("pretrain.bucket_batches"),
            cfg.getLong("data.seed"));
    double[] d = TrainingData.durations(train);
    BatchSource source =
        new BatchSource(
            cfg,
            PretrainJob.TRAIN,
            noise,
            conf,
            true,
            null,
            FrozenModules.drawn(cfg.settings())); // a run from scratch
    Nd4j.getRandom().setSeed(cfg.getLong("data.seed"));
    ComputationGraph g = NestGraph.build(cfg.settings(), AdamW.of(cfg.settings().optim()));
    TrainStep step = TrainStep.of(g, cfg.settings());
    double prep = 0;
    double fit = 0;
    double audio = 0;
    int done = 0;
    long t0 = System.nanoTime();
    for (int epoch = 0; done < batches; epoch++) {
      List<int[]> plan = planner.plan(d, epoch);
      for (int b = 0; b < plan.size() && done < batches; b++) {
        List<ManifestEntry> entries = new ArrayList<>();
        for (int idx : plan.get(b)) {
          entries.add(train.get(idx));
        }
        long a = System.nanoTime();
        BatchSource.Built built =
            source.buildOne(
                new BatchSpec(
                    epoch, b, BatchSpec.trainingSeed(cfg.getLong("data.seed"), epoch, b), entries));
        long m = System.nanoTime();
        prep += (m - a) / 1e9;
        if (built.batch() != null) {
          step.fit(built.batch());
          audio += built.audioSeconds();
        }
        fit += (System.nanoTime() - m) / 1e9;
        done++;
      }
    }
    double wall = (System.nanoTime() - t0) / 1e9;
    audioPerSecond[0] = audio / wall;
    return row(
        "one process, no Spark", wall, done, done, audio, 1.0, prep / wall, fit / wall, 0, 0, 0);
  }

  private static String spark(
      List<String> configFiles,
      List<String> base,
      int batches,
      String master,
      String label,
      double oneAudioPerSecond,
      String... strategy)
      throws Exception {
    Path exp = Files.createTempDirectory("nest-bench-pretrain");
    // two workers: max_steps = batches / 2 gives the same number of batches
    List<String> o =
        with(
            base,
            "trainer.max_steps=" + batches / 2,
            "pretrain.num_workers=2",
            "exp_manager.exp_dir=" + exp,
            "spark.master=" + master);
    o.addAll(List.of(strategy));
    NestConfig cfg = NestConfig.load(configFiles, o, new Configuration());
    boolean clearMemory = false;
    if (master.startsWith("spark://")) {
      File jar =
          new File(PretrainBench.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      if (!jar.isFile()) {
        throw new IllegalStateException(
            "--master needs the shaded jar on the classpath (run through bin/nest), found " + jar);
      }
      System.setProperty("spark.jars", jar.getAbsolutePath());
      System.setProperty(
          "spark.executorEnv.OMP_NUM_THREADS",
          System.getenv().getOrDefault("OMP_NUM_THREADS", "1"));
      // a worker's heap holds the round's weights, its delta or parameters and their serialized
      // result: 1g is too
      // little for Small; -Dspark.executor.memory in NEST_JAVA_OPTS overrides
      // and ND4J's off-heap arrays need room: with JavaCPP's default cap (the heap size) every step
      // waits for
      // garbage collections that free native memory
      if (System.getProperty("spark.executor.memory") == null) {
        System.setProperty("spark.executor.memory", "2500m");
        System.setProperty(
            "spark.executor.extraJavaOptions",
            "-Dorg.bytedeco.javacpp.maxbytes=4g -Dorg.bytedeco.javacpp.maxphysicalbytes=7g");
        clearMemory = true;
      }
    }
    PrintStream quiet = new PrintStream(OutputStream.nullOutputStream());
    try (JavaSparkContext sc = SparkContexts.create(cfg, "bench pretrain")) {
      PretrainJob.run(sc, cfg, quiet);
    } finally {
      System.clearProperty("spark.jars");
      if (clearMemory) {
        System.clearProperty("spark.executor.memory");
        System.clearProperty("spark.executor.extraJavaOptions");
      }
    }
    double wall = 0;
    double prep = 0;
    double train = 0;
    double avg = 0;
    long steps = 0;
    long batchCount = 0;
    double audio = 0;
    double bytes = 0;
    int rounds = 0;
    for (JsonNode n :
        MetricsReader.read(
                new org.apache.hadoop.fs.Path(exp.resolve("nest").toUri()),
                new Configuration(false))
            .ofKind("timing")) {
      wall += n.get("wall_s").asDouble();
      prep += n.get("data_prep_s").asDouble();
      train += n.get("train_s").asDouble();
      avg += n.get("averaging_s").asDouble();
      steps = n.get("step").asLong();
      audio += n.get("audio_s").asDouble();
      batchCount += n.get("batches").asLong();
      bytes += n.get("bytes_down").asDouble() + n.get("bytes_up").asDouble();
      rounds++;
    }
    deleteRecursively(exp);
    return row(
        label,
        wall,
        steps,
        batchCount,
        audio,
        audio / wall / oneAudioPerSecond,
        prep / wall,
        train / wall,
        avg / wall,
        bytes / rounds / 1e6,
        bytes / steps / 1e6);
  }

  private static String row(
      String label,
      double wall,
      long steps,
      long batches,
      double audio,
      double speedUp,
      double prep,
      double train,
      double avg,
      double mbRound,
      double mbStep) {
    return String.format(
        Locale.ROOT,
        "%-44s %7.1f %6d %7d %8.1f %9.2f %7.2fx %5.0f%% %6.0f%% %8.0f%% %9.1f %9.1f",
        label,
        wall,
        steps,
        batches,
        audio,
        audio / wall,
        speedUp,
        100 * prep,
        100 * train,
        100 * avg,
        mbRound,
        mbStep);
  }

  private static void deleteRecursively(Path p) throws IOException {
    try (var files = Files.walk(p)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
    }
  }
}
