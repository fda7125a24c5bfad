package org.nestspark.model.conformer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;

/**
 * LayerNorm's java row passes give the nd4j ops' bits (output, dx, dγ, dβ), and both are PyTorch's LayerNorm
 * (checked here against a double-precision evaluation of the formula).
 */
class LayerNormOpTest {
  @AfterEach
  void restore() {
    ComputeThreads.apply(ComputeThreads.configured());
  }

  private static INDArray[] run(String kernels, DataType dt, int n, int d) {
    Nd4j.getRandom().setSeed(n * 31L + d);
    // parameters as DL4J holds them: views into one flat array, at an offset
    INDArray flat = Nd4j.randn(dt, 1, 3 + 2L * d);
    Map<String, INDArray> p = new HashMap<>();
    p.put(
        "w",
        flat.get(
            org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.interval(3, 3 + d)));
    p.put(
        "b",
        flat.get(
            org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.interval(3 + d, 3 + 2 * d)));
    INDArray x = Nd4j.randn(dt, n, d).muli(3).addi(1.5);
    INDArray dy = Nd4j.randn(dt, n, d);
    Map<String, INDArray> g = new HashMap<>();
    g.put("w", Nd4j.zeros(dt, 1, d));
    g.put("b", Nd4j.zeros(dt, 1, d));
    LayerNormOp ln = new LayerNormOp("w", "b", 1e-5, kernels);
    INDArray y = ln.forward(x, p);
    INDArray dx = ln.backward(dy, p, g);
    return new INDArray[] {x, p.get("w"), p.get("b"), y, dx, g.get("w"), g.get("b")};
  }

  @ParameterizedTest(name = "{0}, {1} threads, [{2}, {3}]")
  @CsvSource({"FLOAT, 1, 37, 176", "FLOAT, 3, 130, 64", "DOUBLE, 1, 9, 17", "DOUBLE, 3, 40, 33"})
  void javaRowsGiveTheNd4jBitsAndPyTorchsLayerNorm(DataType dt, int threads, int n, int d) {
    Parallel.setThreads(threads);
    INDArray[] j = run("java", dt, n, d);
    INDArray[] o = run("nd4j", dt, n, d);
    for (int i = 3; i < j.length; i++) {
      assertArrayEquals(
          o[i].dup('c').data().asDouble(), j[i].dup('c').data().asDouble(), 0.0, "array " + i);
    }
    // the formula, in double
    double[] x = j[0].castTo(DataType.DOUBLE).data().asDouble();
    double[] w = j[1].castTo(DataType.DOUBLE).dup().data().asDouble();
    double[] b = j[2].castTo(DataType.DOUBLE).dup().data().asDouble();
    double[] y = j[3].castTo(DataType.DOUBLE).data().asDouble();
    for (int r = 0; r < n; r++) {
      double mu = 0;
      for (int c = 0; c < d; c++) {
        mu += x[r * d + c] / d;
      }
      double var = 0;
      for (int c = 0; c < d; c++) {
        var += (x[r * d + c] - mu) * (x[r * d + c] - mu) / d;
      }
      for (int c = 0; c < d; c++) {
        double want = (x[r * d + c] - mu) / Math.sqrt(var + 1e-5) * w[c] + b[c];
        assertEquals(
            want, y[r * d + c], dt == DataType.FLOAT ? 2e-5 * (1 + Math.abs(want)) : 1e-12);
      }
    }
  }
}
