package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.util.LongAccumulator;
import org.junit.jupiter.api.Test;

/** Skip reasons from many tasks: the driver keeps the first {@code max}, the count beside it stays exact. */
class FirstItemsAccumulatorTest {
  @Test
  void keepsAtMostMaxItemsFromAnyNumberOfTasks() {
    SparkConf conf =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("first-items")
            .set("spark.ui.enabled", "false")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.driver.host", "127.0.0.1");
    try (JavaSparkContext sc = new JavaSparkContext(conf)) {
      FirstItemsAccumulator reasons = new FirstItemsAccumulator(25);
      sc.sc().register(reasons, "reasons");
      LongAccumulator count = sc.sc().longAccumulator("count");
      List<Integer> ids = IntStream.range(0, 5000).boxed().collect(Collectors.toList());
      sc.parallelize(ids, 8)
          .foreach(
              i -> {
                reasons.add("m.json:" + (i + 1) + ": no such file");
                count.add(1);
              });
      assertEquals(5000, count.value());
      List<String> kept = reasons.value();
      assertEquals(25, kept.size());
      assertTrue(
          kept.stream().allMatch(s -> s.matches("m\\.json:\\d+: no such file")), kept.toString());
      assertEquals(25, kept.stream().distinct().count());
      reasons.reset();
      assertTrue(reasons.isZero());
      sc.parallelize(List.of(1, 2, 3), 3).foreach(i -> reasons.add("r" + i));
      assertEquals(
          List.of("r1", "r2", "r3"),
          reasons.value().stream().sorted().collect(Collectors.toList()));
    }
  }
}
