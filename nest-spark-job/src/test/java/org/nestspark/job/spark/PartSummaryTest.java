package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** A task's summary: exact counts, the first skips by id as examples, at most {@link PartSummary#MAX_EXAMPLES} of them. */
class PartSummaryTest {
  @Test
  void keepsTheFirstSkipsByIdWhateverTheOrderTheyCameInAndCountsAll() {
    List<Long> ids =
        LongStream.range(0, 500).boxed().collect(Collectors.toCollection(ArrayList::new));
    Collections.shuffle(ids, new Random(7));
    PartSummary a = new PartSummary();
    PartSummary b = new PartSummary();
    for (int i = 0; i < ids.size(); i++) {
      (i % 2 == 0 ? a : b).skipped(ids.get(i), "m.json:" + (ids.get(i) + 1), "no such file");
    }
    a.written(1.5);
    b.written(2.0);
    b.existing();
    assertEquals(PartSummary.MAX_EXAMPLES, a.examples().size());
    PartSummary sum = a.merge(b);
    assertEquals(500, sum.skipped);
    assertEquals(2, sum.written);
    assertEquals(1, sum.existing);
    assertEquals(3.5, sum.audioSeconds, 1e-12);
    assertEquals(
        LongStream.range(0, PartSummary.MAX_EXAMPLES).boxed().collect(Collectors.toList()),
        sum.examples().stream().map(PartSummary.Skip::id).collect(Collectors.toList()));
    assertEquals("m.json:1", sum.examples().get(0).where());
  }
}
