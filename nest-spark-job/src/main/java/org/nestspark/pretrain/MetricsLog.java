package org.nestspark.pretrain;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import org.nestspark.io.AtomicFiles;

/**
 * The run's metrics file, {@code <run>/metrics.jsonl}: JSON Lines, one object per record, each with a
 * {@code kind}:
 *
 * <ul>
 *   <li>{@code train} (every {@code trainer.log_every_n_steps} steps): {@code step}, {@code epoch},
 *       {@code train_loss}, {@code masked_accuracy}, {@code lr}, {@code audio_seconds},
 *       {@code audio_seconds_per_second}, {@code steps_per_second}, {@code elapsed_s}, {@code time};</li>
 *   <li>{@code val}: {@code step}, {@code epoch}, {@code val_loss}, {@code val_masked_accuracy},
 *       {@code val_batches}, {@code val_tokens};</li>
 *   <li>{@code epoch} (an epoch ended): {@code skipped_utterances}, {@code skipped_empty_batches},
 *       {@code skipped_failed_batches}, {@code skipped_non_finite_steps};</li>
 *   <li>{@code timing} (after each Spark training job): {@code data_prep_s}, {@code train_s},
 *       {@code averaging_s}, {@code wall_s}, {@code audio_s} (seconds of audio trained on in the job) — see
 *       {@link PretrainJob}.</li>
 * </ul>
 *
 * <p>The file is rewritten whole (temporary name, then rename) each time records are added, so it is never
 * half-written on any Hadoop file system, object stores included. A resumed run keeps the records up to
 * the checkpoint's step and drops later ones (they belong to work that is done again), so the metrics
 * continue from the step the run resumes at.
 */
public final class MetricsLog {
  static final ObjectMapper JSON = new ObjectMapper();
  public static final String FILE = "metrics.jsonl";

  private final FileSystem fs;
  private final Path file;
  private final List<String> lines = new ArrayList<>();

  public MetricsLog(FileSystem fs, Path runDir) {
    this.fs = fs;
    this.file = new Path(runDir, FILE);
  }

  /** Reads the existing file, keeping records with {@code step <= upToStep}; returns how many were dropped. */
  public int load(long upToStep) throws IOException {
    lines.clear();
    if (!fs.exists(file)) {
      return 0;
    }
    int dropped = 0;
    try (BufferedReader r = new BufferedReader(new InputStreamReader(fs.open(file), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode n;
        try {
          n = JSON.readTree(line);
        } catch (IOException e) {
          dropped++;
          continue;
        }
        if (n.path("step").asLong(0) <= upToStep) {
          lines.add(line);
        } else {
          dropped++;
        }
      }
    }
    return dropped;
  }

  /** A new record of {@code kind} with {@code time} set. */
  public static ObjectNode record(String kind) {
    ObjectNode n = JSON.createObjectNode();
    n.put("kind", kind);
    return n;
  }

  /** Appends a record (in memory; {@link #flush()} writes). */
  public void add(ObjectNode record) {
    record.put("time", Instant.now().toString());
    try {
      lines.add(JSON.writeValueAsString(record));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The records so far, parsed. */
  public List<JsonNode> records() {
    List<JsonNode> out = new ArrayList<>();
    for (String l : lines) {
      try {
        out.add(JSON.readTree(l));
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
    return out;
  }

  public void flush() throws IOException {
    AtomicFiles.write(fs, file, out -> {
      for (String l : lines) {
        out.write(l.getBytes(StandardCharsets.UTF_8));
        out.write('\n');
      }
    });
  }

  public Path file() {
    return file;
  }
}
