package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Reads Spark's event logs ({@code spark.eventLog.enabled}: the JSON of the listener events Spark's own
 * {@code EventLoggingListener} receives) for the fault tests: which round tasks ended how, at which attempt,
 * with which {@value RoundTrainer#BATCH_SHA256_ACCUMULATOR} update, and which executors were removed.
 */
final class SparkEventLog {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A round task's end: application, stage, partition, attempt, task id, Spark's end reason and its batch hashes. */
  record TaskEnd(
      String app,
      int stageId,
      int index,
      int attempt,
      long taskId,
      String executorId,
      String reason,
      List<String> batchHashes) {}

  /** An executor removal: application, executor, Spark's reason. */
  record ExecutorRemoved(String app, String executorId, String reason) {}

  final List<TaskEnd> roundTaskEnds = new ArrayList<>();
  final List<ExecutorRemoved> executorsRemoved = new ArrayList<>();

  /** Every event log (finished or in progress) in {@code dir}, file by file in name order. */
  static SparkEventLog read(Path dir) throws IOException {
    SparkEventLog log = new SparkEventLog();
    Map<Integer, String> stageDescription = new HashMap<>();
    String app = "";
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.sorted().toList()) {
        for (String line : Files.readAllLines(f)) {
          JsonNode e;
          try {
            e = JSON.readTree(line);
          } catch (IOException cut) {
            continue; // the last line of a halted driver's log may be cut
          }
          if (e == null) {
            continue;
          }
          switch (e.path("Event").asText()) {
            case "SparkListenerApplicationStart" -> {
              app = e.path("App ID").asText();
              stageDescription.clear();
            }
            case "SparkListenerJobStart" -> {
              String d = e.path("Properties").path("spark.job.description").asText("");
              for (JsonNode s : e.path("Stage IDs")) {
                stageDescription.put(s.asInt(), d);
              }
            }
            case "SparkListenerExecutorRemoved" ->
                log.executorsRemoved.add(
                    new ExecutorRemoved(
                        app, e.path("Executor ID").asText(), e.path("Removed Reason").asText()));
            case "SparkListenerTaskEnd" -> {
              if (stageDescription
                  .getOrDefault(e.path("Stage ID").asInt(), "")
                  .startsWith("pretrain: round")) {
                log.roundTaskEnds.add(taskEnd(app, e));
              }
            }
            default -> {}
          }
        }
      }
    }
    return log;
  }

  private static TaskEnd taskEnd(String app, JsonNode e) {
    JsonNode info = e.path("Task Info");
    List<String> hashes = new ArrayList<>();
    for (JsonNode a : info.path("Accumulables")) {
      if (RoundTrainer.BATCH_SHA256_ACCUMULATOR.equals(a.path("Name").asText())) {
        String v = a.path("Update").asText().strip(); // a java.util.List's toString: [a, b]
        for (String h : v.substring(1, v.length() - 1).split(",")) {
          if (!h.isBlank()) {
            hashes.add(h.strip());
          }
        }
      }
    }
    return new TaskEnd(
        app,
        e.path("Stage ID").asInt(),
        info.path("Index").asInt(),
        info.path("Attempt").asInt(),
        info.path("Task ID").asLong(),
        info.path("Executor ID").asText(),
        e.path("Task End Reason").path("Reason").asText(),
        hashes);
  }

  /** The successful later attempt of a failed task (same application, stage and partition). */
  java.util.Optional<TaskEnd> rerunOf(TaskEnd failed) {
    return roundTaskEnds.stream()
        .filter(
            e ->
                e.app().equals(failed.app())
                    && e.stageId() == failed.stageId()
                    && e.index() == failed.index()
                    && e.attempt() > failed.attempt()
                    && e.reason().equals("Success"))
        .findFirst();
  }
}
