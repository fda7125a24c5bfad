package org.nestspark.job.pretrain;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.MultiDataSet;

/**
 * The SHA-256 of a training batch's content (docs/nest-numerics.md §2 batches, noise-augmented as in §3: what
 * the graph is fitted on): for each features, labels and mask array of the {@link MultiDataSet}, in order, its role, shape
 * and float32 values (little endian, in C order). Two batches built from the same specs with the same seeds hash equal, so a
 * batch rebuilt by a task Spark ran again, or by a resumed attempt, can be shown identical to the first
 * ({@code timing} records' {@code batch_sha256}, and the {@value RoundTrainer#BATCH_SHA256_ACCUMULATOR}
 * accumulator in Spark's task events).
 */
final class BatchHash {
  private BatchHash() {}

  /** Lower-case hex SHA-256 of the batch's arrays. */
  static String sha256(MultiDataSet batch) {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    add(md, 'f', batch.getFeatures());
    add(md, 'm', batch.getFeaturesMaskArrays());
    add(md, 'l', batch.getLabels());
    add(md, 'n', batch.getLabelsMaskArrays());
    return HexFormat.of().formatHex(md.digest());
  }

  private static void add(MessageDigest md, char role, INDArray[] arrays) {
    int n = arrays == null ? 0 : arrays.length;
    md.update(
        ByteBuffer.allocate(6).order(ByteOrder.LITTLE_ENDIAN).putChar(role).putInt(n).array());
    for (int i = 0; i < n; i++) {
      INDArray a = arrays[i];
      if (a == null) {
        md.update(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(-1).array());
        continue;
      }
      long[] shape = a.shape();
      ByteBuffer head =
          ByteBuffer.allocate(4 + 8 * shape.length)
              .order(ByteOrder.LITTLE_ENDIAN)
              .putInt(shape.length);
      for (long d : shape) {
        head.putLong(d);
      }
      md.update(head.array());
      float[] v = a.dup('c').data().asFloat();
      ByteBuffer body = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
      body.asFloatBuffer().put(v);
      md.update(body.array());
    }
  }
}
