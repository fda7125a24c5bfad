package org.nestspark.model.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The batched products through OpenBLAS give libnd4j matmul's bits, on views at an offset too. */
class CpuBlasTest {
  private static INDArray at(DataType dt, int offset, long... shape) {
    long n = 1;
    for (long s : shape) {
      n *= s;
    }
    INDArray whole = Nd4j.randn(dt, offset + n + 3);
    return whole.get(NDArrayIndex.interval(offset, offset + n)).reshape('c', shape);
  }

  @ParameterizedTest(name = "{0} tA={1} tB={2} offset {3}")
  @CsvSource({
    "FLOAT, false, false, 0",
    "FLOAT, false, true, 5",
    "FLOAT, true, false, 0",
    "FLOAT, true, true, 9",
    "DOUBLE, false, true, 0",
    "DOUBLE, true, false, 3"
  })
  void sameBitsAsNd4jMatmul(DataType dt, boolean ta, boolean tb, int offset) {
    Nd4j.getRandom().setSeed(offset + (ta ? 10 : 0) + (tb ? 20 : 0));
    int n = 6;
    int m = 17;
    int k = 11;
    int p = 13;
    INDArray a = ta ? at(dt, offset, n, k, m) : at(dt, offset, n, m, k);
    INDArray b = tb ? at(dt, offset + 1, n, p, k) : at(dt, offset + 1, n, k, p);
    assertTrue(CpuBlas.applies(a, b));
    INDArray expected = Nd4j.matmul(a, b, ta, tb, false);
    INDArray actual = CpuBlas.matmul(a, b, ta, tb);
    assertArrayEquals(expected.shape(), actual.shape());
    assertArrayEquals(expected.dup('c').data().asDouble(), actual.data().asDouble(), 0.0);
  }

  @Test
  void otherLayoutsGoThroughNd4j() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 4, 5, 6);
    INDArray permuted =
        Nd4j.rand(DataType.FLOAT, 6, 4, 5).permute(1, 2, 0); // [4, 5, 6], not C-dense
    assertFalse(CpuBlas.applies(permuted, a));
    INDArray expected = Nd4j.matmul(permuted, a, false, true, false);
    assertArrayEquals(
        expected.data().asDouble(),
        CpuBlas.matmul(permuted, a, false, true).dup('c').data().asDouble(),
        0.0);
    assertFalse(CpuBlas.applies(a.castTo(DataType.INT32), a.castTo(DataType.INT32)));
  }

  @Test
  void mismatchedShapesAreRefusedWithBoth() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 2, 3, 4);
    INDArray b = Nd4j.rand(DataType.FLOAT, 2, 5, 6);
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> CpuBlas.matmul(a, b, false, false));
    assertTrue(
        e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("[2, 5, 6]"),
        e.getMessage());
  }
}
