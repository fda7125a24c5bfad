package org.nestspark.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.InputStream;
import org.junit.jupiter.api.Test;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;

/**
 * HuBERT's iteration-0 MFCC ({@link KaldiMfcc}) against a NumPy reference of the same formula
 * ({@code src/test/resources/mfcc/kaldi_mfcc_reference.py}: torchaudio.compliance.kaldi.mfcc with
 * use_energy=False and two compute_deltas, written with NumPy's rfft and matrix products), 0.73 s of a chirp
 * with noise, a fade-in and 25 ms of digital silence (the log floor).
 */
class KaldiMfccTest {
  private static NpyArray resource(String name) throws Exception {
    try (InputStream in = KaldiMfccTest.class.getResourceAsStream("/mfcc/" + name)) {
      return Npy.read(in);
    }
  }

  @Test
  void equalsTheNumPyReference() throws Exception {
    float[] x = resource("input.npy").floatData();
    NpyArray ref = resource("mfcc39.npy");
    assertEquals(71, ref.dim(0));
    assertEquals(KaldiMfcc.DIM, ref.dim(1));
    float[] ours = new KaldiMfcc(16000).hubertFeatures(x);
    double[] want = ref.doubleData();
    assertEquals(want.length, ours.length);
    for (int i = 0; i < want.length; i++) {
      // float32 output of float64 arithmetic: agreement to float32 rounding
      double tol = 2e-6 * Math.max(1, Math.abs(want[i]));
      assertEquals(want[i], ours[i], tol, "frame " + i / 39 + " value " + i % 39);
    }
    // the reference is not trivially small: c0 of speech-level frames is tens
    double c0 = 0;
    for (int t = 0; t < 71; t++) {
      c0 = Math.max(c0, Math.abs(want[t * 39]));
    }
    assertEquals(true, c0 > 5, "c0 " + c0);
  }

  @Test
  void framesAreKaldisSnipEdgesCount() {
    assertEquals(0, KaldiMfcc.numFrames(0));
    assertEquals(0, KaldiMfcc.numFrames(399));
    assertEquals(1, KaldiMfcc.numFrames(400));
    assertEquals(1, KaldiMfcc.numFrames(559));
    assertEquals(2, KaldiMfcc.numFrames(560));
    assertEquals(98, KaldiMfcc.numFrames(16000));
    assertEquals(0, new KaldiMfcc(16000).hubertFeatures(new float[399]).length);
    assertEquals(98 * 39, new KaldiMfcc(16000).hubertFeatures(new float[16000]).length);
    assertThrows(IllegalArgumentException.class, () -> new KaldiMfcc(8000));
  }

  @Test
  void deltasAreTorchaudiosWindowOfFiveWithReplicatedEdges() {
    double[][] x = {{0}, {1}, {4}, {9}, {16}};
    double[][] d = KaldiMfcc.deltas(x);
    // t=0: (1·(1−0) + 2·(4−0)) / 10; t=2: (1·(9−1) + 2·(16−0)) / 10; t=4: (1·(16−9) + 2·(16−4)) /
    // 10
    assertEquals(0.9, d[0][0], 1e-12);
    assertEquals(4.0, d[2][0], 1e-12);
    assertEquals(3.1, d[4][0], 1e-12);
  }
}
