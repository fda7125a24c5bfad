package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.junit.jupiter.api.Test;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.subsampling.ConvSubsampling;

/** The encoder part of the NEST graph, as NeMo's ConformerEncoder names it. */
class ConformerEncoderTest {
  private static NestGraph.Builder small() {
    return NestGraph.builder().featIn(80).dModel(64).nHeads(4).nLayers(3).ffExpansionFactor(2);
  }

  @Test
  void preEncodeThenEachLayerThenTheDecoder() {
    ComputationGraphConfiguration c = small().configuration();
    assertEquals(
        List.of(NestGraph.PRE_ENCODE, "layer0", "layer1", "layer2", NestGraph.DECODER),
        List.copyOf(c.getVertices().keySet()));
    assertEquals(List.of(NestGraph.INPUT), c.getVertexInputs().get(NestGraph.PRE_ENCODE));
    assertEquals(List.of("layer1"), c.getVertexInputs().get("layer2"));
    assertEquals(List.of(NestGraph.PRE_ENCODE), c.getVertexInputs().get("layer0"));
    assertEquals(List.of("layer2"), c.getVertexInputs().get(NestGraph.DECODER));
  }

  @Test
  void layersCarryTheEncoderSettings() {
    ConformerEncoder e = small().convKernelSize(5).encoder();
    assertEquals(3, e.numLayers());
    ConformerLayer l = e.layer(2);
    assertEquals(64, l.getDModel());
    assertEquals(4, l.getNHeads());
    assertEquals(5, l.getConvKernelSize());
    ConvSubsampling s = e.preEncodeLayer();
    assertEquals(80, s.getFeatIn());
    assertEquals(64, s.getDModel());
    assertThrows(IndexOutOfBoundsException.class, () -> e.layer(3));
  }
}
