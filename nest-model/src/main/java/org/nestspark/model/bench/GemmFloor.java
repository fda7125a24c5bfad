package org.nestspark.model.bench;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.nn.CpuBlas;
import org.nestspark.model.subsampling.DepthwiseConv2dS2;

/**
 * The matrix products of one NEST training step replayed alone, at the shapes and with the ND4J calls the
 * layers use ({@code Nd4j.gemm} for Linear and pointwise layers, {@link CpuBlas#matmul} for the attention's
 * per-head products, as the {@code java} kernels run them), with nothing between them: the time a step would take if every other
 * operation (norms, softmax, activations, dropout, masks, the direct convolutions, the optimizer) were free.
 * Its rate is therefore the ceiling of the whole step's GFLOP/s ({@link NestFlops}) with ND4J's gemm on the
 * machine, which {@code bench train} prints next to the step's.
 *
 * <p>Per Conformer layer, forward: the two feed-forward modules' Linears, q/k/v/out and the positional
 * projection, the scores {@code (q+u)·kᵀ}, the positional scores {@code (q+v)·pᵀ}, probabilities × values,
 * the convolution module's two pointwise Linears; backward: for each Linear the weight gradient and (but for
 * the first layer's input) the input gradient and the bias column sums as the layers compute them (a
 * {@code 1×N} gemm), and the six batched products of the attention's backward. Subsampling: the two
 * pointwise convolutions and the output Linear, forward and backward (the first and depthwise convolutions
 * are direct Java loops, not products, and are left out: {@link #directConvFlops}). Decoder: the logits of
 * the selected positions and both gradients.
 */
final class GemmFloor {
  /**
   * One product {@code op(A)·op(B)} of {@code [m, k]·[k, n]}, {@code batch} times (batched matmul when > 1),
   * with A or B stored transposed as the layers store them.
   */
  record Product(int batch, long m, long n, long k, boolean transA, boolean transB) {
    Product(int batch, long m, long n, long k) {
      this(batch, m, n, k, false, false);
    }

    double flops() {
      return 2.0 * batch * m * n * k;
    }
  }

  private final List<Product> products;
  private final List<INDArray[]> arrays = new ArrayList<>();
  private static final java.util.concurrent.atomic.AtomicInteger IDS =
      new java.util.concurrent.atomic.AtomicInteger();
  private final int id = IDS.incrementAndGet();

  GemmFloor(NestFlops.Shape s, int heads) {
    this.products = products(s, heads);
    Nd4j.getRandom().setSeed(5);
    for (Product p : products) {
      if (p.batch() == 1) {
        arrays.add(
            new INDArray[] {
              p.transA()
                  ? Nd4j.rand(DataType.FLOAT, p.k(), p.m())
                  : Nd4j.rand(DataType.FLOAT, p.m(), p.k()),
              p.transB()
                  ? Nd4j.rand(DataType.FLOAT, p.n(), p.k())
                  : Nd4j.rand(DataType.FLOAT, p.k(), p.n()),
              Nd4j.createUninitialized(DataType.FLOAT, new long[] {p.m(), p.n()}, 'c')
            });
      } else {
        arrays.add(
            new INDArray[] {
              p.transA()
                  ? Nd4j.rand(DataType.FLOAT, p.batch(), p.k(), p.m())
                  : Nd4j.rand(DataType.FLOAT, p.batch(), p.m(), p.k()),
              p.transB()
                  ? Nd4j.rand(DataType.FLOAT, p.batch(), p.n(), p.k())
                  : Nd4j.rand(DataType.FLOAT, p.batch(), p.k(), p.n())
            });
      }
    }
  }

  /** The products of one training step of shape {@code s}. */
  static List<Product> products(NestFlops.Shape s, int h) {
    List<Product> l = new ArrayList<>();
    int t = s.frames();
    int f = s.featIn();
    long c = s.convChannels();
    long b = s.batch();
    for (int stage = 1; stage <= 3; stage++) {
      t = DepthwiseConv2dS2.outSize(t);
      f = DepthwiseConv2dS2.outSize(f);
      if (stage > 1) {
        linear(l, b * t * f, c, c, true, true);
      }
    }
    long tp = t;
    long n = b * tp;
    long d = s.dModel();
    linear(l, n, c * f, d, true, true);
    long rel = 2 * tp - 1;
    long dk = d / h;
    for (int layer = 0; layer < s.layers(); layer++) {
      for (int ff = 0; ff < 2; ff++) {
        linear(l, n, d, s.ffDim(), true, true);
        linear(l, n, s.ffDim(), d, true, true);
      }
      for (int q = 0; q < 4; q++) {
        linear(l, n, d, d, true, true); // q, k, v, out
      }
      linear(l, rel, d, d, false, true); // positional projection (no bias)
      int bh = (int) (h * b);
      l.add(new Product(bh, tp, tp, dk, false, true)); // scores (q+u)·kᵀ
      l.add(new Product(h, n, rel, dk, false, true)); // positional scores (q+v)·pᵀ
      l.add(new Product(bh, tp, dk, tp, false, false)); // probabilities × values
      // backward: dv, dprob, d(q+u), dk, d(q+v), dp
      l.add(new Product(bh, tp, dk, tp, true, false));
      l.add(new Product(bh, tp, tp, dk, false, true));
      l.add(new Product(bh, tp, dk, tp, false, false));
      l.add(new Product(bh, tp, dk, tp, true, false));
      l.add(new Product(h, n, dk, rel, false, false));
      l.add(new Product(h, rel, dk, n, true, false));
      linear(l, n, d, 2 * d, true, true); // pointwise 1
      linear(l, n, d, d, true, true); // pointwise 2
    }
    long sel = s.selected();
    linear(l, sel, d, s.classes(), true, true);
    return l;
  }

  /** A Linear {@code [rows, in] → [rows, out]}: forward, weight gradient, input gradient, bias sums. */
  private static void linear(
      List<Product> l, long rows, long in, long out, boolean bias, boolean dx) {
    l.add(new Product(1, rows, out, in, false, true)); // y = x·Wᵀ
    l.add(new Product(1, out, in, rows, true, false)); // dW = dyᵀ·x
    if (dx) {
      l.add(new Product(1, rows, in, out)); // dx = dy·W
    }
    if (bias) {
      l.add(new Product(1, 1, out, rows)); // db = 1ᵀ·dy
    }
  }

  /** FLOPs of the first and depthwise subsampling convolutions (direct loops, not replayed), forward + backward as NestFlops counts them. */
  static double directConvFlops(NestFlops.Shape s) {
    int t = s.frames();
    int f = s.featIn();
    double c = s.convChannels();
    double b = s.batch();
    double sum = 0;
    for (int stage = 1; stage <= 3; stage++) {
      t = DepthwiseConv2dS2.outSize(t);
      f = DepthwiseConv2dS2.outSize(f);
      double once = 2.0 * 9 * c * b * t * f;
      sum += stage == 1 ? 2 * once : 3 * once;
    }
    // the conformer convolution module's depthwise convolution over time, forward + 2 gradients
    sum +=
        3 * 2.0 * b * NestFlops.encoderSteps(s.frames()) * s.dModel() * s.convKernel() * s.layers();
    return sum;
  }

  double flops() {
    return products.stream().mapToDouble(Product::flops).sum();
  }

  int count() {
    return products.size();
  }

  /** Best-of-{@code reps} wall time of all products back to back, in milliseconds (after one warm-up pass). */
  double bestMillis(int reps) {
    runAll();
    double best = Double.MAX_VALUE;
    for (int r = 0; r < reps; r++) {
      long t0 = System.nanoTime();
      runAll();
      best = Math.min(best, (System.nanoTime() - t0) / 1e6);
    }
    return best;
  }

  /**
   * Best-of-{@code reps} wall time, in milliseconds, of every floor in {@code slices} replayed at once, each
   * on its own thread with single-threaded BLAS, as a sliced step runs its slices (after one warm-up).
   */
  static double concurrentMillis(GemmFloor[] slices, int reps) {
    org.nestspark.model.nn.ComputeThreads.enterSlicedStep();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(slices.length);
    try {
      double best = Double.MAX_VALUE;
      for (int r = 0; r <= reps; r++) {
        List<java.util.concurrent.Future<?>> fs = new ArrayList<>();
        long t0 = System.nanoTime();
        for (GemmFloor f : slices) {
          fs.add(pool.submit(f::runAll));
        }
        for (java.util.concurrent.Future<?> f : fs) {
          org.nestspark.model.nn.Parallel.join(f);
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        if (r > 0) {
          best = Math.min(best, ms);
        }
      }
      return best;
    } finally {
      pool.shutdown();
      org.nestspark.model.nn.ComputeThreads.exitSlicedStep();
    }
  }

  // the batched products' outputs come from a workspace, as in the layers (DL4J's working memory),
  // so the
  // replay times products, not the first touch of freshly allocated memory
  private static final WorkspaceConfiguration WORKSPACE =
      WorkspaceConfiguration.builder()
          .policyAllocation(AllocationPolicy.STRICT)
          .policyLearning(LearningPolicy.FIRST_LOOP)
          .build();

  private void runAll() {
    try (MemoryWorkspace ws =
        Nd4j.getWorkspaceManager().getAndActivateWorkspace(WORKSPACE, "GemmFloor-" + id)) {
      replay();
    }
  }

  private void replay() {
    for (int i = 0; i < products.size(); i++) {
      INDArray[] a = arrays.get(i);
      if (a.length == 3) {
        Product p = products.get(i);
        Nd4j.gemm(a[0], a[1], a[2], p.transA(), p.transB(), 1.0, 0.0);
      } else {
        Product p = products.get(i);
        CpuBlas.matmul(a[0], a[1], p.transA(), p.transB());
      }
    }
  }
}
