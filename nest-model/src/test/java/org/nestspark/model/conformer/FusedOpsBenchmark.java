package org.nestspark.model.conformer;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nestspark.model.nn.ComputeThreads;

/**
 * Benchmark (a main, not a test) of the fused element-wise passes ({@link FusedOps}, {@code model.kernels =
 * java}) against the ND4J op chains they replace ({@code nd4j}), on NEST Small's shapes (float32, {@code
 * [1008, 176]} rows, GLU's {@code [1008, 352]}), one thread (as
 * inside a batch slice): old and new alternate in one process, best of {@code rounds} rounds of {@code
 * reps} calls each. Args: {@code [rounds=7 reps=20 rows=1008]}.
 */
public final class FusedOpsBenchmark {
  private FusedOpsBenchmark() {}

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    int n = args.length > 2 ? Integer.parseInt(args[2]) : 1008;
    ComputeThreads.apply(1);
    DataType dt = DataType.FLOAT;
    int d = 176;
    INDArray x = Nd4j.rand(dt, n, d);
    INDArray dy = Nd4j.rand(dt, n, d);
    INDArray res = Nd4j.rand(dt, n, d);
    INDArray mask = Ops.dropoutMask(true, 0.1, dt, n, d);
    INDArray g2 = Nd4j.rand(dt, n, 2 * d);
    INDArray rowMask = Nd4j.ones(dt, n, 1);
    Map<String, INDArray> p = new HashMap<>();
    p.put("w", Nd4j.rand(dt, d));
    p.put("b", Nd4j.rand(dt, d));
    Map<String, INDArray> gr = new HashMap<>();
    gr.put("w", Nd4j.zeros(dt, d));
    gr.put("b", Nd4j.zeros(dt, d));

    LayerNormOp lnRef = new LayerNormOp("w", "b", 1e-5);
    LayerNormOp lnFused = new LayerNormOp("w", "b", 1e-5);
    lnRef.forward(x, p, false);
    lnFused.forward(x, p, true);

    compare(
        "LayerNorm forward [n,176]",
        rounds,
        reps,
        () -> lnRef.forward(x, p, false),
        () -> lnFused.forward(x, p, true));
    compare(
        "LayerNorm backward + residual",
        rounds,
        reps,
        () -> lnRef.backward(dy, p, gr, res),
        () -> lnFused.backward(dy, p, gr, res));
    compare(
        "residual x + 0.5·(f⊙m)",
        rounds,
        reps,
        () -> x.add(Ops.applyMask(dy, mask).mul(0.5)),
        () -> FusedOps.residualAdd(x, dy, mask, 0.5));
    compare(
        "GLU + row mask [n,352]",
        rounds,
        reps,
        () -> {
          INDArray ga = g2.get(NDArrayIndex.all(), NDArrayIndex.interval(0, d));
          INDArray gs =
              Transforms.sigmoid(g2.get(NDArrayIndex.all(), NDArrayIndex.interval(d, 2 * d)), true);
          return ga.mul(gs).muliColumnVector(rowMask);
        },
        () -> FusedOps.glu(g2, rowMask)[1]);
    System.out.println("(each row: the same " + reps + " calls, old = ND4J ops, new = fused)");
  }

  private static void compare(
      String what, int rounds, int reps, Supplier<INDArray> old, Supplier<INDArray> fused) {
    double bestOld = Double.MAX_VALUE;
    double bestNew = Double.MAX_VALUE;
    for (int r = 0; r < rounds; r++) {
      bestOld = Math.min(bestOld, time(old, reps));
      bestNew = Math.min(bestNew, time(fused, reps));
    }
    System.out.printf(
        Locale.ROOT,
        "%-34s old %7.3f ms  new %7.3f ms  (%.2fx)%n",
        what,
        bestOld,
        bestNew,
        bestNew / bestOld);
  }

  private static double time(Supplier<INDArray> op, int reps) {
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      op.get();
    }
    return (System.nanoTime() - t0) / 1e6 / reps;
  }
}
