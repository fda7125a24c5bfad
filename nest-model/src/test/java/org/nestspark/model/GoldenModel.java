package org.nestspark.model;

import java.nio.file.Path;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

/**
 * The golden data of the model tests, read through the test kit's {@link Golden} (test resources {@code golden/...}, copies of golden set A; see
 * {@code golden/decoder/README.md} and {@code golden/train_check/README.md}): NeMo's tiny encoder and
 * decoder weights, the batch of six utterances, tokens, masks and NeMo's outputs.
 */
public final class GoldenModel {
  /** Batch size of the golden batch. */
  public static final int B = 6;

  /** Padded frames of the golden batch. */
  public static final int T = 1104;

  /** Encoder steps of the golden batch. */
  public static final int T_ENC = 138;

  private GoldenModel() {}

  /** {@code golden/<rel>} ({@link Golden#npy}). */
  public static NpyArray npy(String rel) {
    return Golden.npy(rel);
  }

  /** A golden array as an ND4J array of the given type, golden shape ({@link Golden#array}). */
  public static INDArray array(String rel, DataType dt) {
    return Golden.array(rel, dt);
  }

  public static INDArray floats(String rel) {
    return array(rel, DataType.FLOAT);
  }

  public static double scalar(String rel) {
    return npy(rel).toDoubleArray()[0];
  }

  public static int[] ints(String rel) {
    return Arrays.stream(npy(rel).toLongArray()).mapToInt(Math::toIntExact).toArray();
  }

  /** A resource folder on disk ({@link Golden#path}). */
  public static Path dir(String rel) {
    return Golden.path(rel);
  }

  /** NeMo's tiny encoder weights as {@code encoder.*} keys (92 entries). */
  public static NemoStateDict encoderTinyStateDict() {
    return NemoStateDict.readNpyDirectory(dir("encoder_tiny/state_dict"), "encoder.");
  }

  /** The decoder weights as {@code decoder.*} keys. */
  public static NemoStateDict decoderStateDict() {
    return NemoStateDict.readNpyDirectory(dir("decoder/state_dict"), "decoder.");
  }

  /** {@code features/batch_norm.npy}: [6, 80, 1104] normalised log-mel of the golden batch. */
  public static INDArray features(DataType dt) {
    return array("features/batch_norm.npy", dt);
  }

  /** Valid frames per item [37, 100, 420, 1100, 200, 150]. */
  public static int[] featureLengths() {
    return ints("features/batch_lengths.npy");
  }

  /** The features mask [6, 1104]. */
  public static INDArray featuresMask(DataType dt) {
    return prefixMask(featureLengths(), T, dt);
  }

  public static INDArray prefixMask(int[] lengths, int time, DataType dt) {
    INDArray m = Nd4j.zeros(dt, lengths.length, time);
    for (int b = 0; b < lengths.length; b++) {
      if (lengths[b] > 0) {
        m.get(
                org.nd4j.linalg.indexing.NDArrayIndex.point(b),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, lengths[b]))
            .assign(1);
      }
    }
    return m;
  }

  /**
   * {@code masking/masked_batch_norm.npy} rebuilt from its inputs: the features with the mask embedding
   * at the frames of {@code masking/frame_mask.npy} (NeMo's RandomBlockMasking with forced blocks; checked
   * bit-identical to NeMo's file when the copies were made).
   */
  public static INDArray maskedFeatures(DataType dt) {
    INDArray x = features(DataType.FLOAT);
    boolean[] fm = npy("train_check/inputs/frame_mask.npy").booleanData();
    float[] emb = npy("train_check/inputs/mask_embedding.npy").floatData();
    INDArray e = Nd4j.create(emb, new long[] {emb.length}, 'c');
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        if (fm[b * T + t]) {
          x.get(
                  org.nd4j.linalg.indexing.NDArrayIndex.point(b),
                  org.nd4j.linalg.indexing.NDArrayIndex.all(),
                  org.nd4j.linalg.indexing.NDArrayIndex.point(t))
              .assign(e);
        }
      }
    }
    return x.castTo(dt);
  }

  /** Quantizer tokens of the golden batch as labels [6, 1, 138] (float token indices). */
  public static INDArray tokenLabels(DataType dt) {
    return array("train_check/inputs/tokens_batch.npy", dt).permute(0, 2, 1).dup('c');
  }

  /** The loss selection of the golden masks as a labels mask [6, 138] (36 tokens). */
  public static INDArray tokenMask(DataType dt) {
    return array("train_check/inputs/token_mask.npy", dt);
  }

  /** Max |a − b| ({@link Golden#maxAbsDiff(INDArray, INDArray)}). */
  public static double maxAbsDiff(INDArray a, INDArray b) {
    return Golden.maxAbsDiff(a, b);
  }
}
