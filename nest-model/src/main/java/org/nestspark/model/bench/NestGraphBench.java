package org.nestspark.model.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.memory.conf.WorkspaceConfiguration;
import org.nd4j.linalg.api.memory.enums.AllocationPolicy;
import org.nd4j.linalg.api.memory.enums.LearningPolicy;
import org.nd4j.linalg.api.memory.enums.ResetPolicy;
import org.nd4j.linalg.api.memory.enums.SpillPolicy;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.nn.Parallel;

/**
 * Speed of the whole NEST graph on the CPU (not a test): the Small preset (d 176, 4 heads, 16 layers, 256
 * subsampling channels, 8192 classes, dropouts 0.1), a batch of 8 × 10 s (1008 frames, 1000 valid → 126
 * encoder steps, about a third of the tokens selected, as NEST's masking gives), for 1 and 2 threads:
 * eval forward, training forward + backward ({@code computeGradientAndScore}), a full {@code fit} step
 * (Adam), in milliseconds and seconds of audio per second, and a per-layer profile of forward and
 * backward (layer by layer, with workspaces like DL4J's). Arguments: {@code [iterations=3] [threads=1,2] [batch=8] [seconds=10]}.
 *
 * <p>Run: {@code java -Xmx5g -Dorg.bytedeco.javacpp.maxbytes=6g -Dorg.bytedeco.javacpp.maxphysicalbytes=12g
 * -cp nest-model/target/classes:$(deps) org.nestspark.model.bench.NestGraphBench}. Thread counts are set at
 * run time for ND4J (OpenMP and BLAS) and for the Java kernels. Cap JavaCPP's off-heap memory as shown:
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
    int valid = (int) Math.round(seconds * 100);
    int frames = (valid + 1 + 15) / 16 * 16; // NeMo: floor(N/160)+1 STFT frames, padded to 16
    frames = Math.max(frames, (valid + 15) / 16 * 16);
    double audioSeconds = batch * seconds;

    ComputationGraph g = NestGraph.builder().dModel(176).nHeads(4).nLayers(16).subsamplingConvChannels(256)
        .updater(new Adam(1e-4)).build();
    MultiDataSet ds = data(batch, frames, valid, 8192);
    System.out.printf(Locale.ROOT, "NEST Small graph: %,d parameters; batch %d x %.1f s (%d frames, %d valid, %d encoder steps), %d selected tokens%n",
        g.numParams(), batch, seconds, frames, valid, ds.getLabels(0).size(2), (long) ds.getLabelsMaskArray(0).sumNumber().doubleValue());

    for (String ts : threadList.split(",")) {
      int threads = Integer.parseInt(ts.strip());
      setThreads(threads);
      System.out.printf(Locale.ROOT, "%n== %d thread%s ==%n", threads, threads == 1 ? "" : "s");
      // warm-up
      g.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays());
      fwdBwd(g, ds);
      double fwd = Double.MAX_VALUE;
      double fb = Double.MAX_VALUE;
      double step = Double.MAX_VALUE;
      for (int i = 0; i < iters; i++) {
        long t0 = System.nanoTime();
        g.output(false, ds.getFeatures(), ds.getFeaturesMaskArrays());
        long t1 = System.nanoTime();
        fwdBwd(g, ds);
        long t2 = System.nanoTime();
        g.fit(ds);
        long t3 = System.nanoTime();
        fwd = Math.min(fwd, (t1 - t0) / 1e6);
        fb = Math.min(fb, (t2 - t1) / 1e6);
        step = Math.min(step, (t3 - t2) / 1e6);
      }
      System.out.printf(Locale.ROOT, "eval forward            %8.0f ms  %6.1f s audio/s%n", fwd, audioSeconds / (fwd / 1e3));
      System.out.printf(Locale.ROOT, "train forward+backward  %8.0f ms  %6.1f s audio/s%n", fb, audioSeconds / (fb / 1e3));
      System.out.printf(Locale.ROOT, "fit step (incl. Adam)   %8.0f ms  %6.1f s audio/s%n", step, audioSeconds / (step / 1e3));
      System.out.printf(Locale.ROOT, "vs NeMo on this machine (full step 9.3 s = 8.6 s audio/s, forward 15 s audio/s): step %.2fx NeMo's time, forward %.2fx%n",
          step / 9300.0, (audioSeconds / 15.0) / (fwd / 1e3));
      profile(g, ds, iters);
    }
  }

  private static void fwdBwd(ComputationGraph g, MultiDataSet ds) {
    g.setInputs(ds.getFeatures());
    g.setLabels(ds.getLabels());
    g.setLayerMaskArrays(ds.getFeaturesMaskArrays(), ds.getLabelsMaskArrays());
    g.computeGradientAndScore();
  }

  static void setThreads(int n) {
    Nd4j.getEnvironment().setMaxThreads(n);
    Nd4j.getEnvironment().setMaxMasterThreads(n);
    Nd4j.factory().blas().setMaxThreads(n);
    Parallel.setThreads(n);
  }

  static MultiDataSet data(int batch, int frames, int valid, int classes) {
    Nd4j.getRandom().setSeed(1);
    INDArray x = Nd4j.randn(DataType.FLOAT, batch, 80, frames);
    INDArray fMask = Nd4j.zeros(DataType.FLOAT, batch, frames);
    fMask.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, valid)).assign(1);
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
    return new MultiDataSet(new INDArray[] {x}, new INDArray[] {labels}, new INDArray[] {fMask}, new INDArray[] {lMask});
  }

  /** Workspaces like DL4J's training loop: activations for the whole pass, working memory per layer. */
  static LayerWorkspaceMgr workspaces() {
    WorkspaceConfiguration cfg = WorkspaceConfiguration.builder().initialSize(0).overallocationLimit(0.05)
        .policyLearning(LearningPolicy.FIRST_LOOP).policyReset(ResetPolicy.BLOCK_LEFT).policySpill(SpillPolicy.REALLOCATE)
        .policyAllocation(AllocationPolicy.OVERALLOCATE).build();
    return LayerWorkspaceMgr.builder()
        .with(ArrayType.ACTIVATIONS, "PROFILE_ACT", cfg).with(ArrayType.INPUT, "PROFILE_ACT", cfg)
        .with(ArrayType.ACTIVATION_GRAD, "PROFILE_GRAD", cfg)
        .with(ArrayType.FF_WORKING_MEM, "PROFILE_WM", cfg).with(ArrayType.BP_WORKING_MEM, "PROFILE_WM", cfg)
        .with(ArrayType.RNN_FF_LOOP_WORKING_MEM, "PROFILE_RNN", cfg).with(ArrayType.RNN_BP_LOOP_WORKING_MEM, "PROFILE_RNN", cfg)
        .with(ArrayType.UPDATER_WORKING_MEM, "PROFILE_UPD", cfg)
        .build();
  }

  /** Forward and backward time per vertex, layer by layer with DL4J-like workspaces. */
  static void profile(ComputationGraph g, MultiDataSet ds, int iters) {
    List<String> names = new ArrayList<>();
    names.add(NestGraph.PRE_ENCODE);
    for (int i = 0; i < NestGraph.numLayers(g); i++) {
      names.add(NestGraph.layerName(i));
    }
    names.add(NestGraph.DECODER);
    Map<String, double[]> best = new LinkedHashMap<>();
    LayerWorkspaceMgr mgr = workspaces();
    for (int it = 0; it <= iters; it++) {
      try (MemoryWorkspace wsAct = mgr.notifyScopeEntered(ArrayType.ACTIVATIONS)) {
        profileOnce(g, ds, names, mgr, best, it > 0);
      }
    }
    report(g, best, iters);
  }

  private static void profileOnce(ComputationGraph g, MultiDataSet ds, List<String> names, LayerWorkspaceMgr mgr,
      Map<String, double[]> best, boolean record) {
    {
      INDArray mask = ds.getFeaturesMaskArray(0);
      INDArray act = ds.getFeatures(0);
      Map<String, Double> fwd = new LinkedHashMap<>();
      for (String n : names) {
        Layer l = g.getLayer(n);
        l.setInput(act, mgr);
        if (n.equals(NestGraph.DECODER)) {
          ((MultiSoftmaxDecoderImpl) l).setLabels(ds.getLabels(0));
          l.setMaskArray(ds.getLabelsMaskArray(0));
          fwd.put(n, 0.0); // the output layer's training forward runs inside its backward
        } else {
          mask = l.feedForwardMaskArray(mask, MaskState.Active, (int) act.size(0)).getFirst();
          long t0 = System.nanoTime();
          try (MemoryWorkspace wm = mgr.notifyScopeEntered(ArrayType.FF_WORKING_MEM)) {
            act = l.activate(true, mgr);
          }
          fwd.put(n, (System.nanoTime() - t0) / 1e6);
        }
      }
      try (MemoryWorkspace wsGrad = mgr.notifyScopeEntered(ArrayType.ACTIVATION_GRAD)) {
        INDArray eps = null;
        for (int i = names.size() - 1; i >= 0; i--) {
          String n = names.get(i);
          long t0 = System.nanoTime();
          try (MemoryWorkspace wm = mgr.notifyScopeEntered(ArrayType.BP_WORKING_MEM)) {
            eps = g.getLayer(n).backpropGradient(eps, mgr).getSecond();
          }
          double bwd = (System.nanoTime() - t0) / 1e6;
          if (record) {
            double[] b = best.computeIfAbsent(n, k -> new double[] {Double.MAX_VALUE, Double.MAX_VALUE});
            b[0] = Math.min(b[0], fwd.get(n));
            b[1] = Math.min(b[1], bwd);
          }
        }
      }
      for (String n : names) {
        g.getLayer(n).clear();
      }
    }
  }

  private static void report(ComputationGraph g, Map<String, double[]> best, int iters) {
    System.out.println("per-layer profile (training mode, best of " + iters + "; the decoder's forward is inside its backward):");
    double sf = 0;
    double sb = 0;
    double layersF = 0;
    double layersB = 0;
    for (Map.Entry<String, double[]> e : best.entrySet()) {
      double[] b = e.getValue();
      sf += b[0];
      sb += b[1];
      if (e.getKey().startsWith("layer")) {
        layersF += b[0];
        layersB += b[1];
        if (!e.getKey().equals("layer0")) {
          continue;
        }
      }
      System.out.printf(Locale.ROOT, "  %-10s forward %7.0f ms  backward %7.0f ms%n", e.getKey(), b[0], b[1]);
    }
    System.out.printf(Locale.ROOT, "  %-10s forward %7.0f ms  backward %7.0f ms  (all %d ConformerLayers)%n", "layers", layersF, layersB,
        NestGraph.numLayers(g));
    System.out.printf(Locale.ROOT, "  %-10s forward %7.0f ms  backward %7.0f ms%n", "total", sf, sb);
  }
}
