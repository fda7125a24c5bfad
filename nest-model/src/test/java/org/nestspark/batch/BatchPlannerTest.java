package org.nestspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class BatchPlannerTest {
  private static double[] durations(int n, long seed) {
    Random r = new Random(seed);
    return IntStream.range(0, n).mapToDouble(i -> 1 + 19 * r.nextDouble()).toArray();
  }

  @Test
  void everyEntryOnceAndOnlyFullBatchesWithDropLast() {
    double[] d = durations(103, 1);
    List<int[]> plan = new BatchPlanner(8, true, true, 10, 42).plan(d, 0);
    assertEquals(103 / 8, plan.size());
    int[] seen = new int[103];
    for (int[] b : plan) {
      assertEquals(8, b.length);
      for (int i : b) {
        seen[i]++;
      }
    }
    assertEquals(96, Arrays.stream(seen).sum());
    assertTrue(Arrays.stream(seen).allMatch(c -> c <= 1));
  }

  @Test
  void keepLastWithoutDropLast() {
    List<int[]> plan = new BatchPlanner(8, false, false, 1, 42).plan(durations(20, 2), 0);
    assertEquals(3, plan.size());
    assertArrayEquals(
        new int[] {0, 1, 2, 3, 4, 5, 6, 7},
        plan.get(0),
        "no shuffle, no bucketing: manifest order");
    assertEquals(4, plan.get(2).length);
  }

  @Test
  void bucketingGroupsSimilarDurations() {
    double[] d = durations(800, 3);
    double plainSpread = meanSpread(new BatchPlanner(8, true, true, 1, 7).plan(d, 0), d);
    double bucketSpread = meanSpread(new BatchPlanner(8, true, true, 50, 7).plan(d, 0), d);
    // uniform 1..20 s: random batches of 8 span ~15 s; sorted pools of 400 span ~0.4 s
    assertTrue(plainSpread > 10, "plain " + plainSpread);
    assertTrue(bucketSpread < 1, "bucketed " + bucketSpread);
  }

  private static double meanSpread(List<int[]> plan, double[] d) {
    return plan.stream()
        .mapToDouble(
            b ->
                Arrays.stream(b).mapToDouble(i -> d[i]).max().getAsDouble()
                    - Arrays.stream(b).mapToDouble(i -> d[i]).min().getAsDouble())
        .average()
        .getAsDouble();
  }

  @Test
  void deterministicPerSeedAndEpochAndDifferentAcrossEpochs() {
    double[] d = durations(200, 4);
    BatchPlanner p = new BatchPlanner(8, true, true, 5, 42);
    List<int[]> a = p.plan(d, 3);
    List<int[]> b = new BatchPlanner(8, true, true, 5, 42).plan(d, 3);
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), b.get(i));
    }
    List<int[]> other = p.plan(d, 4);
    boolean differs = false;
    for (int i = 0; i < a.size(); i++) {
      differs |= !Arrays.equals(a.get(i), other.get(i));
    }
    assertTrue(differs);
    assertFalse(Arrays.equals(a.get(0), new BatchPlanner(8, true, true, 5, 43).plan(d, 3).get(0)));
  }

  @Test
  void unknownDurationsSortAsZeroAndBadSizesAreRefused() {
    double[] d = {Double.NaN, 5, -1, 3};
    List<int[]> plan = new BatchPlanner(2, false, true, 2, 1).plan(d, 0);
    assertArrayEquals(new int[] {0, 2}, plan.get(0));
    assertThrows(IllegalArgumentException.class, () -> new BatchPlanner(0, true, true, 1, 1));
  }
}
