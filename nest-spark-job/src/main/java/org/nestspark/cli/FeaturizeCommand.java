package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;

import org.nestspark.config.NestConfig;
import org.nestspark.featurize.FeaturizeJob;
import org.nestspark.featurize.FeaturizeOutcome;
import org.nestspark.featurize.FeaturizeReport;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.spark.SparkContexts;

/**
 * {@code nest featurize --manifest M --out DIR [--config F] [key=value ...]}: see {@link FeaturizeJob}.
 * Prints how many utterances were featurized and skipped, with each skip's reason; exits 0 unless a
 * manifest could not be read (or bad input met {@code data.on_error=fail}).
 */
final class FeaturizeCommand {
  private FeaturizeCommand() {}

  static int run(List<String> args, PrintStream out, PrintStream err) throws CommandLine.UsageException {
    CommandLine cl = CommandLine.parse("featurize", args, Set.of("manifest", "out", "config"), Set.of());
    if (!cl.positional.isEmpty()) {
      throw new CommandLine.UsageException("unexpected argument '" + cl.positional.get(0) + "'");
    }
    List<String> manifests = new ArrayList<>();
    for (String m : cl.all("manifest")) {
      for (String part : m.split(",")) {
        if (!part.isBlank()) {
          manifests.add(part.strip());
        }
      }
    }
    if (manifests.isEmpty()) {
      throw new CommandLine.UsageException("--manifest is required");
    }
    String outDir = cl.required("out");
    // validate everything before any Spark or data work
    NestConfig config = NestConfig.load(cl.all("config"), cl.overrides, new Configuration());
    try (JavaSparkContext sc = SparkContexts.create(config, "featurize")) {
      FeaturizeReport r = FeaturizeJob.run(sc, config, manifests, outDir, err);
      print(r, out);
      return 0;
    } catch (ManifestException e) {
      err.println("nest featurize: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      err.println("nest featurize: " + e.getMessage());
      return 1;
    }
  }

  static void print(FeaturizeReport r, PrintStream out) {
    out.printf(Locale.ROOT, "featurized %d utterance(s) (%d written, %d already complete), skipped %d%n",
        r.featurized(), r.written, r.existing, r.skippedTotal());
    for (ManifestProblem p : r.manifestProblems) {
      out.println("  skipped " + p);
    }
    for (FeaturizeOutcome o : r.skipped) {
      out.println("  skipped " + o.where + ": " + o.reason);
    }
    if (r.written > 0) {
      out.printf(Locale.ROOT, "%.1f s of audio in %.1f s (%.1f s of audio per second)%n",
          r.audioSeconds, r.wallSeconds, r.audioSeconds / r.wallSeconds);
    }
    out.println("features: " + r.featuresJson);
  }
}
