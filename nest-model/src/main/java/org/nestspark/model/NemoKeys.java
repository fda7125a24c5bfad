package org.nestspark.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.graph.LayerVertex;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.graph.vertex.GraphVertex;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.decoder.MultiSoftmaxDecoder;
import org.nestspark.model.subsampling.ConvSubsampling;

/**
 * Which NeMo state-dict key each parameter of a NEST graph is (docs/nest-numerics.md §11): {@code encoder.pre_encode.*}
 * for {@value NestGraph#PRE_ENCODE}, {@code encoder.layers.N.*} for {@code layerN}, {@code decoder.*} for
 * {@value NestGraph#DECODER}, through each layer's own {@code nemoKeyToParam} mapping.
 */
public final class NemoKeys {
  private NemoKeys() {}

  /** One NeMo key and the graph parameter that holds it. */
  public static final class Binding {
    private final String nemoKey;
    private final String vertex;
    private final String param;

    Binding(String nemoKey, String vertex, String param) {
      this.nemoKey = nemoKey;
      this.vertex = vertex;
      this.param = param;
    }

    /** E.g. {@code encoder.layers.3.self_attn.linear_q.weight}. */
    public String nemoKey() {
      return nemoKey;
    }

    /** Graph vertex, e.g. {@code layer3}. */
    public String vertex() {
      return vertex;
    }

    /** DL4J parameter name inside the vertex, e.g. {@code attLinearQW}. */
    public String param() {
      return param;
    }

    /** The graph's full parameter name, {@code vertex_param}. */
    public String graphParam() {
      return vertex + "_" + param;
    }

    /** True for BatchNorm's {@code num_batches_tracked} (int64 0-d in NeMo, float [1] here). */
    public boolean isCounter() {
      return nemoKey.endsWith(".num_batches_tracked");
    }

    @Override
    public String toString() {
      return nemoKey + " -> " + graphParam();
    }
  }

  /** All bindings of the graph, in NeMo's state-dict order. */
  public static List<Binding> bindings(ComputationGraph graph) {
    List<Binding> out = new ArrayList<>();
    add(out, graph, NestGraph.PRE_ENCODE, "encoder.pre_encode.");
    int n = NestGraph.numLayers(graph);
    for (int i = 0; i < n; i++) {
      add(out, graph, NestGraph.layerName(i), "encoder.layers." + i + ".");
    }
    if (graph.getVertex(NestGraph.DECODER) != null) {
      add(out, graph, NestGraph.DECODER, "decoder.");
    }
    return Collections.unmodifiableList(out);
  }

  private static void add(List<Binding> out, ComputationGraph graph, String vertex, String prefix) {
    GraphVertex v = graph.getVertex(vertex);
    if (v == null) {
      throw new IllegalArgumentException("not a NEST graph: no vertex " + vertex);
    }
    for (Map.Entry<String, String> e : mapping(layerConf(graph, vertex)).entrySet()) {
      out.add(new Binding(prefix + e.getKey(), vertex, e.getValue()));
    }
  }

  static Layer layerConf(ComputationGraph graph, String vertex) {
    return ((LayerVertex) graph.getConfiguration().getVertices().get(vertex))
        .getLayerConf()
        .getLayer();
  }

  /** The NeMo key suffix → parameter name mapping of a NEST layer configuration. */
  public static Map<String, String> mapping(Layer layer) {
    if (layer instanceof ConvSubsampling) {
      return ((ConvSubsampling) layer).nemoKeyToParam();
    }
    if (layer instanceof MultiSoftmaxDecoder) {
      return ((MultiSoftmaxDecoder) layer).nemoKeyToParam();
    }
    if (layer instanceof ConformerLayer) {
      return ((ConformerLayer) layer).nemoKeys();
    }
    throw new IllegalArgumentException("no NeMo key mapping for layer " + layer);
  }

  /**
   * True for parameters that are buffers, not trainable (BatchNorm running statistics and counter): they
   * are excluded from NeMo-style parameter counts (docs/nest-numerics.md §6.9).
   */
  public static boolean isBuffer(Layer layer, String param) {
    return layer instanceof ConformerLayer && ConformerLayer.isBufferParam(param);
  }
}
