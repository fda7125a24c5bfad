package org.nestspark.restore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NemoConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.config.NestConfigException;
import org.nestspark.model.NestGraph;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoDtype;
import org.nestspark.nemo.NemoGolden;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.ssl.FrozenModules;

/**
 * {@link NemoExport} (docs/nest-numerics.md §11): a nest-spark model written as a {@code .nemo} in NeMo's layout and read
 * back with {@link NemoImport} is the same model bit for bit (every tensor, the configuration), NeMo's
 * own archive imported and exported again keeps every tensor, and the exported config has NeMo's
 * structure and {@code _target_}s.
 */
class NemoExportTest {
  static final Configuration CONF = new Configuration(false);

  static NemoModel roundTrip(NemoModel m) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    NemoArchive.write(m, bos);
    return NemoArchive.read(new ByteArrayInputStream(bos.toByteArray()), "exported.nemo");
  }

  @Test
  void goldenArchiveImportedAndExportedKeepsEveryTensor() throws Exception {
    NemoModel golden =
        NemoArchive.read(new ByteArrayInputStream(NemoGolden.gzipArchive()), "tiny_gz.nemo");
    NemoImport.Imported imp = NemoImport.of(golden, "tiny_gz.nemo", List.of(), List.of(), CONF);
    NemoModel exported =
        roundTrip(NemoExport.toNemo(imp.config(), imp.graph(), imp.frozenModules(), imp.frozen()));
    assertEquals(
        List.copyOf(golden.stateDict().keySet()), List.copyOf(exported.stateDict().keySet()));
    for (String k : golden.stateDict().keySet()) {
      assertTrue(golden.tensor(k).sameValues(exported.tensor(k)), k);
    }
    assertEquals(99, exported.stateDict().size());
    // the config: NeMo's structure and classes, the same values where NeMo and nest-spark share a
    // key
    Map<String, Object> g = golden.config();
    Map<String, Object> e = exported.config();
    for (String section :
        List.of(
            "preprocessor", "encoder", "decoder", "masking", "quantizer", "loss", "spec_augment")) {
      @SuppressWarnings("unchecked")
      Map<String, Object> gs = (Map<String, Object>) g.get(section);
      @SuppressWarnings("unchecked")
      Map<String, Object> es = (Map<String, Object>) e.get(section);
      for (Map.Entry<String, Object> kv : gs.entrySet()) {
        assertEquals(kv.getValue(), es.get(kv.getKey()), section + "." + kv.getKey());
      }
    }
    assertEquals(NemoConfigs.TARGET, exported.target().orElseThrow());
    assertEquals(
        g.get("optim"), e.get("optim") instanceof Map ? withoutKey(e.get("optim"), "eps") : null);
    // and it imports again to the same configuration
    NemoImport.Imported again =
        NemoImport.of(exported, "exported.nemo", List.of(), List.of(), CONF);
    assertEquals(modelJson(imp.config()), modelJson(again.config()));
  }

  @Test
  void exportThenImportIsBitForBit() throws Exception {
    NestConfig c =
        NestConfig.load(
            List.of(),
            List.of(
                "model.encoder.d_model=32",
                "model.encoder.n_heads=2",
                "model.encoder.n_layers=2",
                "model.encoder.subsampling_conv_channels=8",
                "model.encoder.conv_norm_type=layer_norm",
                "model.num_classes=64",
                "model.code_dim=8",
                "model.num_books=2",
                "model.preprocessor.preemph=0.9",
                "model.masking.max_mask_ratio=0.7",
                "model.train_ds.batch_augmentor.skipped_rows=raw_noise",
                "model.optim.gradient_clip_val=1.5",
                "model.optim.eps=1e-6",
                "data.seed=7"),
            CONF);
    ComputationGraph graph = NestGraph.build(c.settings());
    // non-trivial values everywhere
    graph.params().addi(org.nd4j.linalg.factory.Nd4j.rand(graph.params().shape()).muli(0.01));
    NemoModel first =
        roundTrip(NemoExport.toNemo(c, graph, FrozenModules.drawn(c.settings()), Map.of()));
    NemoImport.Imported imp = NemoImport.of(first, "exported.nemo", List.of(), List.of(), CONF);
    assertEquals(modelJson(c), modelJson(imp.config()));
    assertEquals(7L, imp.config().getLong("data.seed"));
    assertEquals(graph.params(), imp.graph().params());
    assertEquals(NemoImport.frozenShapes(c).keySet(), imp.frozen().keySet());
    for (Map.Entry<String, NemoTensor> t : NemoExport.preprocessorTensors(c).entrySet()) {
      assertTrue(t.getValue().sameValues(imp.frozen().get(t.getKey())), t.getKey());
    }
    assertTrue(
        FrozenModules.drawn(c.settings()).sameValues(imp.frozenModules()),
        "the drawn modules come back as the model's own");
    assertEquals("exported.nemo", imp.frozenModules().origin());
    // exported again without the archive's window and filterbank: the computed ones are the same
    // bits
    NemoModel second =
        roundTrip(NemoExport.toNemo(imp.config(), imp.graph(), imp.frozenModules(), Map.of()));
    assertEquals(List.copyOf(first.stateDict().keySet()), List.copyOf(second.stateDict().keySet()));
    for (String k : first.stateDict().keySet()) {
      assertTrue(first.tensor(k).sameValues(second.tensor(k)), k);
    }
    assertEquals(first.config(), second.config());
    assertEquals(NemoDtype.FLOAT64, first.tensor("quantizer.codebooks").dtype());
    assertEquals(List.of(2, 64, 8), toList(first.tensor("quantizer.codebooks").shape()));
    @SuppressWarnings("unchecked")
    Map<String, Object> own = (Map<String, Object>) first.config().get(NemoConfigs.NEST_SPARK);
    assertEquals("raw_noise", own.get("model.train_ds.batch_augmentor.skipped_rows"));
    assertEquals(1.5, own.get("model.optim.gradient_clip_val"));
    @SuppressWarnings("unchecked")
    Map<String, Object> pre = (Map<String, Object>) first.config().get("preprocessor");
    assertEquals(0.9, pre.get("preemph"));
  }

  @Test
  void unsupportedNemoSettingsAreNamed() throws Exception {
    NemoModel golden =
        NemoArchive.read(new ByteArrayInputStream(NemoGolden.gzipArchive()), "tiny_gz.nemo");
    Map<String, Object> cfg = mutable(golden.config());
    section(cfg, "encoder").put("self_attention_model", "abs_pos");
    section(cfg, "encoder").put("use_bias", false);
    section(cfg, "encoder").put("frobnicate", 3);
    section(cfg, "decoder").put("_target_", "nemo.collections.asr.modules.ConvASRDecoder");
    NestConfigException e =
        assertThrows(
            NestConfigException.class,
            () -> NemoImport.of(golden.withConfig(cfg), "bad.nemo", List.of(), List.of(), CONF));
    String m = e.getMessage();
    assertTrue(m.contains("encoder.use_bias: value false is not supported"), m);
    assertTrue(m.contains("encoder.frobnicate: unknown key"), m);
    assertTrue(
        m.contains(
            "decoder._target_: nemo.collections.asr.modules.ConvASRDecoder is not supported"),
        m);
    // a value nest-spark's own validation refuses is named with its key
    Map<String, Object> cfg2 = mutable(golden.config());
    section(cfg2, "encoder").put("self_attention_model", "abs_pos");
    NestConfigException e2 =
        assertThrows(
            NestConfigException.class,
            () -> NemoImport.of(golden.withConfig(cfg2), "bad.nemo", List.of(), List.of(), CONF));
    assertTrue(e2.getMessage().contains("self_attention_model"), e2.getMessage());
    assertFalse(e2.getMessage().isBlank());
  }

  static String modelJson(NestConfig c) {
    return NestConfig.class.getName().isEmpty()
        ? ""
        : c.config()
            .getConfig("model")
            .root()
            .render(com.typesafe.config.ConfigRenderOptions.concise());
  }

  static List<Integer> toList(int[] a) {
    List<Integer> l = new ArrayList<>();
    for (int v : a) {
      l.add(v);
    }
    return l;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> mutable(Map<String, Object> m) {
    Map<String, Object> out = new java.util.LinkedHashMap<>();
    for (Map.Entry<String, Object> e : m.entrySet()) {
      out.put(
          e.getKey(),
          e.getValue() instanceof Map ? mutable((Map<String, Object>) e.getValue()) : e.getValue());
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> section(Map<String, Object> m, String k) {
    return (Map<String, Object>) m.get(k);
  }

  static Object withoutKey(Object map, String key) {
    Map<?, ?> m = (Map<?, ?>) map;
    Map<Object, Object> out = new java.util.LinkedHashMap<>(m);
    out.remove(key);
    return out;
  }
}
