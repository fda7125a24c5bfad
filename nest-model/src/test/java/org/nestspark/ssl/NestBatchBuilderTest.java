package org.nestspark.ssl;

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

import org.nestspark.config.ModelConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.data.NoiseSampler;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;

/** One batch from the bundled sample corpus, with its noise corpus, as an executor builds it. */
class NestBatchBuilderTest {
  static final java.nio.file.Path SAMPLE = java.nio.file.Path.of(System.getProperty("user.dir")).getParent().resolve("deploy/sample");

  private static NestBatchBuilder builder(NestConfig c, Configuration conf) throws Exception {
    List<ManifestEntry> noise = ManifestReader.unfiltered(conf).read(List.of(SAMPLE.resolve("noise_manifest.json").toString())).entries();
    NestBatchPipeline pipeline = new NestBatchPipeline(new FilterbankFeatures(ModelConfigs.preprocessor(c)),
        RandomProjectionVectorQuantizer.fromConfig(c, 1L), RandomBlockMasking.fromConfig(c, 2L), TokenSelection.fromConfig(c));
    return new NestBatchBuilder(pipeline, MultiSpeakerNoiseAugmentation.fromConfig(c, "model.train_ds.batch_augmentor"),
        NoiseSampler.withAudio(noise, 16000, conf), ModelConfigs.padding(c, "model.train_ds"), 16000);
  }

  @Test
  void buildsABatchFromRealAudioAndReportsBadFiles() throws Exception {
    Configuration conf = new Configuration(false);
    NestConfig c = NestConfig.load(List.of(SAMPLE.getParent().getParent().resolve("conf/nest-tiny.conf").toString()), List.of(), conf);
    List<ManifestEntry> entries = new ArrayList<>(ManifestReader.unfiltered(conf)
        .read(List.of(SAMPLE.resolve("train_manifest.json").toString())).entries().subList(0, 3));
    ManifestEntry missing = new ManifestEntry("m.json", 9, 99, new Path("file:///no/such/file.wav").toUri(), "file.wav", null, 0, "{}");
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
    assertEquals((int) Math.round(longest * 16000) / 160, max(batch.featureLengths()), 1, "the noisy width follows the longest clip");
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
}
