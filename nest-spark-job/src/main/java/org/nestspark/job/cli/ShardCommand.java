package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;
import org.nestspark.job.shard.ShardJob;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest shard --manifest M[,M2] --out DIR --shards N}: see {@link ShardJob}. Prints the shards written
 * and kept and every skipped entry with its reason; exits 0 unless a manifest cannot be read.
 */
@Command(
    name = "shard",
    description = {
      "pack audio into NeMo's tarred format (audio_<i>.tar + manifests)",
      "Writes DIR/audio_0.tar ... audio_<N-1>.tar, DIR/sharded_manifests/manifest_<i>.json, DIR/tarred_audio_manifest.json "
          + "and DIR/metadata.yaml as NeMo's convert_to_tarred_audio_dataset.py does, shards balanced by duration. "
          + "Reruns keep complete shards. Exit 0 unless a manifest cannot be read (1)."
    })
final class ShardCommand extends NestCommand {
  @Option(
      names = "--manifest",
      paramLabel = "M[,M2...]",
      description = "NeMo JSONL manifest(s); repeatable or comma-separated")
  List<String> manifestArgs = new ArrayList<>();

  @Option(names = "--out", paramLabel = "DIR", description = "output folder (local or Hadoop URI)")
  String outArg;

  @Option(names = "--shards", paramLabel = "N", description = "number of tar shards")
  Integer shards;

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
    if (shards == null || shards < 1) {
      throw new UsageException("--shards N (at least 1) is required");
    }
    NestConfig config = cl.load(err);
    try (JavaSparkContext sc = SparkContexts.create(config, "shard")) {
      ShardJob.Report r = ShardJob.run(sc, config, manifests, outArg, shards, err);
      out.printf(
          Locale.ROOT,
          "%d shards (%d written, %d complete from an earlier run): %d utterances, %.1f s of audio; skipped %d%n",
          r.shards(),
          r.shards() - r.shardsKept(),
          r.shardsKept(),
          r.entries(),
          r.audioSeconds(),
          r.skipped().size() + r.problems().size());
      for (ManifestProblem p : r.problems()) {
        out.println("  skipped " + p);
      }
      for (String s : r.skipped()) {
        out.println("  skipped " + s);
      }
      out.println("manifest: " + r.manifest());
      return 0;
    } catch (ManifestException | IOException e) {
      err.println("nest shard: " + e.getMessage());
      return 1;
    }
  }
}
