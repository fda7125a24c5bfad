package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.job.extract.ExtractJob;
import org.nestspark.job.extract.ExtractReport;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest extract --model M --input I --output O [--layers all|last|i,j,k] [--format npy|parquet]
 * [--config F] [key=value ...]}: see {@link ExtractJob}. {@code M} is a {@code .nemo} or a nest-spark
 * checkpoint (file or folder). Prints how many utterances were extracted and skipped (each skip with its
 * reason), throughput and where the time went; exits 0 unless the model or the input cannot be read
 * (1) or the arguments are wrong (2).
 */
@Command(
    name = "extract",
    description = {
      "per-layer encoder features (.npy [L, D, T] or parquet) of a manifest, folder or file",
      "M is a .nemo or a nest-spark checkpoint (file or folder: the newest valid). Prints how many "
          + "utterances were extracted and skipped (each skip with its reason), throughput and where the time "
          + "went. Exit 0 unless the model or the input cannot be read (1) or the arguments are wrong (2)."
    })
final class ExtractCommand extends NestCommand {
  @Option(
      names = "--model",
      paramLabel = "M",
      description = "a .nemo, a checkpoint (.ckpt) or a run's checkpoint folder")
  String model;

  @Option(
      names = "--input",
      paramLabel = "I",
      description = "a NeMo manifest, a folder of audio (searched recursively) or one audio file")
  String input;

  @Option(names = "--output", paramLabel = "O", description = "output folder")
  String output;

  @Option(
      names = "--layers",
      paramLabel = "all|last|i,j,k",
      description = "encoder layers to write (extract.layers)")
  String layers;

  @Option(
      names = "--format",
      paramLabel = "npy|parquet",
      description = "output format (extract.format)")
  String format;

  @Mixin ConfigArgs cl;

  private static String required(String value, String option) throws UsageException {
    if (value == null) {
      throw new UsageException("--" + option + " is required");
    }
    return value;
  }

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    String model = required(this.model, "model");
    String input = required(this.input, "input");
    String output = required(this.output, "output");
    List<String> overrides = new ArrayList<>(cl.overrides());
    if (format != null) {
      String f = format.toLowerCase(Locale.ROOT);
      if (!f.equals("npy") && !f.equals("parquet")) {
        throw new UsageException("--format " + format + ": expected npy or parquet");
      }
      overrides.add("extract.format=" + f);
    }
    if (layers != null) {
      overrides.add("extract.layers=" + layers);
    }
    NemoImport.Imported m;
    try {
      m = Restore.load(model, new Configuration(), cl.configFiles(), overrides);
    } catch (NemoStateDictException | IOException e) {
      err.println("nest extract: --model " + model + ": " + e.getMessage());
      return 1;
    }
    ConfigArgs.warnIgnored(m.config(), err);
    for (String n : m.notes()) {
      if (!n.startsWith("ignored ") && !n.startsWith("no ")) {
        out.println("  note: " + n);
      }
    }
    String layers = m.config().getString("extract.layers");
    try (JavaSparkContext sc = SparkContexts.create(m.config(), "extract")) {
      ExtractReport r = ExtractJob.run(sc, m, input, output, layers, err);
      print(r, out);
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("nest extract: " + e.getMessage());
      return 2;
    } catch (ManifestException | IOException e) {
      err.println("nest extract: " + e.getMessage());
      return 1;
    }
  }

  static void print(ExtractReport r, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "extracted %d utterance(s) (%d written, %d already complete), skipped %d; layers %s%n",
        r.extracted(),
        r.written,
        r.existing,
        r.skippedTotal(),
        java.util.Arrays.toString(r.layers));
    for (ManifestProblem p : r.inputProblems) {
      out.println("  skipped " + p);
    }
    for (PartSummary.Skip o : r.skipped) {
      out.println("  skipped " + o.where() + ": " + o.reason());
    }
    if (r.skippedCount > r.skipped.size()) {
      out.printf(
          Locale.ROOT,
          "  ... and %d more skipped utterance(s)%n",
          r.skippedCount - r.skipped.size());
    }
    if (r.skippedFile != null) {
      out.println("skipped utterances and reasons: " + r.skippedFile);
    }
    if (r.written > 0) {
      out.printf(
          Locale.ROOT,
          "%.1f s of audio in %.1f s (%.1f s of audio per second); time in tasks: %s%n",
          r.audioSeconds,
          r.wallSeconds,
          r.audioSeconds / r.wallSeconds,
          r.timings.shares());
    }
    out.println("features: " + r.featuresJson);
  }
}
