package org.nestspark.io;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Fuzz target of the {@code .npy} reader (Jazzer; see {@code org.nestspark.audio.AudioFuzzTest} for the
 * two modes). It may refuse any input with an {@link IOException}; anything else is a finding.
 */
class NpyFuzzTest {
  @FuzzTest(maxDuration = "30s")
  void npy(byte[] data) {
    try {
      Npy.read(new ByteArrayInputStream(data));
    } catch (IOException expected) {
      // refused with a reason
    }
  }
}
