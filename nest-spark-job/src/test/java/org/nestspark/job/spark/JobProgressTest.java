package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.executor.ExecutorMetrics;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;
import scala.Option;
import scala.Tuple2;
import scala.Tuple4;
import scala.collection.JavaConverters;

/** Progress lines of featurize/extract: the line's numbers, and the counts a real Spark job reports through the listener. */
class JobProgressTest {
  @Test
  void lineHasDoneTotalRateAndEta() {
    assertEquals(
        "[featurize] 250/1,000 utterances (25.0 %) | 25.0 utterances/s | 250.0 audio-s/s | ETA 0m30s",
        JobProgress.line("featurize", "utterances", 1000, 250, 2500, 10));
    assertEquals(
        "[extract] 0/7,200 utterances (0.0 %) | 0.0 utterances/s | 0.0 audio-s/s | ETA unknown",
        JobProgress.line("extract", "utterances", 7200, 0, 0, 3));
    // 100 of 7,200 in 50 s: 2/s, 7,100 left -> 3,550 s
    assertTrue(
        JobProgress.line("extract", "utterances", 7200, 100, 0, 50)
            .endsWith("| 2.0 utterances/s | 0.0 audio-s/s | ETA 59m10s"));
    assertTrue(JobProgress.line("x", "utterances", 10_000, 1, 0, 1).endsWith("ETA 2h46m39s"));
    // a task counted twice (speculation) never shows more than the total
    assertEquals(
        "[featurize] 4/4 utterances (100.0 %) | 0.4 utterances/s | 1.0 audio-s/s | done",
        JobProgress.line("featurize", "utterances", 4, 5, 10, 10));
  }

  @Test
  void countsFinishedTasksAndRunningTasksHeartbeats() throws Exception {
    SparkConf conf =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("JobProgressTest")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.driver.host", "127.0.0.1");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      List<Long> taskIds = java.util.Collections.synchronizedList(new ArrayList<>());
      sc.sc()
          .addSparkListener(
              new org.apache.spark.scheduler.SparkListener() {
                @Override
                public void onTaskEnd(org.apache.spark.scheduler.SparkListenerTaskEnd end) {
                  taskIds.add(end.taskInfo().taskId());
                }
              });
      List<Integer> items = IntStream.range(0, 40).boxed().toList();
      JobProgress p =
          JobProgress.start(
              sc,
              "featurize",
              "utterances",
              items.size(),
              3600,
              new PrintStream(log, true, StandardCharsets.UTF_8));
      LongAccumulator done = p.done();
      DoubleAccumulator audio = p.audioSeconds();
      List<Integer> out =
          sc.parallelize(items, 4)
              .map(
                  i -> {
                    done.add(1);
                    audio.add(0.5);
                    return i;
                  })
              .collect();
      assertEquals(40, out.size());
      sc.sc().listenerBus().waitUntilEmpty();
      JobProgress.Listener l = p.listener();
      assertEquals(40, l.done(), "every finished task's count reached the driver's listener");
      assertEquals(20.0, l.audioSeconds(), 1e-9);

      // a running task's partial values, as an executor heartbeat carries them
      AccumulableInfo partialDone =
          new AccumulableInfo(
              done.id(),
              Option.apply("d"),
              Option.apply((Object) 7L),
              Option.apply((Object) 7L),
              false,
              true,
              Option.empty());
      AccumulableInfo partialAudio =
          new AccumulableInfo(
              audio.id(),
              Option.apply("a"),
              Option.apply((Object) 3.5),
              Option.apply((Object) 3.5),
              false,
              true,
              Option.empty());
      List<Tuple4<Object, Object, Object, scala.collection.Seq<AccumulableInfo>>> updates =
          new ArrayList<>();
      updates.add(
          new Tuple4<>(
              99_999L,
              0,
              0,
              JavaConverters.asScalaBuffer(List.of(partialDone, partialAudio)).toSeq()));
      l.onExecutorMetricsUpdate(
          new SparkListenerExecutorMetricsUpdate(
              "0",
              JavaConverters.asScalaBuffer(updates).toSeq(),
              new scala.collection.mutable.HashMap<Tuple2<Object, Object>, ExecutorMetrics>()));
      assertEquals(47, l.done());
      assertEquals(23.5, l.audioSeconds(), 1e-9);
      // a heartbeat of a task that already ended (delivered late) is not counted on top of its
      // final values
      assertEquals(4, taskIds.size());
      l.onExecutorMetricsUpdate(
          new SparkListenerExecutorMetricsUpdate(
              "0",
              JavaConverters.asScalaBuffer(
                      List.of(
                          new Tuple4<Object, Object, Object, scala.collection.Seq<AccumulableInfo>>(
                              taskIds.get(0),
                              0,
                              0,
                              JavaConverters.asScalaBuffer(List.of(partialDone)).toSeq())))
                  .toSeq(),
              new scala.collection.mutable.HashMap<Tuple2<Object, Object>, ExecutorMetrics>()));
      assertEquals(47, l.done());
      p.close();
    }
    String text = log.toString(StandardCharsets.UTF_8);
    // no periodic line within an hour's interval: only the last line, from the accumulators' merged
    // values
    assertEquals(1, text.lines().count(), text);
    assertTrue(text.startsWith("[featurize] 40/40 utterances (100.0 %) | "), text);
    assertTrue(text.strip().endsWith("| done"), text);
  }

  @Test
  void intervalZeroPrintsNothingAndNegativeIsRefused() throws Exception {
    SparkConf conf =
        new SparkConf()
            .setMaster("local[1]")
            .setAppName("JobProgressTest")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.driver.host", "127.0.0.1");
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      PrintStream ps = new PrintStream(log, true, StandardCharsets.UTF_8);
      try (JobProgress p = JobProgress.start(sc, "extract", "utterances", 3, 0, ps)) {
        LongAccumulator done = p.done();
        sc.parallelize(List.of(1, 2, 3), 1).foreach(i -> done.add(1));
        assertEquals(3L, done.value());
      }
      assertThrows(
          IllegalArgumentException.class,
          () -> JobProgress.start(sc, "extract", "utterances", 3, -1, ps));
    }
    assertEquals("", log.toString(StandardCharsets.UTF_8));
  }
}
