package org.nestspark.job.extract;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.Npy;
import org.nestspark.job.spark.ManifestParts;
import org.nestspark.job.spark.SparkContexts;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;

/**
 * No driver funnel in extract (issue 12): the batches run in duration order, the tasks write their parts of
 * features.json, a task attempt that fails after writing its part is retried (Spark local[2,3]), and
 * features.json holds every utterance once, in input order, for both output formats.
 */
class ExtractFunnelTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aRetriedTaskLeavesEveryUtteranceOnceInInputOrder(@TempDir Path dir) throws Exception {
    // each golden WAV twice (lengths 0.37 s to 11 s: the duration-sorted batches mix the input
    // order), one missing file
    StringBuilder m = new StringBuilder();
    int n = 0;
    for (int rep = 0; rep < 2; rep++) {
      for (String name : ExtractTestSupport.SPEECH) {
        if (rep == 0) {
          ExtractTestSupport.copy(
              "features/wav/" + name + ".wav", dir.resolve("wav/" + name + ".wav"));
        }
        m.append("{\"audio_filepath\": \"wav/")
            .append(name)
            .append(".wav\", \"n\": ")
            .append(n++)
            .append("}\n");
      }
      m.append("{\"audio_filepath\": \"wav/missing").append(rep).append(".wav\"}\n");
    }
    Path manifest = dir.resolve("m.json");
    Files.writeString(manifest, m);
    NemoImport.Imported model =
        Restore.load(
            ExtractTestSupport.tinyNemo(dir).toString(),
            new Configuration(),
            List.of(),
            List.of(
                "spark.master=local[2,3]",
                "extract.batch_size=2",
                "extract.num_partitions=3",
                "extract.progress_interval_seconds=0"));
    AtomicInteger failures = new AtomicInteger();
    ManifestParts.afterPartWritten =
        task -> {
          if (task.partitionId() == 2 && task.attemptNumber() == 0) {
            failures.incrementAndGet();
            throw new IllegalStateException("test: task attempt fails once after writing its part");
          }
        };
    try (JavaSparkContext sc = SparkContexts.create(model.config(), "extract-funnel-test")) {
      for (String format : List.of("npy", "parquet")) {
        failures.set(0);
        Path out = dir.resolve("out-" + format);
        NemoImport.Imported m2 =
            new NemoImport.Imported(
                model.config().with(java.util.Map.of("extract.format", format)),
                model.graph(),
                model.frozen(),
                model.notes(),
                model.frozenModules());
        PrintStream log =
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        ExtractReport r = ExtractJob.run(sc, m2, manifest.toString(), out.toString(), "all", log);
        assertEquals(1, failures.get(), format + ": one attempt failed on purpose");
        assertEquals(
            10, r.extracted(), format + ": written " + r.written + ", existing " + r.existing);
        assertEquals(2, r.skippedCount, format);
        List<JsonNode> lines = new ArrayList<>();
        for (String l : Files.readAllLines(out.resolve("features.json"))) {
          lines.add(JSON.readTree(l));
        }
        assertEquals(
            IntStream.range(0, 10).boxed().collect(Collectors.toList()),
            lines.stream().map(l -> l.get("n").asInt()).collect(Collectors.toList()),
            format + ": each utterance once, in input order");
        for (JsonNode l : lines) {
          if (format.equals("npy")) {
            assertEquals(
                l.get("num_frames").asInt(),
                Npy.read(Path.of(l.get("feature_path").asText())).dim(2));
          } else {
            assertTrue(Files.size(Path.of(l.get("feature_path").asText())) > 0);
          }
        }
        assertEquals(
            List.of(manifest + ":6: ", manifest + ":12: "),
            Files.readAllLines(out.resolve("skipped.txt")).stream()
                .map(s -> s.substring(0, s.indexOf(": ") + 2))
                .collect(Collectors.toList()));
        try (Stream<Path> files = Files.list(out)) {
          assertEquals(
              List.of(),
              files
                  .map(p -> p.getFileName().toString())
                  .filter(f -> f.startsWith(".") || f.equals(ManifestParts.DIR))
                  .collect(Collectors.toList()),
              "no parts folder and no temporary file left");
        }
      }
    } finally {
      ManifestParts.afterPartWritten = null;
    }
  }
}
