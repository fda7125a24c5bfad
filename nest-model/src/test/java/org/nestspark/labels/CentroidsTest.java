package org.nestspark.labels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.nestspark.io.Npy;

/** Nearest-centroid assignment, the canonical order and the centroids file. */
class CentroidsTest {
  @Test
  void assignsTheNearestCentroidAndTiesToTheLowestIndex() {
    Centroids c = new Centroids(new double[][] {{0, 0}, {10, 0}, {0, 10}});
    assertEquals(0, c.nearest(new float[] {1, 1}, 0));
    assertEquals(1, c.nearest(new float[] {99, 99, 9, 1}, 2));
    assertEquals(2, c.nearest(new double[] {-1, 7}));
    assertEquals(0, c.nearest(new double[] {5, 0}), "equidistant from 0 and 1");
  }

  @Test
  void canonicalOrderIsLexicographic() {
    Centroids c = Centroids.canonical(new double[][] {{3, 1}, {-2, 5}, {3, 0}});
    assertArrayEquals(new double[] {-2, 5}, c.centroid(0));
    assertArrayEquals(new double[] {3, 0}, c.centroid(1));
    assertArrayEquals(new double[] {3, 1}, c.centroid(2));
  }

  @Test
  void writesAndReadsTheFileAndRejectsBadOnes() throws Exception {
    Centroids c = new Centroids(new double[][] {{1.5, -2}, {0.25, 8}});
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    c.write(b);
    Centroids back = Centroids.read(new ByteArrayInputStream(b.toByteArray()), "c.npy");
    assertEquals(2, back.k());
    assertArrayEquals(c.centroid(1), back.centroid(1));
    ByteArrayOutputStream bad = new ByteArrayOutputStream();
    Npy.write(bad, new int[] {4}, new long[] {1, 2, 3, 4});
    IOException e =
        assertThrows(
            IOException.class,
            () -> Centroids.read(new ByteArrayInputStream(bad.toByteArray()), "bad.npy"));
    assertEquals("bad.npy: expected centroids [k, D], got shape [4]", e.getMessage());
    ByteArrayOutputStream nan = new ByteArrayOutputStream();
    Npy.write(nan, new int[] {1, 2}, new double[] {1, Double.NaN});
    e =
        assertThrows(
            IOException.class,
            () -> Centroids.read(new ByteArrayInputStream(nan.toByteArray()), "nan.npy"));
    assertEquals("nan.npy: centroid 0 is not finite", e.getMessage());
  }
}
