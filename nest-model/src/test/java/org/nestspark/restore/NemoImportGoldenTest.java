package org.nestspark.restore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nestspark.audio.AudioSegment;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.io.NpyArray;
import org.nestspark.model.NestGraph;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoGolden;
import org.nestspark.nemo.NemoModel;
import org.nestspark.testkit.Golden;

/**
 * Golden parity of {@link NemoImport} (docs/nest-numerics.md §10, §11): NeMo's tiny NEST model from its own {@code .nemo}
 * archives (gzip tar as written by NeMo, and the same members as the plain tar NeMo ≥ 1.7 writes), its
 * config read from the archive's {@code model_config.yaml}, every tensor loaded by NeMo key; then eval-mode
 * per-layer outputs on the golden WAVs against NeMo's {@code extract_features.py} outputs
 * ({@code golden/extract/*.npy}, {@code [L=2, D=64, T_valid]}) within 1e-4.
 */
class NemoImportGoldenTest {
  static final String[] SPEECH = {
    "speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "tone440_1p5s"
  };
  static final int[] T_VALID = {5, 13, 53, 138, 19};
  static NemoImport.Imported gz;
  static NemoImport.Imported plain;
  static NemoModel archive;

  @BeforeAll
  static void importBoth() throws IOException {
    Configuration conf = new Configuration(false);
    archive = NemoArchive.read(new ByteArrayInputStream(NemoGolden.gzipArchive()), "tiny_gz.nemo");
    gz = NemoImport.of(archive, "tiny_gz.nemo", List.of(), List.of(), conf);
    NemoModel p =
        NemoArchive.read(new ByteArrayInputStream(NemoGolden.plainArchive()), "tiny.nemo");
    plain = NemoImport.of(p, "tiny.nemo", List.of(), List.of(), conf);
  }

  static NpyArray resource(String rel) {
    return Golden.npy(rel + ".gz");
  }

  static float[] wav(String name) throws Exception {
    return AudioSegment.decode(
            Golden.bytes("features/wav/" + name + ".wav"), name + ".wav", 0, 0, 16000)
        .samples();
  }

  @Test
  void configComesFromTheArchive() {
    for (NemoImport.Imported m : List.of(gz, plain)) {
      assertEquals(2, m.config().getInt("model.encoder.n_layers"));
      assertEquals(64, m.config().getInt("model.encoder.d_model"));
      assertEquals(4, m.config().getInt("model.encoder.n_heads"));
      assertEquals(32, m.config().getInt("model.encoder.subsampling_conv_channels"));
      assertEquals(0.0, m.config().getDouble("model.encoder.dropout"));
      assertEquals(1e-5, m.config().getDouble("model.preprocessor.dither"));
      assertEquals(2, NestGraph.numLayers(m.graph()));
      // the five frozen tensors outside the graph are kept bit for bit
      assertEquals(
          List.of(
              "preprocessor.featurizer.window",
              "preprocessor.featurizer.fb",
              "quantizer.codebooks",
              "quantizer.proj.weight",
              "mask_processor.mask_embedding"),
          List.copyOf(m.frozen().keySet()));
      for (String k : m.frozen().keySet()) {
        assertTrue(m.frozen().get(k).sameValues(archive.tensor(k)), k);
      }
    }
    assertTrue(
        gz.notes().stream().anyMatch(n -> n.contains("train_ds.pin_memory")),
        gz.notes().toString());
  }

  @Test
  void perLayerOutputsMatchNemoExtractFeatures() throws Exception {
    for (NemoImport.Imported m : List.of(gz, plain)) {
      FilterbankFeatures f = new FilterbankFeatures(m.config().settings().preprocessor());
      LayerExtractor x = new LayerExtractor(m.graph(), f, LayerExtractor.parseLayers("all", 2));
      float[][] audio = new float[SPEECH.length][];
      for (int i = 0; i < SPEECH.length; i++) {
        audio[i] = wav(SPEECH[i]);
      }
      // one zero-padded batch of all five (NeMo's golden is batch-of-one: padding must not matter)
      List<LayerExtractor.Output> out = x.extract(audio);
      double worst = 0;
      for (int i = 0; i < SPEECH.length; i++) {
        NpyArray g = resource("extract/" + SPEECH[i] + ".npy");
        assertArrayEquals(new int[] {2, 64, T_VALID[i]}, g.shape(), SPEECH[i]);
        LayerExtractor.Output o = out.get(i);
        assertArrayEquals(g.shape(), new int[] {o.layers(), o.dim(), o.frames()}, SPEECH[i]);
        double d = maxAbsDiff(o.values(), g.floatData());
        worst = Math.max(worst, d);
        assertTrue(d <= 1e-4, SPEECH[i] + ": max abs diff " + d);
      }
      // single-utterance batches give the same
      LayerExtractor.Output one = x.extract(new float[][] {audio[2]}).get(0);
      assertTrue(maxAbsDiff(one.values(), resource("extract/speech_4p2s.npy").floatData()) <= 1e-4);
      System.out.printf("imported .nemo vs NeMo extract_features: max abs diff %.3g%n", worst);
    }
  }

  @Test
  void silenceMatchesThroughNemosOwnFeatures() {
    // NeMo normalises digital silence to -0.27594203 (float32 summation artefact); our featurizer
    // gives 0.
    // The encoder is compared on NeMo's own features of that file.
    NpyArray feats = resource("features/single/silence_2s_norm.npy");
    int t = feats.dim(2);
    FeatureBatch fb = new FeatureBatch(feats.floatData(), 1, 80, t, new int[] {200});
    LayerExtractor x =
        new LayerExtractor(
            gz.graph(),
            new FilterbankFeatures(gz.config().settings().preprocessor()),
            new int[] {0, 1});
    LayerExtractor.Output o = x.extract(fb).get(0);
    NpyArray g = resource("extract/silence_2s.npy");
    assertArrayEquals(g.shape(), new int[] {o.layers(), o.dim(), o.frames()});
    double d = maxAbsDiff(o.values(), g.floatData());
    assertTrue(d <= 1e-4, "silence_2s: max abs diff " + d);
    // --layers order is kept: "1,0" swaps the two slots
    LayerExtractor swapped =
        new LayerExtractor(
            gz.graph(), new FilterbankFeatures(), LayerExtractor.parseLayers("1,0", 2));
    LayerExtractor.Output s = swapped.extract(fb).get(0);
    assertArrayEquals(o.layer(1), s.layer(0));
    assertArrayEquals(o.layer(0), s.layer(1));
  }

  static double maxAbsDiff(float[] a, float[] b) {
    assertEquals(a.length, b.length);
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
