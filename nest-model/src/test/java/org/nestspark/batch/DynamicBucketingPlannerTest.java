package org.nestspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class DynamicBucketingPlannerTest {
  /** 600 utterances of 1-20 s, plus four of 35-50 s (longer than the 30 s batches below). */
  private static double[] corpus() {
    Random r = new Random(7);
    double[] d = new double[604];
    for (int i = 0; i < 600; i++) {
      d[i] = 1 + 19 * r.nextDouble();
    }
    d[600] = 35;
    d[601] = 50;
    d[602] = 41.5;
    d[603] = 30.000001;
    return d;
  }

  private static int[] uses(List<int[]> plan, int n) {
    int[] seen = new int[n];
    for (int[] b : plan) {
      for (int i : b) {
        seen[i]++;
      }
    }
    return seen;
  }

  @Test
  void batchesNeverExceedBatchDurationExceptALongCutAlone() {
    double[] d = corpus();
    DynamicBucketingPlanner p = new DynamicBucketingPlanner(30, 0, 10, 0, true, false, 42);
    assertEquals(4, p.oversizeCuts(d), "35, 50, 41.5 and 30.000001 s cost more than 30 s");
    for (int epoch = 0; epoch < 3; epoch++) {
      int alone = 0;
      for (int[] b : p.plan(d, epoch)) {
        double sum = 0;
        double longest = 0;
        for (int i : b) {
          sum += d[i];
          longest = Math.max(longest, d[i]);
        }
        if (longest > 30) {
          assertEquals(1, b.length, "a cut longer than batch_duration is a batch of its own");
          alone++;
        } else {
          assertTrue(b.length * longest <= 30, "padded cost " + b.length * longest);
          assertTrue(sum <= 30);
        }
      }
      assertEquals(4, alone);
    }
  }

  @Test
  void everyCutOncePerEpochWithoutDropLast() {
    double[] d = corpus();
    DynamicBucketingPlanner p = new DynamicBucketingPlanner(60, 0, 8, 0, true, false, 3);
    for (int epoch = 0; epoch < 3; epoch++) {
      assertTrue(
          Arrays.stream(uses(p.plan(d, epoch), d.length)).allMatch(c -> c == 1), "epoch " + epoch);
    }
  }

  @Test
  void dropLastDropsAtMostOneIncompleteBatchPerBucket() {
    double[] d = corpus();
    int buckets = 8;
    DynamicBucketingPlanner p = new DynamicBucketingPlanner(60, 0, buckets, 0, true, true, 3);
    double[] bins = p.bins(d);
    List<int[]> plan = p.plan(d, 0);
    int[] seen = uses(plan, d.length);
    assertTrue(Arrays.stream(seen).allMatch(c -> c <= 1));
    int[] droppedPerBucket = new int[bins.length + 1];
    double[] droppedLongest = new double[bins.length + 1];
    for (int i = 0; i < d.length; i++) {
      if (seen[i] == 0) {
        int b = DynamicBucketingPlanner.bucketOf(bins, d[i]);
        droppedPerBucket[b]++;
        droppedLongest[b] = Math.max(droppedLongest[b], d[i]);
      }
    }
    int dropped = Arrays.stream(droppedPerBucket).sum();
    assertTrue(dropped > 0, "this corpus leaves incomplete batches");
    for (int b = 0; b <= bins.length; b++) {
      // what was dropped would have been one batch that still had room for a cut as long as its
      // longest
      assertTrue(
          (droppedPerBucket[b] + 1) * droppedLongest[b] <= 60,
          "bucket " + b + ": " + droppedPerBucket[b] + " cuts dropped");
    }
    assertEquals(d.length - dropped, Arrays.stream(seen).sum());
  }

  @Test
  void samePlanForSameSeedAndEpochOnlyThen() {
    double[] d = corpus();
    List<int[]> a = new DynamicBucketingPlanner(45, 16, 10, 20, true, true, 11).plan(d, 2);
    List<int[]> b = new DynamicBucketingPlanner(45, 16, 10, 20, true, true, 11).plan(d, 2);
    assertEquals(a.size(), b.size());
    for (int i = 0; i < a.size(); i++) {
      assertArrayEquals(a.get(i), b.get(i));
    }
    assertFalse(
        Arrays.equals(
            a.get(0),
            new DynamicBucketingPlanner(45, 16, 10, 20, true, true, 11).plan(d, 3).get(0)),
        "another epoch");
    assertFalse(
        Arrays.equals(
            a.get(0),
            new DynamicBucketingPlanner(45, 16, 10, 20, true, true, 12).plan(d, 2).get(0)),
        "another seed");
  }

  @Test
  void resumeMidEpochContinuesWithTheUninterruptedBatches() {
    double[] d = corpus();
    // uninterrupted: epochs 0-2 back to back
    DynamicBucketingPlanner first = new DynamicBucketingPlanner(40, 0, 12, 0, true, true, 5);
    List<int[]> uninterrupted = new ArrayList<>();
    int[] epochStart = new int[3];
    for (int e = 0; e < 3; e++) {
      epochStart[e] = uninterrupted.size();
      uninterrupted.addAll(first.plan(d, e));
    }
    // a run stopped after batch 17 of epoch 1 and restarted in a fresh process: a new planner, the
    // data position (1, 17)
    DynamicBucketingPlanner restarted = new DynamicBucketingPlanner(40, 0, 12, 0, true, true, 5);
    List<int[]> resumed =
        new ArrayList<>(restarted.plan(d, 1).subList(17, restarted.plan(d, 1).size()));
    resumed.addAll(restarted.plan(d, 2));
    List<int[]> expected = uninterrupted.subList(epochStart[1] + 17, uninterrupted.size());
    assertEquals(expected.size(), resumed.size());
    for (int i = 0; i < expected.size(); i++) {
      assertArrayEquals(expected.get(i), resumed.get(i), "batch " + i + " after the resume point");
    }
  }

  @Test
  void quadraticDurationCostsDPlusDSquaredOverQ() {
    DynamicBucketingPlanner p = new DynamicBucketingPlanner(100, 0, 1, 20, false, false, 0);
    assertEquals(10 + 100 / 20.0, p.cost(10), 1e-12);
    assertEquals(40, p.cost(20), 1e-12, "twice d at d = quadratic_duration");
    assertEquals(1.05, p.cost(1), 1e-12);
    assertEquals(
        3.0,
        new DynamicBucketingPlanner(100, 0, 1, 0, false, false, 0).cost(3.0),
        0,
        "no quadratic term when unset");

    // 12 cuts of 10 s in 100 s: 10 per batch linearly, 6 with quadratic_duration = 20 (15 s each)
    double[] d = new double[12];
    Arrays.fill(d, 10);
    List<int[]> linear = new DynamicBucketingPlanner(100, 0, 1, 0, false, false, 0).plan(d, 0);
    List<int[]> quadratic = p.plan(d, 0);
    assertEquals(List.of(10, 2), linear.stream().map(b -> b.length).toList());
    assertEquals(List.of(6, 6), quadratic.stream().map(b -> b.length).toList());
    for (int[] b : quadratic) {
      assertTrue(p.batchCost(b, d) <= 100);
    }
  }

  @Test
  void bucketsHoldAboutEqualAudioTimeAndBatchesStayInOneBucket() {
    // lhotse's estimate_duration_buckets on 1..10 s with 5 buckets: 55 s / 5 = 11 s per bucket
    double[] tiny = {7, 3, 10, 1, 5, 9, 2, 8, 4, 6};
    DynamicBucketingPlanner five = new DynamicBucketingPlanner(30, 0, 5, 0, true, false, 1);
    assertArrayEquals(new double[] {6, 8, 10}, five.bins(tiny));
    assertEquals(0, DynamicBucketingPlanner.bucketOf(new double[] {6, 8, 10}, 5.99));
    assertEquals(
        1,
        DynamicBucketingPlanner.bucketOf(new double[] {6, 8, 10}, 6),
        "bins[i-1] <= d < bins[i]");
    assertEquals(3, DynamicBucketingPlanner.bucketOf(new double[] {6, 8, 10}, 10));

    double[] d = corpus();
    DynamicBucketingPlanner p = new DynamicBucketingPlanner(60, 0, 10, 0, true, false, 9);
    double[] bins = p.bins(d);
    assertTrue(bins.length >= 7 && bins.length <= 9, Arrays.toString(bins));
    double[] audio = new double[bins.length + 1];
    for (double v : d) {
      audio[DynamicBucketingPlanner.bucketOf(bins, v)] += v;
    }
    double total = Arrays.stream(d).sum();
    for (int b = 0; b < bins.length; b++) { // the last bucket takes the remainder
      assertTrue(
          audio[b] > total / 10 && audio[b] < total / 10 + 50.1,
          "bucket " + b + " holds " + audio[b] + " s");
    }
    for (int[] batch : p.plan(d, 0)) {
      Set<Integer> bucketsInBatch = new HashSet<>();
      for (int i : batch) {
        bucketsInBatch.add(DynamicBucketingPlanner.bucketOf(bins, d[i]));
      }
      assertEquals(1, bucketsInBatch.size());
    }
    // one bucket: every batch is filled in shuffled order regardless of duration
    assertEquals(0, new DynamicBucketingPlanner(60, 0, 1, 0, true, false, 9).bins(d).length);
  }

  @Test
  void batchSizeCapsTheCutsPerBatch() {
    double[] d = new double[50];
    Arrays.fill(d, 1.0);
    List<int[]> plan = new DynamicBucketingPlanner(100, 8, 4, 0, false, false, 0).plan(d, 0);
    assertEquals(List.of(8, 8, 8, 8, 8, 8, 2), plan.stream().map(b -> b.length).toList());
    List<int[]> dropped = new DynamicBucketingPlanner(100, 8, 4, 0, false, true, 0).plan(d, 0);
    assertEquals(
        6, dropped.size(), "the last 2 cuts are not close to full and drop_last drops them");
  }

  @Test
  void rejectsImpossibleSettings() {
    assertThrows(
        IllegalArgumentException.class,
        () -> new DynamicBucketingPlanner(0, 0, 1, 0, true, true, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new DynamicBucketingPlanner(Double.POSITIVE_INFINITY, 0, 1, 0, true, true, 0));
    assertThrows(
        IllegalArgumentException.class,
        () -> new DynamicBucketingPlanner(10, 0, 0, 0, true, true, 0));
  }
}
