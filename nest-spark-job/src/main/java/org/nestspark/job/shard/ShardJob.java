package org.nestspark.job.shard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.audio.AudioDecoders;
import org.nestspark.audio.AudioException;
import org.nestspark.config.NestConfig;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.nemo.TarWriter;
import org.nestspark.tarred.MemberNames;

/**
 * {@code nest shard}: ordinary NeMo manifests to NeMo's tarred audio format (docs/nest-numerics.md §2, "Other loaders"), written by
 * Spark executors, one task per shard, through Hadoop {@code FileSystem}. The files are those NeMo's
 * {@code convert_to_tarred_audio_dataset.py} writes: {@code audio_<i>.tar}, {@code sharded_manifests/manifest_<i>.json},
 * {@code tarred_audio_manifest.json} and {@code metadata.yaml}; member names are NeMo's squashed paths
 * ({@link MemberNames#squash}), a file met again in the same shard is written once and its further entries are
 * named {@code -sub1}, {@code -sub2}, ... as NeMo names them; each manifest line is the input line with
 * {@code audio_filepath} set to the member name and {@code shard_id} added (offsets and durations kept: whole
 * files are stored, as NeMo's script does without {@code --slice_with_offset}).
 *
 * <p>Deviations from NeMo's script, all deliberate: entries are dealt to shards balanced by total duration
 * (longest first, each to the shard with the least audio so far) instead of equal counts, and none is discarded
 * (NeMo drops the remainder of {@code entries mod shards}); within a shard members follow manifest order. The
 * result is deterministic for the same manifests. An entry without {@code duration} is skipped and reported (the
 * balance needs it); an audio file that cannot be read or is not WAV/FLAC is skipped and reported with its
 * manifest line, never a task failure.
 *
 * <p>Resumable: a shard whose tar and shard manifest both exist is complete (the tar is renamed into place
 * first, the shard manifest after it) and is kept; a rerun writes only the others.
 */
public final class ShardJob {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();

  private ShardJob() {}

  /** What a run did. */
  public record Report(
      int shards,
      int shardsKept,
      int entries,
      int members,
      List<String> skipped,
      List<ManifestProblem> problems,
      double audioSeconds,
      String manifest,
      double wallSeconds) {}

  /** One manifest entry placed in a shard. */
  record Item(
      String json,
      String where,
      String audioUri,
      String member,
      boolean writesMember,
      double duration)
      implements Serializable {}

  /** The plan of one shard. */
  record Plan(int shard, List<Item> items) implements Serializable {}

  /** What a shard task did. */
  record Outcome(
      int shard, boolean kept, int entries, int members, double audioSeconds, List<String> skipped)
      implements Serializable {}

  /**
   * Runs the job.
   *
   * @throws ManifestException a manifest cannot be read (or has bad lines with {@code data.on_error=fail}), or
   *     there are fewer usable entries than shards
   */
  public static Report run(
      JavaSparkContext sc,
      NestConfig config,
      List<String> manifests,
      String outDir,
      int numShards,
      PrintStream log)
      throws ManifestException, IOException {
    long t0 = System.nanoTime();
    if (numShards < 1) {
      throw new ManifestException("--shards must be at least 1, got " + numShards);
    }
    Configuration hadoopConf = sc.hadoopConfiguration();
    ManifestReadResult read = ManifestReader.unfiltered(hadoopConf).read(manifests);
    if ("fail".equals(config.getString("data.on_error"))) {
      read.failOnProblems();
    }
    List<ManifestProblem> problems = new ArrayList<>(read.problems());
    List<ManifestEntry> usable = new ArrayList<>();
    for (ManifestEntry e : read.entries()) {
      if (e.duration() == null) {
        problems.add(
            new ManifestProblem(
                e.manifest(), e.line(), "no duration (shards are balanced by duration)"));
      } else {
        usable.add(e);
      }
    }
    if (usable.size() < numShards) {
      throw new ManifestException(
          usable.size()
              + " usable entries for "
              + numShards
              + " shards: every shard needs at least one");
    }
    List<Plan> plans = plan(usable, numShards);
    Path out = NestPaths.fromUserString(outDir);
    FileSystem fs = AtomicFiles.withoutChecksumFiles(out.getFileSystem(hadoopConf));
    fs.mkdirs(new Path(out, "sharded_manifests"));
    SerializableHadoopConf conf = new SerializableHadoopConf(hadoopConf);
    String outUri = out.toUri().toString();
    sc.setJobDescription(
        "shard: " + usable.size() + " utterances into " + numShards + " tar shards");
    List<Outcome> outcomes =
        new ArrayList<>(
            sc.parallelize(plans, numShards).map(p -> writeShard(p, outUri, conf.get())).collect());
    sc.setJobDescription(null);
    outcomes.sort(Comparator.comparingInt(Outcome::shard));

    // tarred_audio_manifest.json: the shard manifests in shard order (small: one line per
    // utterance)
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (int i = 0; i < numShards; i++) {
      try (InputStream in = fs.open(shardManifest(out, i))) {
        in.transferTo(all);
      }
    }
    byte[] allBytes = all.toByteArray();
    Path manifest = new Path(out, "tarred_audio_manifest.json");
    AtomicFiles.write(fs, manifest, os -> os.write(allBytes));
    int entries = 0;
    int members = 0;
    int kept = 0;
    double seconds = 0;
    List<String> skipped = new ArrayList<>();
    for (Outcome o : outcomes) {
      entries += o.entries();
      members += o.members();
      seconds += o.audioSeconds();
      kept += o.kept() ? 1 : 0;
      skipped.addAll(o.skipped());
    }
    int perShard = entries / numShards;
    String yaml = metadata(numShards, perShard);
    AtomicFiles.write(
        fs, new Path(out, "metadata.yaml"), os -> os.write(yaml.getBytes(StandardCharsets.UTF_8)));
    return new Report(
        numShards,
        kept,
        entries,
        members,
        skipped,
        problems,
        seconds,
        NestPaths.display(manifest),
        (System.nanoTime() - t0) / 1e9);
  }

  /** Entries to shards: longest first, each to the shard with the least audio (lowest index on ties); manifest order within a shard. */
  static List<Plan> plan(List<ManifestEntry> entries, int numShards) {
    List<ManifestEntry> byLength = new ArrayList<>(entries);
    byLength.sort(
        Comparator.comparingDouble((ManifestEntry e) -> -e.duration())
            .thenComparingLong(ManifestEntry::id));
    double[] total = new double[numShards];
    List<List<ManifestEntry>> shards = new ArrayList<>();
    for (int i = 0; i < numShards; i++) {
      shards.add(new ArrayList<>());
    }
    for (ManifestEntry e : byLength) {
      int best = 0;
      for (int i = 1; i < numShards; i++) {
        if (total[i] < total[best]) {
          best = i;
        }
      }
      shards.get(best).add(e);
      total[best] += e.duration();
    }
    List<Plan> plans = new ArrayList<>();
    for (int i = 0; i < numShards; i++) {
      List<ManifestEntry> es = shards.get(i);
      es.sort(Comparator.comparingLong(ManifestEntry::id));
      Map<String, Integer> count = new HashMap<>();
      List<Item> items = new ArrayList<>();
      for (ManifestEntry e : es) {
        String squashed = MemberNames.squash(e.audioPath().toUri().getPath());
        Integer seen = count.get(squashed);
        String member;
        if (seen == null) {
          member = squashed;
          count.put(squashed, 1);
        } else {
          int dot = squashed.lastIndexOf('.');
          member =
              dot < 0
                  ? squashed + "-sub" + seen
                  : squashed.substring(0, dot) + "-sub" + seen + squashed.substring(dot);
          count.put(squashed, seen + 1);
        }
        items.add(
            new Item(
                e.json(),
                e.where(),
                e.audioPath().toUri().toString(),
                member,
                seen == null,
                e.duration()));
      }
      plans.add(new Plan(i, items));
    }
    return plans;
  }

  static Path shardManifest(Path out, int shard) {
    return new Path(new Path(out, "sharded_manifests"), "manifest_" + shard + ".json");
  }

  static Path tar(Path out, int shard) {
    return new Path(out, "audio_" + shard + ".tar");
  }

  /** Writes one shard (tar, then its manifest), or keeps it when both exist. */
  static Outcome writeShard(Plan plan, String outUri, Configuration conf) throws IOException {
    Path out = new Path(java.net.URI.create(outUri));
    FileSystem fs = AtomicFiles.withoutChecksumFiles(out.getFileSystem(conf));
    Path tarPath = tar(out, plan.shard());
    Path manifestPath = shardManifest(out, plan.shard());
    if (fs.exists(tarPath) && fs.exists(manifestPath)) {
      int lines = 0;
      double seconds = 0;
      try (InputStream in = fs.open(manifestPath)) {
        for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
          if (!line.isBlank()) {
            lines++;
            seconds += JSON.readTree(line).path("duration").asDouble(0);
          }
        }
      }
      return new Outcome(plan.shard(), true, lines, -1, seconds, List.of());
    }
    List<String> skipped = new ArrayList<>();
    StringBuilder manifest = new StringBuilder();
    Set<String> written = new HashSet<>();
    Set<String> failed = new HashSet<>();
    int[] members = {0};
    double[] seconds = {0};
    int[] entries = {0};
    AtomicFiles.write(
        fs,
        tarPath,
        os -> {
          TarWriter tar = new TarWriter(os, 0);
          for (Item item : plan.items()) {
            String squashed = MemberNames.ofEntry(item.member());
            if (item.writesMember()) {
              Path audio = new Path(java.net.URI.create(item.audioUri()));
              try {
                byte[] bytes = readAudio(audio, conf);
                tar.file(item.member(), bytes);
                written.add(squashed);
                members[0]++;
              } catch (AudioException e) {
                failed.add(squashed);
                skipped.add(item.where() + ": " + e.getMessage());
                continue;
              }
            } else if (!written.contains(squashed)) {
              skipped.add(
                  item.where()
                      + ": "
                      + (failed.contains(squashed)
                          ? "its audio file was skipped above"
                          : "no member"));
              continue;
            }
            ObjectNode node = (ObjectNode) JSON.readTree(item.json());
            node.remove("audio_filename");
            node.put("audio_filepath", item.member());
            node.put("shard_id", plan.shard());
            manifest.append(JSON.writeValueAsString(node)).append('\n');
            entries[0]++;
            seconds[0] += item.duration();
          }
          tar.finish();
        });
    byte[] m = manifest.toString().getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, manifestPath, os -> os.write(m));
    return new Outcome(plan.shard(), false, entries[0], members[0], seconds[0], skipped);
  }

  /** The file's bytes, refused unless it is a readable WAV or FLAC file. */
  private static byte[] readAudio(Path audio, Configuration conf) throws AudioException {
    String name = NestPaths.display(audio);
    byte[] bytes;
    try {
      FileSystem fs = audio.getFileSystem(conf);
      FileStatus st = fs.getFileStatus(audio);
      if (st.isDirectory()) {
        throw new AudioException(name, "is a directory");
      }
      try (InputStream in = fs.open(audio)) {
        bytes = in.readAllBytes();
      }
    } catch (java.io.FileNotFoundException e) {
      throw new AudioException(name, "no such file");
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
    AudioDecoders.probe(bytes, name);
    return bytes;
  }

  /** metadata.yaml with the fields of NeMo's ASRTarredDatasetMetadata that describe this dataset. */
  static String metadata(int numShards, int perShard) {
    String created =
        LocalDateTime.now().format(DateTimeFormatter.ofPattern("MM-dd-yyyy HH-mm-ss", Locale.ROOT));
    return "created_datetime: "
        + created
        + "\n"
        + "version: 0\n"
        + "num_samples_per_shard: "
        + perShard
        + "\n"
        + "is_concatenated_manifest: false\n"
        + "dataset_config:\n"
        + "  num_shards: "
        + numShards
        + "\n"
        + "  shuffle: false\n"
        + "  max_duration: null\n"
        + "  min_duration: null\n"
        + "  shuffle_seed: null\n"
        + "  sort_in_shards: false\n"
        + "  slice_with_offset: false\n"
        + "  shard_manifests: true\n"
        + "  keep_files_together: false\n"
        + "  force_codec: null\n"
        + "  use_lhotse: false\n"
        + "  use_bucketing: false\n"
        + "  num_buckets: null\n"
        + "  bucket_duration_bins: null\n"
        + "history: []\n";
  }
}
