package org.nestspark.tarred;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestException;
import org.nestspark.manifest.ManifestProblem;
import org.nestspark.manifest.ManifestReadResult;
import org.nestspark.manifest.ManifestReader;

/**
 * A NeMo tarred audio dataset as metadata, on the driver (docs/nest-numerics.md §2, "Other loaders": {@code is_tarred},
 * {@code tarred_audio_filepaths}, {@code manifest_filepath}): the shards ({@link ShardPaths} expanded, in order)
 * and the manifest entries, each tied to its shard and member ({@link ManifestEntry#inShard}).
 *
 * <p>Manifests: either one per shard (a pattern such as {@code sharded_manifests/manifest__OP_0..31_CL_.json}
 * expanding to as many manifests as there are shards; manifest i belongs to shard i), or one manifest for all
 * shards ({@code tarred_audio_manifest.json}), whose entries name their shard with {@code shard_id}: the shard
 * whose file name ends in {@code _<shard_id>.tar} (the names NeMo's {@code convert_to_tarred_audio_dataset.py}
 * writes), or the shard at that position when the names carry no number. With a single shard, {@code shard_id}
 * may be absent. An entry whose shard cannot be told is reported as a manifest problem and skipped.
 *
 * <p>Entries come in shard order, and in manifest order within a shard (the member order NeMo's script
 * writes), which is the order executors read the shards in.
 */
public final class TarredDataset {
  private static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS)
          .build();
  private static final Pattern SHARD_NUMBER = Pattern.compile("_(\\d+)\\.tar$");

  private final List<String> shards;
  private final ManifestReadResult read;
  private final int[] shardOf;

  private TarredDataset(List<String> shards, ManifestReadResult read, int[] shardOf) {
    this.shards = List.copyOf(shards);
    this.read = read;
    this.shardOf = shardOf;
  }

  /**
   * Reads the manifests of a tarred dataset.
   *
   * @param manifests manifest paths or patterns, as configured
   * @param tarredAudioFilepaths shard paths or patterns, as configured
   * @throws ManifestException when a manifest cannot be read, or the manifests do not pair with the shards
   */
  public static TarredDataset read(
      ManifestReader reader, List<String> manifests, List<String> tarredAudioFilepaths)
      throws ManifestException {
    List<String> shardPaths = ShardPaths.expandAll(tarredAudioFilepaths);
    if (shardPaths.isEmpty()) {
      throw new ManifestException("tarred_audio_filepaths: no shard given");
    }
    List<String> shards = new ArrayList<>();
    for (String s : shardPaths) {
      try {
        shards.add(NestPaths.fromUserString(s).toUri().toString());
      } catch (IllegalArgumentException e) {
        throw new ManifestException(
            "tarred_audio_filepaths: '" + s + "' is not a valid path or URI");
      }
    }
    List<String> files = new ArrayList<>();
    for (String m : manifests) {
      files.addAll(m.contains("{") || m.contains("_OP_") ? ShardPaths.expand(m) : List.of(m));
    }
    boolean perShard = files.size() == shards.size() && files.size() > 1;
    if (!perShard && files.size() != 1) {
      throw new ManifestException(
          String.format(
              Locale.ROOT,
              "manifest_filepath gives %d manifests for %d shards (%s): give one manifest per shard, in shard order, or one "
                  + "manifest for all shards (tarred_audio_manifest.json)",
              files.size(),
              shards.size(),
              ShardPaths.summary(shardPaths)));
    }
    ManifestReadResult r = reader.read(files);
    Map<String, Integer> byManifest = new HashMap<>();
    for (int i = 0; i < files.size(); i++) {
      byManifest.put(files.get(i), i);
    }
    Map<Long, Integer> byNumber = new HashMap<>();
    for (int i = 0; i < shards.size(); i++) {
      Matcher m = SHARD_NUMBER.matcher(shards.get(i));
      if (m.find()) {
        byNumber.putIfAbsent(Long.parseLong(m.group(1)), i);
      }
    }
    List<ManifestProblem> problems = new ArrayList<>(r.problems());
    List<ManifestEntry> kept = new ArrayList<>();
    List<Integer> keptShard = new ArrayList<>();
    for (ManifestEntry e : r.entries()) {
      int shard;
      if (perShard) {
        shard = byManifest.get(e.manifest());
      } else {
        String bad = null;
        Long id = shardId(e);
        if (id == null) {
          shard = 0;
          if (shards.size() > 1) {
            bad = "no shard_id, and there are " + shards.size() + " shards";
          }
        } else if (byNumber.containsKey(id)) {
          shard = byNumber.get(id);
        } else if (byNumber.isEmpty() && id >= 0 && id < shards.size()) {
          shard = (int) (long) id;
        } else {
          shard = -1;
          bad =
              "shard_id "
                  + id
                  + " names none of the shards ("
                  + ShardPaths.summary(shardPaths)
                  + ")";
        }
        if (bad != null) {
          problems.add(new ManifestProblem(e.manifest(), e.line(), bad));
          continue;
        }
      }
      kept.add(e.inShard(shards.get(shard), MemberNames.ofEntry(e.audioFilepath())));
      keptShard.add(shard);
    }
    Integer[] order = new Integer[kept.size()];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(
        order,
        Comparator.<Integer>comparingInt(keptShard::get).thenComparingLong(i -> kept.get(i).id()));
    List<ManifestEntry> sorted = new ArrayList<>(kept.size());
    int[] shardOf = new int[kept.size()];
    for (int i = 0; i < order.length; i++) {
      sorted.add(kept.get(order[i]));
      shardOf[i] = keptShard.get(order[i]);
    }
    return new TarredDataset(
        shards,
        new ManifestReadResult(sorted, problems, r.filteredByDuration(), r.sha256()),
        shardOf);
  }

  /**
   * The inputs of featurize or extract: {@link #read} when shards are given ({@code tarredAudioFilepaths}
   * not empty), else the manifests as they are.
   */
  public static ManifestReadResult readInputs(
      ManifestReader reader, List<String> manifests, List<String> tarredAudioFilepaths)
      throws ManifestException {
    return tarredAudioFilepaths.isEmpty()
        ? reader.read(manifests)
        : read(reader, manifests, tarredAudioFilepaths).result();
  }

  /** How many distinct shards {@code entries} read from (0 when none is tarred). */
  public static int shardCount(List<ManifestEntry> entries) {
    java.util.Set<String> shards = new java.util.HashSet<>();
    for (ManifestEntry e : entries) {
      if (e.tarShard() != null) {
        shards.add(e.tarShard());
      }
    }
    return shards.size();
  }

  private static Long shardId(ManifestEntry e) {
    try {
      JsonNode n = JSON.readTree(e.json()).get("shard_id");
      return n != null && n.canConvertToLong() && n.isIntegralNumber() ? n.longValue() : null;
    } catch (IOException ex) {
      return null;
    }
  }

  /** The shard URIs, in order. */
  public List<String> shards() {
    return shards;
  }

  /** The entries (in shard order) with the manifests' problems, duration filtering and checksums. */
  public ManifestReadResult result() {
    return read;
  }

  /** The entries, in shard order. */
  public List<ManifestEntry> entries() {
    return read.entries();
  }

  /** The shard index of each entry of {@link #entries()}. */
  public int[] shardOf() {
    return shardOf.clone();
  }
}
