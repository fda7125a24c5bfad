package org.nestspark.batch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;
import org.nestspark.data.MinLengthPadding;
import org.nestspark.data.NoiseSampler;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.ssl.MultiSpeakerNoiseAugmentation;
import org.nestspark.ssl.RandomBlockMasking;
import org.nestspark.ssl.RandomProjectionVectorQuantizer;
import org.nestspark.ssl.TokenSelection;

/** One batch from the bundled sample corpus, with its noise corpus, as an executor builds it. */
class NestBatchBuilderTest {
  static final java.nio.file.Path SAMPLE =
      java.nio.file.Path.of(System.getProperty("user.dir")).getParent().resolve("deploy/sample");

  private static NestBatchBuilder builder(NestConfig c, Configuration conf) throws Exception {
    List<ManifestEntry> noise =
        ManifestReader.unfiltered(conf)
            .read(List.of(SAMPLE.resolve("noise_manifest.json").toString()))
            .entries();
    NestBatchPipeline pipeline =
        new NestBatchPipeline(
            new FilterbankFeatures(c.settings().preprocessor()),
            RandomProjectionVectorQuantizer.of(c.settings().quantizer(), 1L),
            RandomBlockMasking.of(c.settings().masking(), 2L),
            TokenSelection.of(c.settings().loss()));
    return new NestBatchBuilder(
        pipeline,
        MultiSpeakerNoiseAugmentation.of(c.settings().augmentor("model.train_ds.batch_augmentor")),
        NoiseSampler.withAudio(noise, 16000, conf),
        MinLengthPadding.of(c.settings().dataset("model.train_ds")),
        16000);
  }

  @Test
  void buildsABatchFromRealAudioAndReportsBadFiles() throws Exception {
    Configuration conf = new Configuration(false);
    NestConfig c =
        NestConfig.load(
            List.of(SAMPLE.getParent().getParent().resolve("conf/nest-tiny.conf").toString()),
            List.of(),
            conf);
    List<ManifestEntry> entries =
        new ArrayList<>(
            ManifestReader.unfiltered(conf)
                .read(List.of(SAMPLE.resolve("train_manifest.json").toString()))
                .entries()
                .subList(0, 3));
    ManifestEntry missing =
        new ManifestEntry(
            "m.json",
            9,
            99,
            new Path("file:///no/such/file.wav").toUri(),
            "file.wav",
            null,
            0,
            "{}");
    entries.add(1, missing);
    NestBatchBuilder b = builder(c, conf);
    NestBatchBuilder.Result r = b.build(entries, conf, true, 1234L);
    assertEquals(1, r.skipped().size());
    assertTrue(r.skipped().get(0).startsWith("m.json:9: "), r.skipped().get(0));
    assertTrue(r.skipped().get(0).contains("no such file"), r.skipped().get(0));
    NestBatch batch = r.batch();
    assertNotNull(batch);
    assertEquals(3, batch.batchSize());
    assertEquals(80, batch.numFeatures());
    assertEquals(0, batch.numFrames() % 16);
    assertEquals(batch.numFrames() / 8, batch.numTokens());
    double longest = 0;
    for (ManifestEntry e : r.entries()) {
      longest = Math.max(longest, e.duration());
    }
    assertEquals(
        (int) Math.round(longest * 16000) / 160,
        max(batch.featureLengths()),
        1,
        "the noisy width follows the longest clip");
    for (float v : batch.features()) {
      assertTrue(Float.isFinite(v));
    }
    // deterministic per seed, different across seeds
    NestBatch again = b.build(entries, conf, true, 1234L).batch();
    assertArrayEquals(batch.features(), again.features());
    assertArrayEquals(batch.tokens(), again.tokens());
    assertArrayEquals(batch.labelsMask(), again.labelsMask());
    NestBatch other = b.build(entries, conf, true, 99L).batch();
    assertTrue(!java.util.Arrays.equals(batch.features(), other.features()));
    // nothing loadable: no batch, every entry reported
    NestBatchBuilder.Result none = b.build(List.of(missing), conf, true, 1L);
    assertNull(none.batch());
    assertEquals(1, none.skipped().size());
  }

  private static int max(int[] a) {
    int m = 0;
    for (int x : a) {
      m = Math.max(m, x);
    }
    return m;
  }

  @Test
  void trainingBatchesFollowTheDownmixAndResampleSwitches() throws Exception {
    Configuration conf = new Configuration(false);
    java.nio.file.Path audio =
        java.nio.file.Path.of(System.getProperty("user.dir")).resolve("src/test/resources/audio");
    String m8k = audio.resolve("resample/mix_8000.wav").toString();
    String stereo = audio.resolve("wav/sox_c3_s16.wav").toString();
    List<ManifestEntry> entries =
        List.of(
            new ManifestEntry("m.json", 1, 0, new java.io.File(m8k).toURI(), m8k, null, 0, "{}"),
            new ManifestEntry(
                "m.json", 2, 1, new java.io.File(stereo).toURI(), stereo, null, 0, "{}"));
    String tiny = SAMPLE.getParent().getParent().resolve("conf/nest-tiny.conf").toString();
    NestConfig noResample = NestConfig.load(List.of(tiny), List.of("data.resample=false"), conf);
    NestBatchBuilder.Result refused =
        NestBatchBuilder.of(
                noResample.settings(),
                "model.train_ds",
                List.of(),
                conf,
                FrozenModules.drawn(noResample.settings()))
            .build(entries, conf, true, 7);
    assertNull(refused.batch());
    assertEquals(2, refused.skipped().size(), refused.skipped().toString());
    assertTrue(
        refused.skipped().get(0).startsWith("m.json:1: ")
            && refused
                .skipped()
                .get(0)
                .contains("8000 Hz, expected 16000 Hz (data.resample=false)"),
        refused.skipped().toString());
    NestConfig noDownmix = NestConfig.load(List.of(tiny), List.of("data.downmix=false"), conf);
    NestBatchBuilder.Result mono =
        NestBatchBuilder.of(
                noDownmix.settings(),
                "model.train_ds",
                List.of(),
                conf,
                FrozenModules.drawn(noDownmix.settings()))
            .build(entries, conf, true, 7);
    assertEquals(1, mono.skipped().size(), mono.skipped().toString());
    assertTrue(
        mono.skipped().get(0).startsWith("m.json:2: ")
            && mono.skipped().get(0).contains("expected mono (data.downmix=false)"),
        mono.skipped().toString());
    assertEquals(1, mono.batch().batchSize());
    NestConfig lenient = NestConfig.load(List.of(tiny), List.of(), conf);
    NestBatchBuilder.Result built =
        NestBatchBuilder.of(
                lenient.settings(),
                "model.train_ds",
                List.of(),
                conf,
                FrozenModules.drawn(lenient.settings()))
            .build(entries, conf, true, 7);
    assertNotNull(built.batch());
    assertEquals(List.of(), built.skipped());
  }
}
