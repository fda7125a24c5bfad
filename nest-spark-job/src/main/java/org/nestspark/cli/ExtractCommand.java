package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.extract.ExtractJob;
import org.nestspark.extract.ExtractOutcome;
import org.nestspark.extract.ExtractReport;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.nemo.NemoImport;
import org.nestspark.nemo.NestModels;
import org.nestspark.spark.SparkContexts;

/**
 * {@code nest extract --model M --input I --output O [--layers all|last|i,j,k] [--format npy|parquet]
 * [--config F] [key=value ...]}: see {@link ExtractJob}. {@code M} is a {@code .nemo} or a nest-spark
 * checkpoint (file or folder). Prints how many utterances were extracted and skipped (each skip with its
 * reason), throughput and where the time went; exits 0 unless the model or the input cannot be read
 * (1) or the arguments are wrong (2).
 */
final class ExtractCommand {
  private ExtractCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("extract", args, Set.of("model", "input", "output", "layers", "format", "config"), Set.of());
    if (!cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("unexpected argument '" + cl.positional.get(0) + "'");
    }
    String model = cl.required("model");
    String input = cl.required("input");
    String output = cl.required("output");
    List<String> overrides = new ArrayList<>(cl.overrides);
    if (cl.optional("format") != null) {
      String f = cl.optional("format").toLowerCase(Locale.ROOT);
      if (!f.equals("npy") && !f.equals("parquet")) {
        throw new CommandLine.UsageException("--format " + cl.optional("format") + ": expected npy or parquet");
      }
      overrides.add("extract.format=" + f);
    }
    if (cl.optional("layers") != null) {
      overrides.add("extract.layers=" + cl.optional("layers"));
    }
    NemoImport.Imported m;
    try {
      m = NestModels.load(model, new Configuration(), cl.all("config"), overrides);
    } catch (NemoStateDictException | IOException e) {
      err.println("nest extract: --model " + model + ": " + e.getMessage());
      return 1;
    }
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
    out.printf(Locale.ROOT, "extracted %d utterance(s) (%d written, %d already complete), skipped %d; layers %s%n",
        r.extracted(), r.written, r.existing, r.skippedTotal(), java.util.Arrays.toString(r.layers));
    for (ManifestProblem p : r.inputProblems) {
      out.println("  skipped " + p);
    }
    for (ExtractOutcome o : r.skipped) {
      out.println("  skipped " + o.where + ": " + o.reason);
    }
    if (r.written > 0) {
      out.printf(Locale.ROOT, "%.1f s of audio in %.1f s (%.1f s of audio per second); time in tasks: %s%n",
          r.audioSeconds, r.wallSeconds, r.audioSeconds / r.wallSeconds, r.timings.shares());
    }
    out.println("features: " + r.featuresJson);
  }
}
