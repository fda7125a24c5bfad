package org.nestspark.extract;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.KaldiMfcc;
import org.nestspark.labels.LabelFrames;

/** The MFCC and log-mel frame features k-means clusters: frame-major copies of the featurizers' outputs, at their frame counts. */
class FrameFeaturesTest {
  @Test
  void mfccAndLogmelFramesAreTheFeaturizersOutputsFrameMajor() {
    NestConfig c =
        NestConfig.load(List.of(), List.of(), new org.apache.hadoop.conf.Configuration(false));
    FilterbankFeatures fb = new FilterbankFeatures(c.settings().preprocessor());
    SplittableRandom rng = new SplittableRandom(5);
    float[] a = new float[5_123];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) (0.2 * Math.sin(i * 0.03) + 0.01 * rng.nextGaussian());
    }
    FrameFeatures.Frames m = FrameFeatures.mfcc(16000).compute(List.of(a)).get(0);
    assertEquals(KaldiMfcc.numFrames(a.length), m.frames());
    assertEquals(39, m.dim());
    assertArrayEquals(new KaldiMfcc(16000).hubertFeatures(a), m.values());
    FrameFeatures.Frames l = FrameFeatures.logmel(fb).compute(List.of(a)).get(0);
    FeatureBatch want = fb.computeSingle(a);
    assertEquals(fb.validFrames(a.length), l.frames());
    assertEquals(80, l.dim());
    for (int t = 0; t < l.frames(); t++) {
      for (int f = 0; f < 80; f++) {
        assertEquals(want.get(0, f, t), l.values()[t * 80 + f], 0f);
      }
    }
    assertEquals(LabelFrames.Source.LOGMEL, FrameFeatures.logmel(fb).source());
  }
}
