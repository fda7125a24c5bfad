package org.nestspark.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * The parameter tensors of a {@link ComputationGraph} as DL4J's updater sees them: in the graph's flattening
 * order (vertices in topological order, each layer's parameter table in order), each with its updater
 * ({@code TrainingConfig.getUpdaterByParam}) and whether DL4J divides its gradient by the minibatch size.
 *
 * <p>"Trainable" follows torch's {@code requires_grad}: a parameter is trainable unless its updater is
 * {@code NoOp} (BatchNorm running statistics, frozen layers). Used by {@link GradientClipping} and
 * {@link DecoupledWeightDecay}.
 */
public final class TrainableParams {
  private TrainableParams() {}

  /**
   * One parameter tensor.
   *
   * @param key DL4J's gradient key {@code <layer>_<param>}
   * @param owner the layer or vertex holding it
   * @param name the parameter name within the owner
   * @param value a view of the tensor in the graph's flattened parameters (writes change the graph)
   * @param updater the parameter's updater
   * @param dividedByMinibatch whether DL4J divides this gradient by the minibatch size before the updater
   */
  public record Param(
      String key,
      Trainable owner,
      String name,
      INDArray value,
      IUpdater updater,
      boolean dividedByMinibatch) {
    /** False for parameters with a {@code NoOp} updater, which are never updated, decayed or clipped. */
    public boolean trainable() {
      return !(updater instanceof NoOp);
    }

    /** This parameter's gradient in {@code gradient} (DL4J keys gradients by {@link #key()}). */
    public INDArray gradientIn(Gradient gradient) {
      INDArray g = gradient.getGradientFor(key);
      if (g == null) {
        throw new IllegalStateException("no gradient for parameter " + key);
      }
      return g;
    }
  }

  /** Every parameter tensor of the graph, trainable or not, in flattening order. */
  public static List<Param> of(ComputationGraph graph) {
    GraphVertex[] vertices = graph.getVertices();
    int[] order = graph.topologicalSortOrder();
    List<Param> out = new ArrayList<>();
    for (int idx : order) {
      GraphVertex vertex = vertices[idx];
      if (vertex.numParams() == 0) {
        continue;
      }
      Trainable t = vertex.hasLayer() ? vertex.getLayer() : vertex;
      String owner = t.getConfig().getLayerName();
      Map<String, INDArray> table = t.paramTable(false);
      if (table == null) {
        continue;
      }
      for (Map.Entry<String, INDArray> e : table.entrySet()) {
        String name = e.getKey();
        IUpdater u = t.getConfig().getUpdaterByParam(name);
        out.add(
            new Param(
                owner + "_" + name, t, name, e.getValue(), u, t.updaterDivideByMinibatch(name)));
      }
    }
    return Collections.unmodifiableList(out);
  }
}
