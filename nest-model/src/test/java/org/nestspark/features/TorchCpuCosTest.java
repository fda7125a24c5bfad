package org.nestspark.features;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import org.nestspark.io.Npy;

/** {@link TorchCpuCos} against {@code torch.cos} itself (test resources {@code torch/}, see the README there). */
class TorchCpuCosTest {
  static float[] torchNpy(String name) {
    try (InputStream in = TorchCpuCosTest.class.getResourceAsStream("/torch/" + name)) {
      if (in == null) {
        throw new IllegalStateException("missing test resource /torch/" + name);
      }
      return Npy.read(in).floatData();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Test
  void everyArgumentGivesTorchsBits() {
    float[] args = torchNpy("cos_args.npy");
    float[] want = torchNpy("cos_torch.npy");
    assertEquals(8192, args.length);
    int notCorrectlyRounded = 0;
    for (int i = 0; i < args.length; i++) {
      float got = TorchCpuCos.cos(args[i]);
      assertEquals(
          Float.floatToRawIntBits(want[i]),
          Float.floatToRawIntBits(got),
          "cos(" + args[i] + ") = " + got + ", torch " + want[i]);
      notCorrectlyRounded += got != (float) StrictMath.cos(args[i]) ? 1 : 0;
    }
    // the fixture exercises the cases a correctly rounded cosine gets wrong
    assertTrue(
        notCorrectlyRounded > 50,
        "only " + notCorrectlyRounded + " arguments where torch is not correctly rounded");
  }

  @Test
  void outsideTheReductionRangeIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> TorchCpuCos.cos(125f));
    assertThrows(IllegalArgumentException.class, () -> TorchCpuCos.cos(Float.NaN));
    assertEquals(1f, TorchCpuCos.cos(0f), 0f);
  }
}
