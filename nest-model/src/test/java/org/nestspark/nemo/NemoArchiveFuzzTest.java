package org.nestspark.nemo;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;

/**
 * Fuzz targets of the {@code .nemo} container parsers (Jazzer; see {@code org.nestspark.audio.AudioFuzzTest}
 * for the two modes): the tar reader, in place over random-access bytes and over a stream (as for a gzip
 * tar), and the torch zip checkpoint {@code model_weights.ckpt} read into a state dict (zip records, then the
 * restricted unpickler and the tensor storages). Each may refuse any input with an {@link IOException}
 * ({@link NemoFormatException}); anything else is a finding.
 */
class NemoArchiveFuzzTest {
  private static final int CONTENT_LIMIT = 1 << 16;

  @FuzzTest(maxDuration = "30s")
  void tar(byte[] data) {
    try {
      TarReader inPlace = TarReader.of("fuzz.nemo", RandomAccessBytes.of(data));
      TarReader.Entry e;
      while ((e = inPlace.next()) != null) {
        if (e.isFile()) {
          try (RandomAccessBytes content = inPlace.openContent(e, CONTENT_LIMIT)) {
            if (content.size() != e.size) {
              throw new AssertionError(
                  e.rawName + ": content of " + content.size() + " bytes, header says " + e.size);
            }
          }
        }
      }
    } catch (IOException expected) {
      // refused with a reason
    }
    try {
      TarReader streamed = TarReader.of("fuzz.nemo", new ByteArrayInputStream(data));
      TarReader.Entry e;
      while ((e = streamed.next()) != null) {
        if (e.isFile() && e.size <= CONTENT_LIMIT) {
          streamed.readContent(e, CONTENT_LIMIT);
        }
      }
    } catch (IOException expected) {
      // refused with a reason
    }
  }

  @FuzzTest(maxDuration = "30s")
  void torchZip(byte[] data) {
    try {
      TorchCheckpointReader.read("fuzz.nemo", "./model_weights.ckpt", RandomAccessBytes.of(data));
    } catch (IOException expected) {
      // refused with a reason
    }
  }
}
