package org.nestspark.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiMLMLoss;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.SliceGroup;

/**
 * One optimiser step whose batch is cut into slices along the batch axis, each slice's forward and backward
 * run at the same time on its own thread and its own replica of the graph with single-threaded ops
 * ({@code trainer.batch_slices}); measured on 2 cores this uses a second core far better than two threads
 * inside every op (see README, "Threads").
 *
 * <p>The step computes what the whole batch computes, up to float rounding and dropout draws:
 *
 * <ul>
 *   <li>every slice keeps the batch's padded length, and the conformer BatchNorm statistics are summed over
 *       all slices ({@link SliceGroup#allReduceSum}: NeMo's {@code SyncBatchNorm});
 *   <li>the masked-token loss of each slice is divided by the selected positions of the whole batch, so the
 *       slices' losses and gradients add up to the batch's;
 *   <li>the gradients are combined on the caller's graph by a listener that runs before gradient clipping
 *       and weight decay (DL4J's {@code onGradientCalculation}), in slice order. DL4J's gradients are "summed
 *       over the minibatch" (the updater divides by the batch size); every slice scales its loss gradient by
 *       the whole batch's size B (so the BatchNorm sums across slices in backprop are on one scale), and
 *       DL4J divides the merged gradient by slice 0's size b_0, so the merge is {@code (b_0 / B) Σ_i g_i};
 *       the BatchNorm running-statistic updates, which DL4J does not divide, are the same in every slice
 *       and taken from slice 0;
 *   <li>DL4J's {@code fit} on slice 0 then applies the updater to the combined gradient: one optimiser step,
 *       one iteration, the caller's graph alone holds the optimiser state.
 * </ul>
 *
 * <p>Dropout masks come from each slice thread's own ND4J RNG, seeded per step and slice, so a sliced run
 * is reproducible for a given slice count (not bit-identical to an unsliced one when dropout is on).
 */
final class SlicedStep {
  private final ComputationGraph graph;
  private final int slices;
  private final ComputationGraph[] replicas;
  private final boolean syncBatchNorm;

  /** The slices' threads, shared by every sliced step of the JVM (idle ones end after a minute). */
  static final ExecutorService POOL =
      Executors.newCachedThreadPool(
          r -> {
            Thread t = new Thread(r, "nest-batch-slice");
            t.setDaemon(true);
            return t;
          });

  private final MergeListener merge = new MergeListener();

  SlicedStep(ComputationGraph graph, int slices, boolean syncBatchNorm) {
    if (slices < 2) {
      throw new IllegalArgumentException("a sliced step needs at least 2 slices: " + slices);
    }
    this.graph = graph;
    this.slices = slices;
    this.replicas = new ComputationGraph[slices];
    this.syncBatchNorm = syncBatchNorm;
  }

  /** Whether {@code l} is a sliced step's merge listener (a graph gets at most one, from its TrainStep). */
  static boolean isMergeListener(Object l) {
    return l instanceof MergeListener;
  }

  /** The listener that merges the slices' gradients; it must run before every other gradient listener. */
  BaseTrainingListener listener() {
    return merge;
  }

  int slices() {
    return slices;
  }

  /** The seed of slice {@code slice}'s RNG for a step whose unsliced seed is {@code stepSeed}. */
  static long sliceSeed(long stepSeed, int slice) {
    return slice == 0 ? stepSeed : TrainStep.stepSeed(stepSeed, slice);
  }

  /** Whether the current step's gradients have been merged (from the merge listener on, until the next step). */
  boolean merged() {
    return merge.merged;
  }

  /** The whole batch's score, the sum of every slice's; valid when {@link #merged()}. */
  double mergedScore() {
    return merge.score;
  }

  /**
   * Fits {@code batch} as {@code min(slices, batch size)} slices; the caller's graph takes one optimiser step.
   * Returns the whole batch's score; the decoder's last metrics are the whole batch's.
   */
  double fit(MultiDataSet batch, long stepSeed) {
    long tStart = System.nanoTime();
    int b = (int) batch.getFeatures(0).size(0);
    int parts = Math.min(slices, b);
    SliceGroup group = new SliceGroup(parts, b, selectedTokens(batch), syncBatchNorm);
    MultiDataSet[] cut = new MultiDataSet[parts];
    int[] sizes = new int[parts];
    for (int i = 0; i < parts; i++) {
      int from = (int) ((long) i * b / parts);
      int to = (int) ((long) (i + 1) * b / parts);
      cut[i] = slice(batch, from, to);
      sizes[i] = to - from;
    }
    List<Future<Metrics>> futures = new ArrayList<>();
    merge.threadsRestored = false;
    ComputeThreads.enterSlicedStep();
    try {
      ComputationGraph[] rs = new ComputationGraph[parts];
      for (int i = 1; i < parts; i++) {
        rs[i] = replica(graph, replicas, i);
      }
      long tRun = System.nanoTime();
      for (int i = 1; i < parts; i++) {
        final int idx = i;
        futures.add(
            POOL.submit(() -> runSlice(group, idx, rs[idx], cut[idx], sliceSeed(stepSeed, idx))));
      }
      merge.arm(futures, sizes, tRun);
      Metrics m0;
      group.enter(0);
      ComputeThreads.singleThreadedHere(true);
      try {
        Nd4j.getRandom().setSeed(sliceSeed(stepSeed, 0));
        graph.fit(cut[0]);
        m0 = Metrics.of(graph);
        long tEnd = System.nanoTime();
        double[] sliceMs = new double[parts];
        double[] waitMs = new double[parts];
        sliceMs[0] = (merge.tListener - tRun) / 1e6;
        for (int i = 0; i < parts; i++) {
          waitMs[i] = group.waitNanos(i) / 1e6;
        }
        for (int i = 1; i < parts; i++) {
          sliceMs[i] = get(futures.get(i - 1)).nanos / 1e6;
        }
        SliceTiming.record(
            new SliceTiming(
                (tRun - tStart) / 1e6,
                sliceMs,
                waitMs,
                (merge.tWaited - merge.tListener) / 1e6,
                (merge.tMerged - merge.tWaited) / 1e6,
                (tEnd - merge.tMerged) / 1e6,
                (tEnd - tStart) / 1e6));
      } catch (RuntimeException | Error e) {
        group.abort();
        Throwable root = rootCause(e, futures);
        if (root instanceof Error) {
          throw (Error) root;
        }
        throw (RuntimeException) root;
      } finally {
        ComputeThreads.singleThreadedHere(false);
        SliceGroup.leave();
        merge.disarm();
      }
      // the merge listener has waited for every slice; their results are complete
      double score = m0.score;
      long sel = m0.selected;
      double correct = m0.accuracy * m0.selected;
      double loss = m0.loss;
      for (Future<Metrics> f : futures) {
        Metrics m = get(f);
        score += m.score;
        sel += m.selected;
        correct += m.accuracy * m.selected;
        loss += m.loss;
      }
      MultiSoftmaxDecoderImpl d = decoder(graph);
      if (d != null) {
        d.setLastMetrics((int) sel, sel == 0 ? 0.0 : correct / sel, loss);
      }
      graph.setScore(score);
      return score;
    } finally {
      for (Future<Metrics> f : futures) {
        f.cancel(false);
      }
      if (!merge.threadsRestored) {
        ComputeThreads.exitSlicedStep();
      }
    }
  }

  /**
   * The failure to report for a step whose slice 0 failed with {@code e}: when slice 0 only saw another slice
   * fail ({@link SliceGroup.Aborted}), that slice's own exception.
   */
  private static Throwable rootCause(Throwable e, List<Future<Metrics>> futures) {
    Throwable cause = e;
    for (Future<Metrics> f : futures) {
      try {
        f.get();
      } catch (ExecutionException x) {
        if (cause instanceof SliceGroup.Aborted && !(x.getCause() instanceof SliceGroup.Aborted)) {
          cause = x.getCause();
        }
      } catch (InterruptedException x) {
        Thread.currentThread().interrupt();
        break;
      } catch (java.util.concurrent.CancellationException x) {
        // not started
      }
    }
    return cause;
  }

  private static Metrics runSlice(
      SliceGroup group, int index, ComputationGraph g, MultiDataSet part, long seed) {
    long t0 = System.nanoTime();
    group.enter(index);
    ComputeThreads.singleThreadedHere(true);
    try {
      Nd4j.getRandom().setSeed(seed);
      g.setInputs(part.getFeatures());
      g.setLabels(part.getLabels());
      g.setLayerMaskArrays(part.getFeaturesMaskArrays(), part.getLabelsMaskArrays());
      g.computeGradientAndScore();
      return Metrics.of(g).took(System.nanoTime() - t0);
    } catch (RuntimeException | Error e) {
      group.abort();
      throw e;
    } finally {
      ComputeThreads.singleThreadedHere(false);
      SliceGroup.leave();
    }
  }

  /** The selected token positions of a whole batch: the loss normaliser every slice shares. */
  static long selectedTokens(MultiDataSet batch) {
    return batch.getLabelsMaskArrays() == null || batch.getLabelsMaskArray(0) == null
        ? batch.getFeatures(0).size(0) * batch.getLabels(0).size(2)
        : MultiMLMLoss.countSelected(batch.getLabelsMaskArray(0));
  }

  /**
   * Replica i (1..slices-1) of {@code graph}, made on first use in {@code replicas}, holding the graph's
   * current parameters (BatchNorm running statistics included).
   */
  static ComputationGraph replica(ComputationGraph graph, ComputationGraph[] replicas, int i) {
    if (replicas[i] == null) {
      ComputationGraph r = new ComputationGraph(graph.getConfiguration().clone());
      r.init();
      replicas[i] = r;
    }
    replicas[i].params().assign(graph.params());
    return replicas[i];
  }

  static MultiDataSet slice(MultiDataSet batch, int from, int to) {
    return new org.nd4j.linalg.dataset.MultiDataSet(
        rows(batch.getFeatures(), from, to),
        rows(batch.getLabels(), from, to),
        rows(batch.getFeaturesMaskArrays(), from, to),
        rows(batch.getLabelsMaskArrays(), from, to));
  }

  static INDArray[] rows(INDArray[] arrays, int from, int to) {
    if (arrays == null) {
      return null;
    }
    INDArray[] out = new INDArray[arrays.length];
    for (int i = 0; i < arrays.length; i++) {
      INDArray a = arrays[i];
      if (a == null) {
        continue;
      }
      INDArrayIndex[] idx = new INDArrayIndex[a.rank()];
      idx[0] = NDArrayIndex.interval(from, to);
      for (int k = 1; k < idx.length; k++) {
        idx[k] = NDArrayIndex.all();
      }
      out[i] = a.get(idx).dup('c');
    }
    return out;
  }

  private static MultiSoftmaxDecoderImpl decoder(ComputationGraph g) {
    org.deeplearning4j.nn.api.Layer l = g.getLayer(NestGraph.DECODER);
    return l instanceof MultiSoftmaxDecoderImpl ? (MultiSoftmaxDecoderImpl) l : null;
  }

  private static <T> T get(Future<T> f) {
    return org.nestspark.model.nn.Parallel.join(f);
  }

  /** A slice's score and decoder metrics. */
  private record Metrics(double score, long selected, double accuracy, double loss, long nanos) {
    static Metrics of(ComputationGraph g) {
      MultiSoftmaxDecoderImpl d = decoder(g);
      return d == null
          ? new Metrics(g.score(), 0, 0.0, 0.0, 0)
          : new Metrics(
              g.score(),
              Math.max(0, d.getLastNumSelected()),
              d.getLastAccuracy(),
              d.getLastLoss(),
              0);
    }

    Metrics took(long ns) {
      return new Metrics(score, selected, accuracy, loss, ns);
    }
  }

  /** Adds the other slices' gradients into the caller's graph's gradient, before clipping and the updater. */
  private final class MergeListener extends BaseTrainingListener {
    private List<Future<Metrics>> pending;
    private int[] sizes;
    // System.nanoTime at: the step's start, entering the listener, every slice done, the merge done
    long tRun;
    long tListener;
    long tWaited;
    long tMerged;
    // whether the listener has given the compute threads back (ComputeThreads.exitSlicedStep)
    boolean threadsRestored;
    // whether this step's gradients are merged, and the sum of every slice's score (valid once
    // merged)
    boolean merged;
    double score = Double.NaN;

    void arm(List<Future<Metrics>> futures, int[] sliceSizes, long runStart) {
      pending = futures;
      sizes = sliceSizes;
      tRun = runStart;
      tListener = tWaited = tMerged = runStart;
      threadsRestored = false;
      merged = false;
      score = Double.NaN;
    }

    void disarm() {
      pending = null;
      merged = false;
    }

    @Override
    public void onGradientCalculation(Model model) {
      if (pending == null || model != graph) {
        return;
      }
      List<Future<Metrics>> fs = pending;
      pending = null;
      tListener = System.nanoTime();
      double sum = graph.score();
      for (Future<Metrics> f : fs) {
        sum += get(f).score;
      }
      tWaited = System.nanoTime();
      // every other slice is done: the merge, clipping and the optimizer may use every compute
      // thread
      threadsRestored = true;
      ComputeThreads.exitSlicedStep();
      ComputeThreads.singleThreadedHere(false);
      List<TrainableParams.Param> mine = TrainableParams.of(graph);
      List<List<TrainableParams.Param>> theirs = new ArrayList<>();
      long total = sizes[0];
      for (int i = 1; i <= fs.size(); i++) {
        theirs.add(TrainableParams.of(replicas[i]));
        total += sizes[i];
      }
      double w = (double) sizes[0] / total;
      // BatchNorm running statistics are not divided by the minibatch: the same update in every
      // slice when
      // the statistics are shared (slice 0's is kept); else each slice's own, averaged by slice
      // size (the
      // running mean's update is then the batch's). Set aside before the gradients are summed.
      List<Integer> fixed = new ArrayList<>();
      List<INDArray> fixedValues = new ArrayList<>();
      for (int k = 0; k < mine.size(); k++) {
        if (mine.get(k).dividedByMinibatch()) {
          continue;
        }
        INDArray u = mine.get(k).gradientIn(graph.gradient()).dup();
        if (!syncBatchNorm) {
          u.muli(w);
          for (int i = 1; i <= fs.size(); i++) {
            u.addi(
                theirs
                    .get(i - 1)
                    .get(k)
                    .gradientIn(replicas[i].gradient())
                    .mul((double) sizes[i] / total));
          }
        }
        fixed.add(k);
        fixedValues.add(u);
      }
      INDArray flat = graph.getGradientsViewArray();
      boolean flatMerge = flat != null;
      for (int i = 1; i <= fs.size() && flatMerge; i++) {
        INDArray other = replicas[i].getGradientsViewArray();
        flatMerge = other != null && other.length() == flat.length();
      }
      if (flatMerge) {
        // every gradient is a view of the graph's one flat gradient array: one pass over all of
        // them
        for (int i = 1; i <= fs.size(); i++) {
          flat.addi(replicas[i].getGradientsViewArray());
        }
        flat.muli(w);
      } else {
        for (int k = 0; k < mine.size(); k++) {
          TrainableParams.Param p = mine.get(k);
          if (!p.dividedByMinibatch()) {
            continue;
          }
          INDArray g0 = p.gradientIn(graph.gradient());
          for (int i = 1; i <= fs.size(); i++) {
            g0.addi(theirs.get(i - 1).get(k).gradientIn(replicas[i].gradient()));
          }
          g0.muli(w);
        }
      }
      for (int j = 0; j < fixed.size(); j++) {
        mine.get(fixed.get(j)).gradientIn(graph.gradient()).assign(fixedValues.get(j));
      }
      score = sum;
      merged = true;
      tMerged = System.nanoTime();
    }
  }
}
