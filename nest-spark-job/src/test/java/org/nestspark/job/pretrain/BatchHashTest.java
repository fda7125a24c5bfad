package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

class BatchHashTest {
  private static MultiDataSet batch(float[] features, long[] shape, float[] mask) {
    INDArray f = Nd4j.createFromArray(features).reshape(shape);
    INDArray m = Nd4j.createFromArray(mask).reshape(1, mask.length);
    return new MultiDataSet(new INDArray[] {f}, new INDArray[0], new INDArray[] {m}, null);
  }

  @Test
  void equalContentHashesEqualAndAnyDifferenceShows() {
    float[] x = {0.5f, -1f, 2f, 3.25f, 0f, 7f};
    String h = BatchHash.sha256(batch(x, new long[] {1, 2, 3}, new float[] {1, 1, 0}));
    assertEquals(64, h.length());
    assertEquals(
        h,
        BatchHash.sha256(batch(x.clone(), new long[] {1, 2, 3}, new float[] {1, 1, 0})),
        "rebuilt batch");
    float[] y = x.clone();
    y[3] = Math.nextUp(y[3]);
    assertNotEquals(
        h,
        BatchHash.sha256(batch(y, new long[] {1, 2, 3}, new float[] {1, 1, 0})),
        "one value one ulp off");
    assertNotEquals(
        h,
        BatchHash.sha256(batch(x, new long[] {1, 3, 2}, new float[] {1, 1, 0})),
        "same values, other shape");
    assertNotEquals(
        h, BatchHash.sha256(batch(x, new long[] {1, 2, 3}, new float[] {1, 0, 0})), "other mask");
  }

  @Test
  void aViewHashesLikeItsCopy() {
    INDArray big = Nd4j.createFromArray(new float[] {1, 2, 3, 4, 5, 6, 7, 8}).reshape(2, 4);
    INDArray view =
        big.get(
            org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3));
    MultiDataSet a = new MultiDataSet(new INDArray[] {view}, new INDArray[0]);
    MultiDataSet b =
        new MultiDataSet(
            new INDArray[] {Nd4j.createFromArray(new float[] {2, 3, 6, 7}).reshape(2, 2)},
            new INDArray[0]);
    assertEquals(BatchHash.sha256(b), BatchHash.sha256(a));
  }
}
