package org.nestspark.batch;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The {@link MultiDataSet} layout the NEST graph ({@link NestGraph}) trains on, built from a {@link NestBatch}
 * (docs/nest-numerics.md §8): features {@code [B, F, T]} (masked noisy log-mels), features mask {@code [B, T]}, labels = token
 * indices as floats {@code [B, H, T']}, labels mask {@code [B, T']} (the selected tokens).
 */
public final class NestGraphInputs {
  private NestGraphInputs() {}

  /** The graph's training/validation input for {@code b}. */
  public static MultiDataSet toMultiDataSet(NestBatch b) {
    int bs = b.batchSize();
    int tp = b.numTokens();
    int[] tokens = b.tokens();
    int h = tokens.length / (bs * tp);
    INDArray x = Nd4j.create(b.features(), new long[] {bs, b.numFeatures(), b.numFrames()}, 'c');
    INDArray fMask = Nd4j.create(b.featuresMask(), new long[] {bs, b.numFrames()}, 'c');
    // tokens are [B, T', H]; the decoder takes [B, H, T']
    float[] labels = new float[tokens.length];
    for (int i = 0; i < bs; i++) {
      for (int j = 0; j < tp; j++) {
        for (int k = 0; k < h; k++) {
          labels[(i * h + k) * tp + j] = tokens[(i * tp + j) * h + k];
        }
      }
    }
    INDArray y = Nd4j.create(labels, new long[] {bs, h, tp}, 'c');
    INDArray lMask = Nd4j.create(b.labelsMask(), new long[] {bs, tp}, 'c');
    return new MultiDataSet(
        new INDArray[] {x}, new INDArray[] {y}, new INDArray[] {fMask}, new INDArray[] {lMask});
  }

  /** Seconds of valid (unpadded) input in {@code mds}: the features mask's sum times the hop. */
  public static double validFrames(MultiDataSet mds) {
    return mds.getFeaturesMaskArray(0).sumNumber().doubleValue();
  }
}
