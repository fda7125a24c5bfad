package org.nestspark.extract;

import java.util.ArrayList;
import java.util.List;
import org.nestspark.features.FeatureBatch;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.KaldiMfcc;
import org.nestspark.labels.LabelFrames;

/**
 * The frame features {@code nest kmeans} clusters, one {@code [frames, D]} matrix per utterance at the
 * source's own frame rate ({@link LabelFrames} maps them to encoder frames):
 * <ul>
 *   <li>{@code mfcc}: HuBERT iteration 0's 39-dim MFCC + Δ + ΔΔ ({@link KaldiMfcc}), 10 ms frames;</li>
 *   <li>{@code logmel}: the model's log-mel features as the encoder sees them (docs/nest-numerics.md §1: per-utterance
 *       normalisation, eval mode: no dither), 10 ms frames;</li>
 *   <li>{@code layer}: one ConformerLayer's output of a trained model in eval mode ({@link LayerExtractor},
 *       the path {@code nest extract} uses), 80 ms frames.</li>
 * </ul>
 * Not thread-safe with a layer extractor (one per task).
 */
public final class FrameFeatures {
  /** One utterance's features: {@code frames × dim} float32, frame-major (frame t at {@code t·dim}). */
  public record Frames(int frames, int dim, float[] values) {}

  private final LabelFrames.Source source;
  private final KaldiMfcc mfcc;
  private final FilterbankFeatures logmel;
  private final LayerExtractor layer;

  private FrameFeatures(
      LabelFrames.Source source, KaldiMfcc mfcc, FilterbankFeatures logmel, LayerExtractor layer) {
    this.source = source;
    this.mfcc = mfcc;
    this.logmel = logmel;
    this.layer = layer;
  }

  public static FrameFeatures mfcc(int sampleRate) {
    return new FrameFeatures(LabelFrames.Source.MFCC, new KaldiMfcc(sampleRate), null, null);
  }

  public static FrameFeatures logmel(FilterbankFeatures features) {
    return new FrameFeatures(LabelFrames.Source.LOGMEL, null, features, null);
  }

  /** @param extractor an extractor of exactly one layer */
  public static FrameFeatures layer(LayerExtractor extractor) {
    if (extractor.layers().length != 1) {
      throw new IllegalArgumentException(
          "k-means on one layer; the extractor has " + extractor.layers().length);
    }
    return new FrameFeatures(LabelFrames.Source.LAYER, null, null, extractor);
  }

  /** Where the frames sit in time. */
  public LabelFrames.Source source() {
    return source;
  }

  /** Features of a batch of utterances (mono samples at the model's rate). */
  public List<Frames> compute(List<float[]> audio) {
    List<Frames> out = new ArrayList<>(audio.size());
    switch (source) {
      case MFCC:
        for (float[] a : audio) {
          float[] v = mfcc.hubertFeatures(a);
          out.add(new Frames(v.length / KaldiMfcc.DIM, KaldiMfcc.DIM, v));
        }
        return out;
      case LOGMEL:
        for (float[] a : audio) {
          FeatureBatch fb = logmel.computeSingle(a);
          int f = fb.numFeatures();
          int len = fb.length(0);
          float[] v = new float[len * f];
          for (int t = 0; t < len; t++) {
            for (int c = 0; c < f; c++) {
              v[t * f + c] = fb.get(0, c, t);
            }
          }
          out.add(new Frames(len, f, v));
        }
        return out;
      default:
        for (LayerExtractor.Output o : layer.extract(audio.toArray(new float[0][]))) {
          int d = o.dim();
          int len = o.frames();
          float[] src = o.values();
          float[] v = new float[len * d];
          for (int c = 0; c < d; c++) {
            for (int t = 0; t < len; t++) {
              v[t * d + c] = src[c * len + t];
            }
          }
          out.add(new Frames(len, d, v));
        }
        return out;
    }
  }
}
