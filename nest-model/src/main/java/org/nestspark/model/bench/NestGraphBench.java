package org.nestspark.model.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.NestGraph;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Kernels;
import org.nestspark.model.nn.PartTimer;
import org.nestspark.model.nn.PartTimer.Part;
import org.nestspark.train.AdamW;
import org.nestspark.train.DecoupledWeightDecay;
import org.nestspark.train.SliceTiming;
import org.nestspark.train.SlicedEval;
import org.nestspark.train.TrainStep;

/**
 * Speed of the whole NEST graph on the CPU (not a test): the Small preset (d 176, 4 heads, 16 layers, 256
 * subsampling channels, 8192 classes, dropouts 0.1), a batch of 8 × 10 s (1008 frames, 1000 valid → 126
 * encoder steps, about a third of the tokens selected, as NEST's masking gives), for 1 and 2 threads:
 * eval forward, training forward + backward ({@code computeGradientAndScore}), a full training step ({@code TrainStep.fit}: its guards, then DL4J's {@code fit}; above 1 thread also with one batch slice per thread)
 * (AdamW, as pretraining runs it), in milliseconds and seconds of audio per second; ND4J's own sgemm GFLOP/s at the same thread
 * count in the same run (2048³, and the feed-forward's shape); the fit step's wall time per part
 * ({@link PartTimer}) with each part's achieved GFLOP/s ({@link NestFlops}: matrix products only) next
 * to sgemm's. Arguments: {@code [iterations=3] [threads=1,2] [batch=8] [seconds=10] [kernels=auto]}, the
 * last a comma list of {@code model.kernels} values ({@link Kernels}: e.g. {@code java,nd4j} measures both
 * in one run; each row says which ran).
 *
 * <p>Run: {@code java -Xmx5g -Dorg.bytedeco.javacpp.maxbytes=6g -Dorg.bytedeco.javacpp.maxphysicalbytes=12g
 * -cp nest-model/target/classes:$(deps) org.nestspark.model.bench.NestGraphBench}, or {@code bin/nest bench
 * train}. Thread counts are set at run time for every pool ({@link ComputeThreads#apply}). Cap JavaCPP's off-heap memory as shown:
 * arrays allocated outside workspaces are freed only after a garbage collection, and with the default
 * caps (derived from -Xmx) the process can grow past a small machine's memory.
 */
public final class NestGraphBench {
  private NestGraphBench() {}

  public static void main(String[] args) {
    int iters = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    String threadList = args.length > 1 ? args[1] : "1,2";
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 8;
    double seconds = args.length > 3 ? Double.parseDouble(args[3]) : 10.0;
    String kernelList = args.length > 4 ? args[4] : "auto";
    int valid = (int) Math.round(seconds * 100);
    int frames = (valid + 1 + 15) / 16 * 16; // NeMo: floor(N/160)+1 STFT frames, padded to 16
    frames = Math.max(frames, (valid + 15) / 16 * 16);
    double audioSeconds = batch * seconds;

    ComputationGraph g =
        NestGraph.builder()
            .dModel(176)
            .nHeads(4)
            .nLayers(16)
            .subsamplingConvChannels(256)
            .updater(new AdamW(1e-4, 0.9, 0.98, 1e-8, 1e-3))
            .build();
    MultiDataSet ds = data(batch, frames, valid, 8192);
    int selected = (int) ds.getLabelsMaskArray(0).sumNumber().doubleValue();
    System.out.printf(
        Locale.ROOT,
        "NEST Small graph: %,d parameters; batch %d x %.1f s (%d frames, %d valid, %d encoder steps), %d selected tokens%n",
        g.numParams(),
        batch,
        seconds,
        frames,
        valid,
        ds.getLabels(0).size(2),
        selected);
    System.out.println("threads: " + ComputeThreads.describe());
    NestFlops.Shape shape =
        new NestFlops.Shape(
            batch, frames, 80, 176, 4 * 176, 256, 9, 16, 8192, selected, g.numParams());
    Map<Part, Double> stepFlops = NestFlops.trainingStep(shape);
    double evalFlops = NestFlops.total(NestFlops.forward(shape, false));

    List<String> summary = new ArrayList<>();
    Map<Part, Long> oneThreadParts = null;
    double oneThreadFloorMs = 0;
    for (String ks : kernelList.split(",")) {
      System.setProperty(Kernels.PROPERTY, Kernels.parse(ks).configName());
      String kernels = Kernels.resolve(null).configName();
      for (String ts : threadList.split(",")) {
        int threads = Integer.parseInt(ts.strip());
        setThreads(threads);
        System.out.printf(
            Locale.ROOT,
            "%n== %d thread%s, model.kernels=%s (%s) ==%n",
            threads,
            threads == 1 ? "" : "s",
            ks.strip(),
            kernels);
        double sgemm = sgemmGflops(2048, 2048, 2048, 3);
        double sgemmFf = sgemmGflops(batch * (int) ds.getLabels(0).size(2), 704, 176, 10);
        System.out.printf(
            Locale.ROOT,
            "ND4J sgemm 2048^3      %8.1f GFLOP/s   (model shape %dx176 * 176x704: %.1f GFLOP/s)%n",
            sgemm,
            batch * ds.getLabels(0).size(2),
            sgemmFf);
        // the ceiling: the step's matrix products alone, as the layers call them
        GemmFloor floor = new GemmFloor(shape, 4);
        double floorMs = floor.bestMillis(3);
        double floorGf = floor.flops() / (floorMs / 1e3) / 1e9;
        System.out.printf(
            Locale.ROOT,
            "matrix products alone   %8.0f ms  %6.1f GFLOP/s = %.0f %% of ND4J sgemm: the step's %d products"
                + " (%.1f GFLOP) back to back, the ceiling of the step's rate; not in them:"
                + " direct convolutions %.1f GFLOP, optimizer %.2f GFLOP%n",
            floorMs,
            floorGf,
            100 * floorGf / sgemm,
            floor.count(),
            floor.flops() / 1e9,
            GemmFloor.directConvFlops(shape) / 1e9,
            stepFlops.get(Part.OPTIMIZER) / 1e9);
        if (threads > 1 && batch % threads == 0) {
          // the same products cut into one slice per thread, run at once with 1-thread BLAS each
          // (what a
          // sliced step's products can do at best)
          GemmFloor[] cut = new GemmFloor[threads];
          for (int i = 0; i < threads; i++) {
            cut[i] =
                new GemmFloor(
                    new NestFlops.Shape(
                        batch / threads,
                        frames,
                        80,
                        176,
                        4 * 176,
                        256,
                        9,
                        16,
                        8192,
                        selected / threads,
                        g.numParams()),
                    4);
          }
          double cutMs = GemmFloor.concurrentMillis(cut, 3);
          double aloneMs = GemmFloor.concurrentMillis(new GemmFloor[] {cut[0]}, 3);
          System.out.printf(
              Locale.ROOT,
              "matrix products, %d slices at once %6.0f ms  %6.1f GFLOP/s (1-thread BLAS each; one slice"
                  + " alone %.0f ms; %s)%n",
              threads,
              cutMs,
              threads * cut[0].flops() / (cutMs / 1e3) / 1e9,
              aloneMs,
              oneThreadFloorMs > 0
                  ? String.format(
                      Locale.ROOT, "%.2fx the 1-thread products' time", cutMs / oneThreadFloorMs)
                  : "no 1-thread figure in this run");
        }
        if (threads == 1) {
          oneThreadFloorMs = floorMs;
        }
        // the fit step is a TrainStep (what the pretraining workers run: its guards, then DL4J's
        // fit), unsliced
        // here and sliced below, so both rows count the same work
        TrainStep plainStep = new TrainStep(g, 1, 0.0, 1);
        // warm-up
        g.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays());
        fwdBwd(g, ds);
        plainStep.fit(ds);
        double fwd = Double.MAX_VALUE;
        double fb = Double.MAX_VALUE;
        double step = Double.MAX_VALUE;
        double opt = Double.MAX_VALUE;
        Map<Part, Long> parts = null;
        for (int i = 0; i < iters; i++) {
          long t0 = System.nanoTime();
          g.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays());
          long t1 = System.nanoTime();
          fwdBwd(g, ds);
          long t2 = System.nanoTime();
          optimizerStep(g, batch);
          long t3 = System.nanoTime();
          PartTimer.reset();
          PartTimer.setEnabled(true);
          plainStep.fit(ds);
          PartTimer.setEnabled(false);
          long t4 = System.nanoTime();
          fwd = Math.min(fwd, (t1 - t0) / 1e6);
          fb = Math.min(fb, (t2 - t1) / 1e6);
          opt = Math.min(opt, (t3 - t2) / 1e6);
          if ((t4 - t3) / 1e6 < step) {
            step = (t4 - t3) / 1e6;
            parts = PartTimer.snapshot();
          }
        }
        // the same step with the batch cut into one slice per thread (trainer.batch_slices), each
        // slice on its
        // own replica and thread with single-threaded ops; equal to the unsliced step up to
        // rounding
        double sliced = Double.NaN;
        double slicedFwd = Double.NaN;
        double slicedOwn = Double.NaN;
        SliceTiming ownTiming = null;
        SliceTiming sliceTiming = null;
        Map<Part, Long> slicedParts = null;
        if (threads > 1) {
          // eval forward as slices (SlicedEval: what validation runs): no rendezvous in eval mode
          SlicedEval eval = new SlicedEval(g, threads);
          String[] outs = g.getConfiguration().getNetworkOutputs().toArray(new String[0]);
          eval.output(outs, ds.getFeatures(), ds.getFeaturesMaskArrays());
          slicedFwd = Double.MAX_VALUE;
          for (int i = 0; i < iters; i++) {
            long s0 = System.nanoTime();
            eval.output(outs, ds.getFeatures(), ds.getFeaturesMaskArrays());
            slicedFwd = Math.min(slicedFwd, (System.nanoTime() - s0) / 1e6);
          }
          TrainStep slicedStep = new TrainStep(g, 1, 0.0, threads);
          slicedStep.fit(ds);
          sliced = Double.MAX_VALUE;
          for (int i = 0; i < iters; i++) {
            PartTimer.reset();
            PartTimer.setEnabled(true);
            long s0 = System.nanoTime();
            slicedStep.fit(ds);
            double ms = (System.nanoTime() - s0) / 1e6;
            PartTimer.setEnabled(false);
            if (ms < sliced) {
              sliced = ms;
              sliceTiming = SliceTiming.last();
              slicedParts = PartTimer.snapshot();
            }
          }
          // and with each slice's own BatchNorm statistics (trainer.sync_batchnorm=false): no
          // rendezvous
          TrainStep ownStep = new TrainStep(g, 1, 0.0, threads, false);
          ownStep.fit(ds);
          slicedOwn = Double.MAX_VALUE;
          for (int i = 0; i < iters; i++) {
            long s0 = System.nanoTime();
            ownStep.fit(ds);
            double ms = (System.nanoTime() - s0) / 1e6;
            if (ms < slicedOwn) {
              slicedOwn = ms;
              ownTiming = SliceTiming.last();
            }
          }
          g.setListeners(new java.util.ArrayList<>());
        }
        double stepGf = NestFlops.total(stepFlops) / (step / 1e3) / 1e9;
        double evalGf = evalFlops / (fwd / 1e3) / 1e9;
        System.out.printf(
            Locale.ROOT,
            "eval forward            %8.0f ms  %6.1f s audio/s  %6.1f GFLOP/s (%.1f GFLOP)%n",
            fwd,
            audioSeconds / (fwd / 1e3),
            evalGf,
            evalFlops / 1e9);
        if (threads > 1) {
          System.out.printf(
              Locale.ROOT,
              "eval forward, %d slices %8.0f ms  %6.1f s audio/s  %6.1f GFLOP/s%n",
              threads,
              slicedFwd,
              audioSeconds / (slicedFwd / 1e3),
              evalFlops / (slicedFwd / 1e3) / 1e9);
        }
        System.out.printf(
            Locale.ROOT,
            "train forward+backward  %8.0f ms  %6.1f s audio/s%n",
            fb,
            audioSeconds / (fb / 1e3));
        System.out.printf(
            Locale.ROOT,
            "fit step (incl. AdamW)  %8.0f ms  %6.1f s audio/s  %6.1f GFLOP/s (%.1f GFLOP) = %.0f %% of ND4J sgemm%n",
            step,
            audioSeconds / (step / 1e3),
            stepGf,
            NestFlops.total(stepFlops) / 1e9,
            100 * stepGf / sgemm);
        if (threads > 1) {
          double slicedGf = NestFlops.total(stepFlops) / (sliced / 1e3) / 1e9;
          System.out.printf(
              Locale.ROOT,
              "fit step, %d batch slices %6.0f ms  %6.1f s audio/s  %6.1f GFLOP/s = %.0f %% of ND4J sgemm%n",
              threads,
              sliced,
              audioSeconds / (sliced / 1e3),
              slicedGf,
              100 * slicedGf / sgemm);
          System.out.println("  sliced step, where the time went: " + sliceTiming);
          if (oneThreadParts != null) {
            // each part's wall time in one slice (the slices' sum over their number) next to half
            // of
            // its 1-thread time: what perfect scaling would give; above 1.00 the part loses to the
            // second thread (memory bandwidth, smaller products), not to waiting
            System.out.printf(
                Locale.ROOT,
                "  sliced step by part (ms per slice; ideal = 1-thread ms / %d):%n  %-28s %8s %8s %7s%n",
                threads,
                "part",
                "slice",
                "ideal",
                "ratio");
            for (Part p : Part.values()) {
              if (p == Part.OPTIMIZER) {
                continue;
              }
              double perSlice = slicedParts.get(p) / 1e6 / threads;
              double ideal = oneThreadParts.get(p) / 1e6 / threads;
              System.out.printf(
                  Locale.ROOT,
                  "  %-28s %8.0f %8.0f %7.2f%n",
                  p.name().toLowerCase(Locale.ROOT).replace('_', '-'),
                  perSlice,
                  ideal,
                  perSlice / ideal);
            }
          }
          double ownGf = NestFlops.total(stepFlops) / (slicedOwn / 1e3) / 1e9;
          System.out.printf(
              Locale.ROOT,
              "fit step, %d slices, own BatchNorm statistics (sync_batchnorm=false) %6.0f ms  %6.1f GFLOP/s = %.0f %% of ND4J sgemm%n",
              threads,
              slicedOwn,
              ownGf,
              100 * ownGf / sgemm);
          System.out.println("  where the time went: " + ownTiming);
        }
        System.out.printf(
            Locale.ROOT,
            "vs NeMo on this machine (full step 9.3 s = 8.6 s audio/s, forward 15 s audio/s): step %.2fx NeMo's time, forward %.2fx%n",
            step / 9300.0,
            (audioSeconds / 15.0) / (fwd / 1e3));
        System.out.printf(
            Locale.ROOT, "fit step by part (FLOPs: matrix products only, see NestFlops):%n");
        System.out.printf(
            Locale.ROOT, "  %-28s %8s %8s %9s %7s%n", "part", "ms", "GFLOP", "GFLOP/s", "sgemm%");
        double measured = 0;
        for (Part p : Part.values()) {
          double ms = p == Part.OPTIMIZER ? opt : parts.get(p) / 1e6;
          measured += ms;
          double gfl = stepFlops.get(p) / 1e9;
          String label =
              p == Part.LAYER_OTHER
                  ? "layer rest (norms, residuals)"
                  : p.name().toLowerCase(Locale.ROOT).replace('_', '-')
                      + (p == Part.OPTIMIZER ? " (AdamW, timed apart)" : "");
          if (gfl > 0) {
            double rate = gfl / (ms / 1e3);
            System.out.printf(
                Locale.ROOT,
                "  %-28s %8.0f %8.2f %9.1f %6.0f%%%n",
                label,
                ms,
                gfl,
                rate,
                100 * rate / sgemm);
          } else {
            System.out.printf(Locale.ROOT, "  %-28s %8.0f %8s %9s %7s%n", label, ms, "-", "-", "-");
          }
        }
        System.out.printf(
            Locale.ROOT,
            "  %-28s %8.0f %8s %9s %7s%n",
            "DL4J graph, rest of fit",
            step - measured,
            "-",
            "-",
            "-");
        if (threads == 1) {
          oneThreadParts = parts;
        }
        double best = threads > 1 ? Math.min(step, sliced) : step;
        double bestGf = NestFlops.total(stepFlops) / (best / 1e3) / 1e9;
        summary.add(
            String.format(
                Locale.ROOT,
                "%7s %7d %10.0f %12s %10.0f %12s %10.1f %10.1f %10.1f %8.0f%% %8.0f%%",
                kernels,
                threads,
                step,
                threads > 1 ? String.format(Locale.ROOT, "%.0f", sliced) : "-",
                fwd,
                threads > 1 ? String.format(Locale.ROOT, "%.0f", slicedFwd) : "-",
                sgemm,
                floorGf,
                bestGf,
                100 * floorGf / sgemm,
                100 * bestGf / sgemm));
      }
    }
    System.clearProperty(Kernels.PROPERTY);
    System.out.printf(
        Locale.ROOT,
        "%nsummary (same run; best step = the faster of unsliced and sliced; products = the step's matrix"
            + " products alone)%n%7s %7s %10s %12s %10s %12s %10s %10s %10s %9s %9s%n",
        "kernels",
        "threads",
        "fit ms",
        "sliced fit ms",
        "eval ms",
        "sliced eval ms",
        "sgemm GF/s",
        "prod. GF/s",
        "best GF/s",
        "prod/sgemm",
        "best/sgemm");
    summary.forEach(System.out::println);
  }

  /** Best-of-{@code reps} GFLOP/s of {@code Nd4j.gemm} on {@code [m, k]·[k, n]} floats (after one warm-up). */
  static double sgemmGflops(int m, int n, int k, int reps) {
    Nd4j.getRandom().setSeed(3);
    INDArray a = Nd4j.rand(DataType.FLOAT, m, k);
    INDArray b = Nd4j.rand(DataType.FLOAT, k, n);
    INDArray c = Nd4j.createUninitialized(DataType.FLOAT, m, n);
    Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
    double best = Double.MAX_VALUE;
    for (int i = 0; i < reps; i++) {
      long t0 = System.nanoTime();
      Nd4j.gemm(a, b, c, false, false, 1.0, 0.0);
      best = Math.min(best, (System.nanoTime() - t0) / 1e9);
    }
    return 2.0 * m * n * k / best / 1e9;
  }

  /**
   * One optimizer step on the last gradient, as {@code fit} does it (AdamW's decoupled decay, the
   * updater, then params −= update).
   */
  private static void optimizerStep(ComputationGraph g, int batch) {
    DecoupledWeightDecay.apply(g, g.getIterationCount(), g.getEpochCount());
    g.getUpdater()
        .update(
            g.gradient(),
            g.getIterationCount(),
            g.getEpochCount(),
            batch,
            LayerWorkspaceMgr.noWorkspaces());
    g.params().subi(g.gradient().gradient());
  }

  private static void fwdBwd(ComputationGraph g, MultiDataSet ds) {
    g.setInputs(ds.getFeatures());
    g.setLabels(ds.getLabels());
    g.setLayerMaskArrays(ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
    g.computeGradientAndScore();
  }

  static void setThreads(int n) {
    ComputeThreads.apply(n);
  }

  static MultiDataSet data(int batch, int frames, int valid, int classes) {
    Nd4j.getRandom().setSeed(1);
    INDArray x = Nd4j.randn(DataType.FLOAT, batch, 80, frames);
    INDArray fMask = Nd4j.zeros(DataType.FLOAT, batch, frames);
    fMask
        .get(
            org.nd4j.linalg.indexing.NDArrayIndex.all(),
            org.nd4j.linalg.indexing.NDArrayIndex.interval(0, valid))
        .assign(1);
    int tEnc = (frames + 7) / 8;
    int validEnc = (valid + 7) / 8;
    Random r = new Random(2);
    INDArray labels = Nd4j.create(DataType.FLOAT, batch, 1, tEnc);
    INDArray lMask = Nd4j.zeros(DataType.FLOAT, batch, tEnc);
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < tEnc; t++) {
        labels.putScalar(b, 0, t, r.nextInt(classes));
        if (t < validEnc && r.nextDouble() < 0.3) {
          lMask.putScalar(b, t, 1);
        }
      }
    }
    return new MultiDataSet(
        new INDArray[] {x},
        new INDArray[] {labels},
        new INDArray[] {fMask},
        new INDArray[] {lMask});
  }
}
