package org.nestspark.audio;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Fuzz targets of the audio decoders (Jazzer). In the normal test run they replay the committed inputs in
 * {@code src/test/resources/org/nestspark/audio/AudioFuzzTestInputs/<target>/}; {@code deploy/fuzz/fuzz.sh}
 * fuzzes each for a set time. A decoder may refuse any input with {@link AudioException} (a clear reason
 * naming the file); anything else thrown, a hang or an allocation past the JVM's heap is a finding.
 */
class AudioFuzzTest {
  @FuzzTest(maxDuration = "30s")
  void wav(byte[] data) {
    try {
      WavDecoder.decode(ByteSource.of(data), "fuzz.wav");
    } catch (AudioException expected) {
      // refused with a reason
    }
  }

  @FuzzTest(maxDuration = "30s")
  void flac(byte[] data) {
    try {
      FlacDecoder.decodeIntegers(data, "fuzz.flac");
    } catch (AudioException expected) {
      // refused with a reason
    }
  }
}
