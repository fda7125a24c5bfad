package org.nestspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TarredShardPlannerTest {
  /** 5 shards of 4 entries each: entry i is in shard i / 4. */
  private static final int[] SHARD_OF = {
    0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4
  };

  private static List<Integer> flat(List<int[]> plan) {
    List<Integer> out = new ArrayList<>();
    for (int[] b : plan) {
      for (int i : b) {
        out.add(i);
      }
    }
    return out;
  }

  @Test
  void oneWorkerWithoutShufflingIsManifestOrder() {
    List<int[]> plan =
        new TarredShardPlanner(SHARD_OF, 5, 1, "scatter", false, 2048, 3, true, 7)
            .plan(new double[20], 0);
    assertEquals(6, plan.size());
    assertArrayEquals(new int[] {0, 1, 2}, plan.get(0));
    assertArrayEquals(new int[] {15, 16, 17}, plan.get(5));
    List<int[]> keepLast =
        new TarredShardPlanner(SHARD_OF, 5, 1, "replicate", false, 0, 3, false, 7)
            .plan(new double[20], 0);
    assertEquals(7, keepLast.size());
    assertArrayEquals(new int[] {18, 19}, keepLast.get(6));
  }

  @Test
  void scatterGivesEachWorkerItsShardsAndLeavesTheRemainderUnread() {
    // 5 shards over 2 workers: 2 shards each (NeMo's floor), shard 4 unread; batches dealt
    // alternately
    List<int[]> plan =
        new TarredShardPlanner(SHARD_OF, 5, 2, "scatter", false, 0, 2, true, 7)
            .plan(new double[20], 0);
    assertEquals(8, plan.size());
    assertArrayEquals(new int[] {0, 1}, plan.get(0)); // worker 0: shards 0, 1
    assertArrayEquals(new int[] {8, 9}, plan.get(1)); // worker 1: shards 2, 3
    Set<Integer> w0 = new HashSet<>();
    Set<Integer> w1 = new HashSet<>();
    for (int i = 0; i < plan.size(); i++) {
      for (int e : plan.get(i)) {
        (i % 2 == 0 ? w0 : w1).add(SHARD_OF[e]);
      }
    }
    assertEquals(Set.of(0, 1), w0);
    assertEquals(Set.of(2, 3), w1);
    assertTrue(!flat(plan).contains(16), "shard 4 is the remainder");
    // shuffled: each epoch its own shard order, still disjoint shard sets per worker, 4 of 5 shards
    // read
    for (int epoch = 0; epoch < 3; epoch++) {
      List<int[]> p =
          new TarredShardPlanner(SHARD_OF, 5, 2, "scatter", true, 3, 2, true, 7)
              .plan(new double[20], epoch);
      Set<Integer> a = new HashSet<>();
      Set<Integer> b = new HashSet<>();
      for (int i = 0; i < p.size(); i++) {
        for (int e : p.get(i)) {
          (i % 2 == 0 ? a : b).add(SHARD_OF[e]);
        }
      }
      assertEquals(2, a.size());
      assertEquals(2, b.size());
      a.retainAll(b);
      assertTrue(a.isEmpty());
    }
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> new TarredShardPlanner(SHARD_OF, 5, 6, "scatter", false, 0, 2, true, 7));
    assertTrue(e.getMessage().contains("5 shards for 6 workers"), e.getMessage());
    assertThrows(
        IllegalArgumentException.class,
        () -> new TarredShardPlanner(SHARD_OF, 5, 1, "spread", false, 0, 2, true, 7));
  }

  @Test
  void replicateGivesEveryWorkerEveryShard() {
    List<int[]> plan =
        new TarredShardPlanner(SHARD_OF, 5, 2, "replicate", true, 4, 4, true, 7)
            .plan(new double[20], 1);
    assertEquals(10, plan.size());
    List<Integer> w0 = new ArrayList<>();
    List<Integer> w1 = new ArrayList<>();
    for (int i = 0; i < plan.size(); i++) {
      for (int e : plan.get(i)) {
        (i % 2 == 0 ? w0 : w1).add(e);
      }
    }
    assertEquals(20, new HashSet<>(w0).size());
    assertEquals(20, new HashSet<>(w1).size());
    assertNotEquals(w0, w1, "each worker its own order");
  }

  @Test
  void shuffleIsDeterministicPerEpochAndStaysWithinTheBuffersReach() {
    TarredShardPlanner p = new TarredShardPlanner(SHARD_OF, 5, 1, "scatter", true, 3, 2, true, 7);
    assertEquals(flat(p.plan(new double[20], 2)), flat(p.plan(new double[20], 2)));
    assertNotEquals(flat(p.plan(new double[20], 2)), flat(p.plan(new double[20], 3)));
    // WebDataset's buffer: an item leaves at most size-1 places before... it is emitted no earlier
    // than
    // (its position - size + 1), so a reader never has to go back more than the buffer
    List<Integer> in = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      in.add(i);
    }
    List<Integer> out = TarredShardPlanner.bufferShuffle(in, 8, new Random(1));
    assertEquals(new HashSet<>(in), new HashSet<>(out));
    for (int k = 0; k < out.size(); k++) {
      assertTrue(out.get(k) <= k + 7, "item " + out.get(k) + " emitted at " + k);
    }
    assertNotEquals(in, out);
  }
}
