package org.nestspark.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.io.NpyArray;
import org.nestspark.io.NpyDtype;
import org.nestspark.model.conformer.ConformerLayer;

/** Loading NeMo state dicts into the graph by name (strict, frozen modules handed back) and exporting them. */
class NemoStateDictTest {

  static ComputationGraph tiny() {
    return NestGraph.builder()
        .dModel(64)
        .nHeads(4)
        .nLayers(2)
        .subsamplingConvChannels(32)
        .allDropouts(0)
        .updater(new NoOp())
        .build();
  }

  static NemoStateDict golden() {
    return GoldenModel.encoderTinyStateDict().putAll(GoldenModel.decoderStateDict());
  }

  @Test
  void goldenKeysAreExactlyTheGraphsAndLoadByPlainCopy() {
    ComputationGraph g = tiny();
    NemoStateDict sd = golden();
    assertEquals(94, sd.size());
    List<String> bound = new ArrayList<>();
    for (NemoKeys.Binding b : NemoKeys.bindings(g)) {
      bound.add(b.nemoKey());
    }
    assertEquals(
        new ArrayList<>(sd.keys()).stream().sorted().toList(), bound.stream().sorted().toList());
    sd.loadInto(g);
    // element order is NeMo's: a (C, 1, 3, 3) conv weight read back flat equals the file
    float[] file = sd.get("encoder.pre_encode.conv.2.weight").floatData();
    float[] param = g.getParam("preEncode_conv2W").dup('c').data().asFloat();
    assertArrayEquals(file, param);
    float[] pos = sd.get("encoder.layers.1.self_attn.pos_bias_u").floatData();
    assertArrayEquals(
        pos, g.getParam("layer1_" + ConformerLayer.ATT_POS_BIAS_U).dup('c').data().asFloat());
    assertEquals(1000.0, g.getParam("layer0_" + ConformerLayer.CONV_BN_COUNT).getDouble(0));
  }

  @Test
  void exportIsTheInverseWithNemosDtypes() {
    ComputationGraph g = tiny();
    NemoStateDict sd = golden();
    sd.loadInto(g);
    NemoStateDict out = NemoStateDict.fromGraph(g);
    assertEquals(sd.keys().stream().sorted().toList(), out.keys().stream().sorted().toList());
    for (String k : sd.keys()) {
      NpyArray a = sd.get(k);
      NpyArray b = out.get(k);
      assertArrayEquals(a.shape(), b.shape(), k);
      assertEquals(a.dtype(), b.dtype(), k);
      assertArrayEquals(a.toDoubleArray(), b.toDoubleArray(), 0.0, k);
    }
    assertEquals(
        NpyDtype.INT64, out.get("encoder.layers.0.conv.batch_norm.num_batches_tracked").dtype());
    assertEquals(0, out.get("encoder.layers.0.conv.batch_norm.num_batches_tracked").rank());
    // and it loads back into a fresh graph
    ComputationGraph g2 = tiny();
    out.loadInto(g2);
    assertEquals(g.params(), g2.params());
  }

  @Test
  void encoderOnlyGraphLoadsWithoutTheDecoderKeys() {
    ComputationGraph enc =
        NestGraph.builder()
            .dModel(64)
            .nHeads(4)
            .nLayers(2)
            .subsamplingConvChannels(32)
            .allDropouts(0)
            .withDecoder(false)
            .build();
    NemoStateDictException e =
        assertThrows(NemoStateDictException.class, () -> golden().loadInto(enc));
    assertEquals(2, e.problems().size(), e.getMessage()); // the two decoder tensors are unexpected
    golden().withoutPrefix("decoder.").loadInto(enc);
    assertEquals(92, NemoKeys.bindings(enc).size());
  }

  @Test
  void frozenModulesAreHandedBack() {
    NemoStateDict sd = golden();
    sd.put("quantizer.proj.weight", NpyArray.of(new int[] {16, 640}, new float[16 * 640]));
    sd.put("quantizer.codebooks", NpyArray.of(new int[] {1, 4, 16}, new double[64]));
    sd.put("mask_processor.mask_embedding", NpyArray.of(new int[] {80}, new float[80]));
    sd.put("preprocessor.featurizer.window", NpyArray.of(new int[] {400}, new float[400]));
    NemoStateDict frozen = sd.loadInto(tiny());
    assertEquals(
        List.of(
            "quantizer.proj.weight",
            "quantizer.codebooks",
            "mask_processor.mask_embedding",
            "preprocessor.featurizer.window"),
        new ArrayList<>(frozen.keys()));
  }

  @Test
  void missingUnexpectedAndMisshapedKeysAreAllListed() {
    NemoStateDict good = golden();
    NemoStateDict bad = new NemoStateDict();
    for (String k : good.keys()) {
      if (!k.equals("encoder.layers.1.norm_out.bias")) {
        bad.put(k, good.get(k));
      }
    }
    bad.put("encoder.layers.2.norm_out.bias", NpyArray.of(new int[] {64}, new float[64]));
    bad.put("decoder.decoder_layers.0.bias", NpyArray.of(new int[] {8191}, new float[8191]));
    ComputationGraph g = tiny();
    double before = g.params().sumNumber().doubleValue();
    NemoStateDictException e = assertThrows(NemoStateDictException.class, () -> bad.loadInto(g));
    assertEquals(3, e.problems().size(), e.getMessage());
    assertTrue(
        e.getMessage().contains("missing key encoder.layers.1.norm_out.bias"), e.getMessage());
    assertTrue(
        e.getMessage().contains("unexpected key encoder.layers.2.norm_out.bias"), e.getMessage());
    assertTrue(
        e.getMessage().contains("wrong shape for decoder.decoder_layers.0.bias: [8191]"),
        e.getMessage());
    assertEquals(
        before,
        g.params().sumNumber().doubleValue(),
        0.0,
        "nothing is copied when the dict does not fit");
  }
}
