package org.nestspark.labels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.api.MaskState;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nestspark.config.NestConfig;
import org.nestspark.extract.FrameFeatures;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.KaldiMfcc;
import org.nestspark.model.NestGraph;

/**
 * Label files align with the encoder's frames for every length: the label count equals the encoder's output
 * length (checked against the spec's formula for every sample count up to 6 s, against the graph's own
 * subsampling mask for every feature length up to 600 frames, and against real encoder outputs), and each
 * label's source frame exists and sits at the encoder frame's centre.
 */
class LabelFramesTest {
  static NestConfig tinyConfig() {
    return NestConfig.load(
        List.of(),
        List.of(
            "model.encoder.d_model=64",
            "model.encoder.n_heads=4",
            "model.encoder.n_layers=2",
            "model.encoder.subsampling_conv_channels=32"),
        new org.apache.hadoop.conf.Configuration(false));
  }

  @Test
  void labelCountIsTheEncoderLengthForEveryLength() {
    LabelFrames f = LabelFrames.of(tinyConfig().settings());
    for (int n = 0; n <= 96_000; n++) {
      int valid = n / 160; // docs/nest-numerics.md §1: floor(N / hop)
      int enc = (valid + 7) / 8; // docs/nest-numerics.md §6.1: ceil(L / 8)
      assertEquals(enc, f.encoderFrames(n), "samples " + n);
    }
  }

  @Test
  void labelCountIsWhatTheGraphsSubsamplingMaskGives() {
    NestConfig c = tinyConfig();
    ComputationGraph g = NestGraph.build(c.settings(), new NoOp());
    LabelFrames f = LabelFrames.of(c.settings());
    int t = 608;
    int rows = 600;
    float[] mask = new float[rows * t];
    for (int l = 1; l <= rows; l++) {
      java.util.Arrays.fill(mask, (l - 1) * t, (l - 1) * t + l, 1f);
    }
    INDArray m =
        g.getLayer(NestGraph.PRE_ENCODE)
            .feedForwardMaskArray(
                Nd4j.create(mask, new long[] {rows, t}, 'c'), MaskState.Active, rows)
            .getFirst();
    for (int l = 1; l <= rows; l++) {
      int graphLen = m.getRow(l - 1).sumNumber().intValue();
      // every sample count with l valid feature frames
      assertEquals(graphLen, f.encoderFrames(160 * l), "feature frames " + l);
      assertEquals(graphLen, f.encoderFrames(160 * l + 159), "feature frames " + l);
    }
  }

  @Test
  void labelCountIsTheLengthOfRealEncoderOutputs() {
    NestConfig c = tinyConfig();
    ComputationGraph g = NestGraph.build(c.settings(), new NoOp());
    LayerExtractor x =
        new LayerExtractor(g, new FilterbankFeatures(c.settings().preprocessor()), new int[] {1});
    LabelFrames f = LabelFrames.of(c.settings());
    SplittableRandom rng = new SplittableRandom(3);
    List<float[]> audio = new ArrayList<>();
    // lengths around the boundaries where the count steps (multiples of 1280 samples) and odd ones
    for (int n :
        new int[] {160, 1279, 1280, 1281, 1439, 1440, 2559, 2561, 16000, 16001, 17_279, 23_456}) {
      float[] a = new float[n];
      for (int i = 0; i < n; i++) {
        a[i] = (float) (0.1 * rng.nextGaussian());
      }
      audio.add(a);
    }
    List<LayerExtractor.Output> outs = x.extract(audio.toArray(new float[0][]));
    for (int i = 0; i < audio.size(); i++) {
      assertEquals(
          outs.get(i).frames(),
          f.encoderFrames(audio.get(i).length),
          "samples " + audio.get(i).length);
    }
    FrameFeatures layer = FrameFeatures.layer(x);
    List<FrameFeatures.Frames> fs = layer.compute(audio);
    for (int i = 0; i < audio.size(); i++) {
      assertEquals(f.encoderFrames(audio.get(i).length), fs.get(i).frames());
      assertEquals(64, fs.get(i).dim());
      // frame-major copy of the [d, T] output: frame t, channel c
      LayerExtractor.Output o = outs.get(i);
      int t = o.frames() - 1;
      assertEquals(o.values()[3 * o.frames() + t], fs.get(i).values()[t * 64 + 3], 0f);
    }
  }

  @Test
  void everyLabelHasASourceFrameAtTheEncoderFramesCentre() {
    LabelFrames f = LabelFrames.of(tinyConfig().settings());
    for (int n = 400; n <= 48_000; n++) {
      int enc = f.encoderFrames(n);
      int mfcc = KaldiMfcc.numFrames(n);
      int logmel = n / 160;
      for (int j = 0; j < enc; j++) {
        double centre = 160 * (8 * j + 3.5); // of NeMo frames 8j..8j+7
        int m = f.sourceIndex(LabelFrames.Source.MFCC, j, mfcc);
        assertTrue(m >= 0 && m < mfcc, n + " " + j);
        if (m == 8 * j + 2) {
          assertTrue(Math.abs(160 * m + 200 - centre) <= 80, "the nearest MFCC frame");
        } else {
          assertEquals(mfcc - 1, m, "only clamped at the end: samples " + n + " label " + j);
        }
        int l = f.sourceIndex(LabelFrames.Source.LOGMEL, j, logmel);
        assertTrue(l >= 0 && l < logmel, n + " " + j);
        assertTrue(l == 8 * j + 3 || l == logmel - 1, n + " " + j);
        assertEquals(j, f.sourceIndex(LabelFrames.Source.LAYER, j, enc));
      }
    }
  }
}
