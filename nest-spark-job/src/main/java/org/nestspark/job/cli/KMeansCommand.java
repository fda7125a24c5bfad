package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;
import org.nestspark.job.kmeans.KMeansJob;
import org.nestspark.job.kmeans.KMeansReport;
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
 * {@code nest kmeans --manifest M --out DIR [--features mfcc|logmel|layer] [--model X --layer L] [--k K]
 * [--sample-fraction F] [--centroids C] [--config F] [key=value ...]}: see {@link KMeansJob}. Prints how
 * the centroids came about, how many utterances were labelled and skipped (each skip with its reason) and
 * where the labels manifest is; exits 0 unless the model, the manifest or the output cannot be used (1) or
 * the arguments are wrong (2).
 */
@Command(
    name = "kmeans",
    description = {
      "HuBERT-style k-means labels (Spark MLlib, k-means||) of MFCC, log-mel or an encoder layer",
      "Fits k centroids on a frame sample and writes DIR/centroids.npy, DIR/kmeans.json, one int64 label .npy per "
          + "utterance at the encoder frame rate and DIR/labels_manifest.json (each entry + label_filepath) for "
          + "model.targets=labels. Reruns keep a matching fit and complete label files. Exit 0 unless the model, the "
          + "manifest or the output cannot be used (1) or the arguments are wrong (2)."
    })
final class KMeansCommand extends NestCommand {
  @Option(
      names = "--manifest",
      paramLabel = "M",
      description = "NeMo JSONL manifest of the utterances to label")
  String manifest;

  @Option(names = "--out", paramLabel = "DIR", description = "output folder (local or Hadoop URI)")
  String outArg;

  @Option(
      names = "--features",
      paramLabel = "mfcc|logmel|layer",
      description = "what is clustered (kmeans.features); --model implies layer")
  String features;

  @Option(
      names = "--model",
      paramLabel = "M",
      description = "a .nemo or a checkpoint whose encoder layer is clustered")
  String model;

  @Option(
      names = "--layer",
      paramLabel = "L",
      description = "0-based encoder layer with --model (kmeans.layer; default the last)")
  Integer layer;

  @Option(names = "--k", paramLabel = "K", description = "clusters (kmeans.num_clusters)")
  Integer k;

  @Option(
      names = "--sample-fraction",
      paramLabel = "F",
      description = "fraction of frames in the fit (kmeans.sample_fraction)")
  Double sampleFraction;

  @Option(
      names = "--centroids",
      paramLabel = "C",
      description = "centroids.npy of an earlier run: label with it, no fit (kmeans.centroids)")
  String centroids;

  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    if (manifest == null) {
      throw new UsageException("--manifest is required");
    }
    if (outArg == null) {
      throw new UsageException("--out is required");
    }
    List<String> overrides = new ArrayList<>(cl.overrides());
    String f =
        features == null ? (model != null ? "layer" : null) : features.toLowerCase(Locale.ROOT);
    if (f != null) {
      if (!List.of("mfcc", "logmel", "layer").contains(f)) {
        throw new UsageException("--features " + features + ": expected mfcc, logmel or layer");
      }
      if (f.equals("layer") && model == null) {
        throw new UsageException("--features layer needs --model");
      }
      if (!f.equals("layer") && model != null) {
        throw new UsageException(
            "--model clusters an encoder layer: it goes with --features layer, not " + f);
      }
      overrides.add("kmeans.features=" + f);
    }
    if (layer != null) {
      if (model == null) {
        throw new UsageException("--layer needs --model");
      }
      overrides.add("kmeans.layer=" + layer);
    }
    if (k != null) {
      overrides.add("kmeans.num_clusters=" + k);
    }
    if (sampleFraction != null) {
      overrides.add("kmeans.sample_fraction=" + sampleFraction);
    }
    if (centroids != null) {
      overrides.add("kmeans.centroids=" + centroids);
    }
    NestConfig config;
    NemoImport.Imported m = null;
    if (model != null) {
      try {
        m = Restore.load(model, new Configuration(), cl.configFiles(), overrides);
      } catch (NemoStateDictException | IOException e) {
        err.println("nest kmeans: --model " + model + ": " + e.getMessage());
        return 1;
      }
      config = m.config();
      ConfigArgs.warnIgnored(config, err);
    } else {
      config = NestConfig.load(cl.configFiles(), overrides, new Configuration());
      ConfigArgs.warnIgnored(config, err);
    }
    try (JavaSparkContext sc = SparkContexts.create(config, "kmeans")) {
      KMeansReport r = KMeansJob.run(sc, config, m, manifest, outArg, err);
      print(r, out);
      return 0;
    } catch (IllegalArgumentException e) {
      err.println("nest kmeans: " + e.getMessage());
      return 2;
    } catch (ManifestException | IOException e) {
      err.println("nest kmeans: " + e.getMessage());
      return 1;
    }
  }

  static void print(KMeansReport r, PrintStream out) {
    switch (r.fit()) {
      case "fitted":
        out.printf(
            Locale.ROOT,
            "fitted k=%d centroids of dimension %d on %d frames (cost %.6g): %s%n",
            r.k(),
            r.dim(),
            r.sampledFrames(),
            r.cost(),
            r.centroids());
        break;
      case "kept":
        out.printf(
            Locale.ROOT,
            "kept the k=%d fit of an earlier run with the same settings: %s%n",
            r.k(),
            r.centroids());
        break;
      default:
        out.printf(
            Locale.ROOT, "labelled with the given k=%d centroids: %s%n", r.k(), r.centroids());
    }
    out.printf(
        Locale.ROOT,
        "labelled %d utterance(s) (%d written, %d already complete), skipped %d%n",
        r.labelled(),
        r.written(),
        r.existing(),
        r.skippedCount() + r.inputProblems().size());
    for (ManifestProblem p : r.inputProblems()) {
      out.println("  skipped " + p);
    }
    for (PartSummary.Skip o : r.skipped()) {
      out.println("  skipped " + o.where() + ": " + o.reason());
    }
    if (r.skippedCount() > r.skipped().size()) {
      out.printf(
          Locale.ROOT,
          "  ... and %d more skipped utterance(s)%n",
          r.skippedCount() - r.skipped().size());
    }
    if (r.skippedFile() != null) {
      out.println("skipped utterances and reasons: " + r.skippedFile());
    }
    if (r.written() > 0) {
      out.printf(Locale.ROOT, "%.1f s of audio in %.1f s%n", r.audioSeconds(), r.wallSeconds());
    }
    out.println(
        "labels manifest: "
            + r.labelsManifest()
            + " (model.targets=labels model.num_classes="
            + r.k()
            + ")");
  }
}
