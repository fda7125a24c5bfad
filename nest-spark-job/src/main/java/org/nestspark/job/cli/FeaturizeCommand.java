package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;
import org.nestspark.job.featurize.FeaturizeJob;
import org.nestspark.job.featurize.FeaturizeReport;
import org.nestspark.job.spark.PartSummary;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest featurize --manifest M --out DIR [--config F] [key=value ...]}: see {@link FeaturizeJob}.
 * Prints how many utterances were featurized and skipped, with each skip's reason; exits 0 unless a
 * manifest could not be read (or bad input met {@code data.on_error=fail}).
 */
@Command(
    name = "featurize",
    description = {
      "log-mel features of every utterance as .npy + features.json",
      "One float32 .npy [80, T_valid] per utterance (per-utterance normalisation, as NeMo with batch "
          + "size 1, eval mode), named as NeMo's extract_features.py names them, plus DIR/features.json. "
          + "featurize.format=tar: one tar shard of .npy members per Spark task instead. "
          + "Reruns keep complete outputs (featurize.overwrite=true recomputes). Exit 0 unless a manifest "
          + "cannot be read (1)."
    })
final class FeaturizeCommand extends NestCommand {
  @Option(
      names = "--manifest",
      paramLabel = "M[,M2...]",
      description = "NeMo JSONL manifest(s); repeatable or comma-separated")
  List<String> manifestArgs = new ArrayList<>();

  @Option(names = "--out", paramLabel = "DIR", description = "output folder (local or Hadoop URI)")
  String outArg;

  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    List<String> manifests = new ArrayList<>();
    for (String m : manifestArgs) {
      for (String part : m.split(",")) {
        if (!part.isBlank()) {
          manifests.add(part.strip());
        }
      }
    }
    if (manifests.isEmpty()) {
      throw new UsageException("--manifest is required");
    }
    if (outArg == null) {
      throw new UsageException("--out is required");
    }
    String outDir = outArg;
    // validate everything before any Spark or data work
    NestConfig config = cl.load(err);
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
    out.printf(
        Locale.ROOT,
        "featurized %d utterance(s) (%d written, %d already complete), skipped %d%n",
        r.featurized(),
        r.written,
        r.existing,
        r.skippedTotal());
    for (ManifestProblem p : r.manifestProblems) {
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
          "%.1f s of audio in %.1f s (%.1f s of audio per second)%n",
          r.audioSeconds,
          r.wallSeconds,
          r.audioSeconds / r.wallSeconds);
    }
    out.println("features: " + r.featuresJson);
  }
}
