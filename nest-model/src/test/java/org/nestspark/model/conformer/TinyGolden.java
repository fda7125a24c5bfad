package org.nestspark.model.conformer;

import java.util.Map;
import org.deeplearning4j.nn.api.Layer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

/**
 * The golden data of NeMo's tiny encoder, read through the test kit's {@link Golden} ({@code golden/encoder_tiny/},
 * every file gzip-compressed, byte-identical to NeMo's original golden files after
 * gunzip): d_model 64, 4 heads, 2 layers, conv kernel 9, batch_norm with non-trivial running
 * statistics, dropouts 0; batch of 6 with T' = 138 and lengths [5, 13, 53, 138, 25, 19].
 */
final class TinyGolden {
  static final int D_MODEL = 64;
  static final int N_HEADS = 4;
  static final int KERNEL = 9;

  private TinyGolden() {}

  /** {@code golden/encoder_tiny/<rel>.gz} ({@link Golden#npy}). */
  static NpyArray npy(String rel) {
    return Golden.npy("encoder_tiny/" + rel + ".gz");
  }

  /** A float32 golden array as an INDArray of its own shape. */
  static INDArray array(String rel, DataType dt) {
    NpyArray a = npy(rel);
    long[] shape = new long[a.rank()];
    for (int i = 0; i < shape.length; i++) {
      shape[i] = a.dim(i);
    }
    return Nd4j.create(a.toFloatArray(), shape, 'c').castTo(dt);
  }

  /** out_lengths: [5, 13, 53, 138, 25, 19]. */
  static long[] lengths() {
    return npy("out_lengths.npy").toLongArray();
  }

  /** Prefix mask [B, T] from lengths. */
  static INDArray mask(long[] lengths, int time, DataType dt) {
    INDArray m = Nd4j.zeros(dt, lengths.length, time);
    for (int b = 0; b < lengths.length; b++) {
      for (int t = 0; t < lengths[b]; t++) {
        m.putScalar(b, t, 1.0);
      }
    }
    return m;
  }

  /** Copies every {@code layers.<nemoLayer>.*} tensor into the layer's parameters by plain copy. */
  static void loadLayer(Layer layer, int nemoLayer) {
    for (Map.Entry<String, String> e : ConformerLayer.nemoKeyToParam().entrySet()) {
      NpyArray a = npy("state_dict/layers." + nemoLayer + "." + e.getKey() + ".npy");
      INDArray param = layer.getParam(e.getValue());
      if (param.length() != a.size()) {
        throw new IllegalStateException(
            e.getKey() + ": " + a.size() + " values for " + param.length());
      }
      double[] v = a.toDoubleArray();
      for (int r = 0; r < a.rank(); r++) {
        if (a.dim(r) != param.size(r)) {
          throw new IllegalStateException(e.getKey() + ": shape mismatch at axis " + r);
        }
      }
      param.assign(Nd4j.create(v, param.shape(), 'c').castTo(param.dataType()));
    }
  }
}
