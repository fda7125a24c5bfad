package org.nestspark.features;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;
import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

class WindowsTest {
  @Test
  void hannIsTorchsWindowBitForBit() {
    NpyArray g = Golden.npy("features/window.npy");
    assertArrayEquals(new int[] {400}, g.shape());
    assertBits(g.floatData(), Windows.hann(400), "NeMo's preprocessor window");
    // the featurizer uses this window
    assertArrayEquals(Windows.hann(400), new FilterbankFeatures().window());
  }

  @Test
  void everyTorchWindowBitForBit() {
    for (int n : new int[] {200, 320, 400, 512, 1024}) {
      assertBits(
          TorchCpuCosTest.torchNpy("window_hann_" + n + ".npy"), Windows.hann(n), "hann " + n);
      assertBits(
          TorchCpuCosTest.torchNpy("window_hamming_" + n + ".npy"),
          Windows.hamming(n),
          "hamming " + n);
      assertBits(
          TorchCpuCosTest.torchNpy("window_blackman_" + n + ".npy"),
          Windows.blackman(n),
          "blackman " + n);
    }
  }

  private static void assertBits(float[] want, float[] got, String what) {
    assertEquals(want.length, got.length, what);
    for (int i = 0; i < want.length; i++) {
      assertEquals(
          Float.floatToRawIntBits(want[i]),
          Float.floatToRawIntBits(got[i]),
          what + " tap " + i + ": " + got[i] + ", torch " + want[i]);
    }
  }

  @Test
  void hannIsSymmetricWithZeroEnds() {
    float[] w = Windows.hann(400);
    assertEquals(0f, w[0], 0f);
    assertEquals(0f, w[399], 1e-7f);
    for (int i = 0; i < 400; i++) {
      // float32 arguments (as in PyTorch) make the window symmetric only to a few ulps
      assertEquals(w[i], w[399 - i], 3e-7f);
      assertEquals(0.5 - 0.5 * Math.cos(2 * Math.PI * i / 399), w[i], 3e-7);
    }
  }

  @Test
  void otherTorchWindows() {
    int n = 401;
    float[] hm = Windows.hamming(n);
    float[] bl = Windows.blackman(n);
    float[] bt = Windows.bartlett(n);
    for (int i = 0; i < n; i++) {
      double x = 2 * Math.PI * i / (n - 1);
      assertEquals(0.54 - 0.46 * Math.cos(x), hm[i], 3e-7);
      assertEquals(0.42 - 0.5 * Math.cos(x) + 0.08 * Math.cos(2 * x), bl[i], 5e-7);
      assertEquals(1 - Math.abs(2.0 * i / (n - 1) - 1), bt[i], 2e-7);
    }
    assertEquals(1f, bt[200], 0f);
    assertArrayEquals(new float[] {1f, 1f, 1f}, Windows.window("none", 3));
    assertArrayEquals(new float[] {1f}, Windows.hann(1));
    assertThrows(IllegalArgumentException.class, () -> Windows.window("kaiser", 10));
  }
}
