package org.nestspark.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.Future;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.model.NestGraph;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.nn.ComputeThreads;
import org.nestspark.model.nn.Parallel;
import org.nestspark.model.nn.SliceGroup;

/**
 * Eval-mode work on a batch cut into slices along the batch axis, each slice on its own thread and its own
 * replica of the graph with single-threaded ops ({@code trainer.batch_slices}, as {@link SlicedStep} does for
 * training). In eval mode nothing is shared between the slices during the pass (BatchNorm uses its running
 * statistics, dropout is off), so the slices never wait for each other: the results equal the whole batch's up
 * to float rounding. Used by validation (loss and masked accuracy, docs/nest-numerics.md §8) and by {@code bench train}'s eval
 * forward.
 *
 * <p>The replicas take the graph's current parameters at every call, so one instance may follow a graph that
 * trains between calls. Not thread-safe: one caller at a time.
 */
public final class SlicedEval {
  private final ComputationGraph graph;
  private final int slices;
  private final ComputationGraph[] replicas;

  /** The eval-mode loss of a batch and its decoder metrics (as {@code ComputationGraph.score(batch, false)}). */
  public record Score(double loss, long selected, double accuracy) {}

  /** @param slices slices per batch; 1 runs every batch on the calling thread, unchanged */
  public SlicedEval(ComputationGraph graph, int slices) {
    if (slices < 1) {
      throw new IllegalArgumentException("slices must be >= 1: " + slices);
    }
    this.graph = graph;
    this.slices = slices;
    this.replicas = new ComputationGraph[slices];
  }

  public int slices() {
    return slices;
  }

  /**
   * The eval-mode masked-token loss of {@code batch} (normalised by the selected positions of the whole batch,
   * as unsliced) with the decoder's number of selected positions and accuracy.
   */
  public Score score(MultiDataSet batch) {
    int b = (int) batch.getFeatures(0).size(0);
    int parts = Math.min(slices, b);
    if (parts == 1) {
      return scoreOn(graph, batch);
    }
    SliceGroup group = new SliceGroup(parts, b, SlicedStep.selectedTokens(batch));
    List<Score> scores =
        run(
            b,
            parts,
            (g, from, to, index) -> {
              group.enter(index);
              try {
                return scoreOn(g, SlicedStep.slice(batch, from, to));
              } finally {
                SliceGroup.leave();
              }
            });
    double loss = 0;
    long sel = 0;
    double correct = 0;
    for (Score s : scores) {
      loss += s.loss();
      sel += s.selected();
      correct += s.accuracy() * s.selected();
    }
    return new Score(loss, sel, sel == 0 ? 0.0 : correct / sel);
  }

  /**
   * The eval-mode activations of the named vertices for {@code inputs} (with their masks, may be null), each
   * concatenated over the slices along the batch axis: what {@code graph.output(names, false, inputs, masks)}
   * gives.
   */
  public INDArray[] output(String[] names, INDArray[] inputs, INDArray[] masks) {
    int b = (int) inputs[0].size(0);
    int parts = Math.min(slices, b);
    if (parts == 1) {
      return graph.output(List.of(names), false, inputs, masks);
    }
    List<INDArray[]> outs =
        run(
            b,
            parts,
            (g, from, to, index) ->
                g.output(
                    List.of(names),
                    false,
                    SlicedStep.rows(inputs, from, to),
                    SlicedStep.rows(masks, from, to)));
    INDArray[] joined = new INDArray[names.length];
    for (int k = 0; k < names.length; k++) {
      INDArray[] pieces = new INDArray[parts];
      for (int i = 0; i < parts; i++) {
        pieces[i] = outs.get(i)[k];
      }
      joined[k] = Nd4j.concat(0, pieces);
    }
    return joined;
  }

  /** What one slice computes on its graph, rows {@code [from, to)} of the batch. */
  private interface SliceWork<T> {
    T run(ComputationGraph g, int from, int to, int index);
  }

  private <T> List<T> run(int b, int parts, SliceWork<T> work) {
    List<Future<T>> futures = new ArrayList<>();
    List<T> results = new ArrayList<>();
    ComputeThreads.enterSlicedStep();
    try {
      for (int i = 1; i < parts; i++) {
        ComputationGraph r = SlicedStep.replica(graph, replicas, i);
        int from = (int) ((long) i * b / parts);
        int to = (int) ((long) (i + 1) * b / parts);
        int index = i;
        Callable<T> c = () -> onOneThread(() -> work.run(r, from, to, index));
        futures.add(SlicedStep.POOL.submit(c));
      }
      T first;
      try {
        first = onOneThread(() -> work.run(graph, 0, (int) ((long) b / parts), 0));
      } catch (RuntimeException | Error e) {
        for (Future<T> f : futures) {
          f.cancel(false);
        }
        throw e;
      }
      results.add(first);
      for (Future<T> f : futures) {
        results.add(Parallel.join(f));
      }
      return results;
    } finally {
      ComputeThreads.exitSlicedStep();
    }
  }

  private static <T> T onOneThread(Callable<T> c) {
    ComputeThreads.singleThreadedHere(true);
    try {
      return c.call();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    } finally {
      ComputeThreads.singleThreadedHere(false);
    }
  }

  private static Score scoreOn(ComputationGraph g, MultiDataSet batch) {
    double loss = g.score(batch, false);
    MultiSoftmaxDecoderImpl d = NestGraph.decoder(g);
    return d == null
        ? new Score(loss, 0, 0.0)
        : new Score(loss, Math.max(0, d.getLastNumSelected()), d.getLastAccuracy());
  }
}
