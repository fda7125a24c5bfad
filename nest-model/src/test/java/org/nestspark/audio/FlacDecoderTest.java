package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Bit-exactness of {@link FlacDecoder} against {@code flac -d}: every FLAC fixture (encoded by the flac
 * CLI at several levels and settings, plus a hand-crafted stream validated by {@code flac -t}) must decode
 * to exactly the integers in its reference WAV.
 */
class FlacDecoderTest {

  static Stream<Arguments> references() {
    return Fixtures.flacReferences().stream().map(r -> Arguments.of(r[0], r[1]));
  }

  @ParameterizedTest(name = "{0} == flac -d ({1})")
  @MethodSource("references")
  void decodesBitExactlyLikeFlacCli(String flac, String ref) throws Exception {
    FlacDecoder.Result r = FlacDecoder.decodeIntegers(Fixtures.bytes("flac/" + flac), flac);
    int[][] want = Fixtures.wavIntegers(Fixtures.bytes("flac/" + ref), ref);
    assertEquals(want.length, r.samples().length, "channels");
    assertTrue(want[0].length > 1000, "reference too short to mean anything");
    for (int c = 0; c < want.length; c++) {
      assertArrayEquals(want[c], r.samples()[c], flac + " channel " + c);
    }
    assertEquals(want[0].length, r.streamInfo().totalSamples);

    // float path: FLAC s/2^(bits-1) equals the WAV reference's container scaling, sample for sample
    DecodedAudio f = AudioDecoders.decode(Fixtures.bytes("flac/" + flac), flac);
    DecodedAudio w = AudioDecoders.decode(Fixtures.bytes("flac/" + ref), ref);
    assertEquals("FLAC", f.format());
    assertEquals(w.sampleRate(), f.sampleRate());
    for (int c = 0; c < want.length; c++) {
      assertArrayEquals(w.channel(c), f.channel(c), flac + " float channel " + c);
    }
  }

  @Test
  void fixturesExerciseEveryCodingTool() throws Exception {
    FlacDecoder.Stats all = new FlacDecoder.Stats();
    Set<String> seen = new TreeSet<>();
    for (String[] r : Fixtures.flacReferences()) {
      if (seen.add(r[0])) {
        all.merge(FlacDecoder.decodeIntegers(Fixtures.bytes("flac/" + r[0]), r[0]).stats());
      }
    }
    assertTrue(all.constantSubframes > 0, "CONSTANT");
    assertTrue(all.verbatimSubframes > 0, "VERBATIM");
    assertTrue(all.fixedSubframes > 0, "FIXED");
    assertEquals(4, all.maxFixedOrder, "FIXED order 4");
    assertTrue(all.lpcSubframes > 0, "LPC");
    assertTrue(
        all.maxLpcOrder > 12,
        "LPC order beyond the subset limit (--lax -l 32): " + all.maxLpcOrder);
    assertTrue(all.wastedBitsSubframes > 0, "wasted bits");
    assertTrue(all.riceParamPartitions > 0, "Rice");
    assertTrue(all.rice2Partitions > 0, "Rice2");
    assertTrue(all.escapedPartitions > 0, "escaped partitions");
    assertTrue(all.maxPartitionOrder >= 4, "partition order " + all.maxPartitionOrder);
    assertTrue(all.variableBlockSize, "variable block size stream");
    for (int code : new int[] {0, 1, 2, 8, 9, 10}) {
      assertTrue(
          all.channelAssignments[code] > 0,
          "channel assignment " + code + ": " + Arrays.toString(all.channelAssignments));
    }
    for (int code = 1; code <= 15; code++) {
      assertTrue(
          all.blockSizeCodes.contains(code),
          "block size code " + code + " in " + all.blockSizeCodes);
    }
    for (int code : new int[] {0, 4, 5, 9, 10, 12, 13, 14}) {
      assertTrue(
          all.sampleRateCodes.contains(code),
          "sample rate code " + code + " in " + all.sampleRateCodes);
    }
    for (int code : new int[] {0, 1, 2, 4, 5, 6, 7}) {
      assertTrue(
          all.sampleSizeCodes.contains(code),
          "sample size code " + code + " in " + all.sampleSizeCodes);
    }
  }

  @Test
  void streamInfoAndScaling() throws Exception {
    FlacDecoder.StreamInfo si =
        FlacDecoder.readStreamInfo(Fixtures.bytes("flac/s24_48k_l8.flac"), "s24");
    assertEquals(48000, si.sampleRate);
    assertEquals(2, si.channels);
    assertEquals(24, si.bitsPerSample);
    assertEquals(9600, si.totalSamples);
    assertEquals("PCM_24", si.encoding());

    // 8-bit: s / 128, 32-bit: s / 2^31 (soundfile's FLAC scaling)
    FlacDecoder.Result r8 = FlacDecoder.decodeIntegers(Fixtures.bytes("flac/m8_12k.flac"), "m8");
    DecodedAudio d8 = FlacDecoder.decode(Fixtures.bytes("flac/m8_12k.flac"), "m8", 0, -1);
    assertEquals("PCM_S8", d8.encoding());
    for (int i = 0; i < r8.frames(); i++) {
      assertEquals(r8.samples()[0][i] / 128f, d8.channel(0)[i]);
    }
    FlacDecoder.Result r32 =
        FlacDecoder.decodeIntegers(Fixtures.bytes("flac/s32_16k_l8.flac"), "s32");
    DecodedAudio d32 = FlacDecoder.decode(Fixtures.bytes("flac/s32_16k_l8.flac"), "s32", 100, 50);
    assertEquals(50, d32.frames());
    for (int i = 0; i < 50; i++) {
      assertEquals((float) (r32.samples()[1][100 + i] / 2147483648.0), d32.channel(1)[i]);
    }
    int max = 0;
    for (int v : r32.samples()[0]) {
      max = Math.max(max, Math.abs(v));
    }
    assertTrue(max > (1 << 30), "32-bit fixture should be near full scale: " + max);
  }

  @Test
  void truncatedFileNamesTheCutFrame() {
    // bad/truncated.flac = m8_12k.flac (block size 1024) cut inside its third frame
    AudioException e =
        assertThrows(AudioException.class, () -> Fixtures.decode("bad/truncated.flac"));
    assertEquals("bad/truncated.flac", e.path());
    assertTrue(e.reason().startsWith("truncated: frame at sample 2048 "), e.getMessage());
  }

  @Test
  void flippedByteIsACorruptFrameAtItsSampleOffset() {
    // bad/corrupt.flac = m8_12k.flac with one byte flipped inside the frame at sample 1024
    AudioException e =
        assertThrows(AudioException.class, () -> Fixtures.decode("bad/corrupt.flac"));
    assertTrue(e.reason().startsWith("corrupt frame at sample 1024 "), e.getMessage());
    assertTrue(e.reason().contains("CRC-16 mismatch"), e.getMessage());
  }

  @Test
  void everySingleByteFlipInAFrameIsDetected() throws Exception {
    byte[] good = Fixtures.bytes("flac/m16_8k_b1024.flac");
    FlacDecoder.StreamInfo si = FlacDecoder.readStreamInfo(good, "x");
    int start = si.audioOffset;
    int detected = 0;
    int tried = 0;
    for (int p = start; p < Math.min(good.length, start + 600); p++) {
      byte[] bad = good.clone();
      bad[p] ^= 0x04;
      tried++;
      AudioException e =
          assertThrows(
              AudioException.class,
              () -> FlacDecoder.decodeIntegers(bad, "flip"),
              "flip at byte " + p + " went unnoticed");
      assertTrue(
          e.reason().contains("corrupt frame at sample 0 ")
              || e.reason().contains("lost frame sync")
              || e.reason().contains("truncated")
              || e.reason().startsWith("MD5 mismatch"),
          e.getMessage());
      detected++;
    }
    assertEquals(tried, detected);
  }

  @Test
  void md5AndLengthMismatchAreReported() throws Exception {
    byte[] good = Fixtures.bytes("flac/m16_8k_b4096.flac");
    int si = FlacDecoder.markerOffset(good) + 4 + 4; // STREAMINFO body
    byte[] badMd5 = good.clone();
    badMd5[si + 18] ^= 1;
    AudioException e =
        assertThrows(AudioException.class, () -> FlacDecoder.decodeIntegers(badMd5, "m"));
    assertTrue(e.reason().startsWith("MD5 mismatch"), e.getMessage());

    byte[] longer = good.clone();
    longer[si + 17] += 1; // total samples + 1
    e = assertThrows(AudioException.class, () -> FlacDecoder.decodeIntegers(longer, "m"));
    assertTrue(
        e.reason().startsWith("truncated: STREAMINFO declares 3201 samples, the frames hold 3200"),
        e.getMessage());

    // sample rate 0 in STREAMINFO (20 bits at body offset 10): reported, never defaulted to 16 kHz
    byte[] rate0 = good.clone();
    rate0[si + 10] = 0;
    rate0[si + 11] = 0;
    rate0[si + 12] &= 0x0F;
    e = assertThrows(AudioException.class, () -> AudioDecoders.decode(rate0, "r0"));
    assertEquals("r0: sample rate is 0 in STREAMINFO", e.getMessage());
    e = assertThrows(AudioException.class, () -> AudioDecoders.probe(rate0, "r0"));
    assertEquals("sample rate is 0 in STREAMINFO", e.reason());

    // a corrupt, absurd length (2^36 - 1) must neither allocate it nor be believed
    byte[] absurd = good.clone();
    absurd[si + 13] |= 0x0F;
    for (int k = 14; k < 18; k++) {
      absurd[si + k] = (byte) 0xFF;
    }
    e = assertThrows(AudioException.class, () -> FlacDecoder.decodeIntegers(absurd, "m"));
    assertTrue(
        e.reason()
            .startsWith("truncated: STREAMINFO declares 68719476735 samples, the frames hold 3200"),
        e.getMessage());
  }

  @Test
  void trailingId3v1TagIsIgnoredButOtherTrailingGarbageOnlyAfterTheDeclaredEnd() throws Exception {
    byte[] good = Fixtures.bytes("flac/m8_12k.flac");
    byte[] tagged = Arrays.copyOf(good, good.length + 128);
    tagged[good.length] = 'T';
    tagged[good.length + 1] = 'A';
    tagged[good.length + 2] = 'G';
    assertArrayEquals(
        FlacDecoder.decodeIntegers(good, "a").samples()[0],
        FlacDecoder.decodeIntegers(tagged, "b").samples()[0]);

    // unknown length (total samples 0) and garbage after the last frame -> lost sync
    byte[] unknown = Arrays.copyOf(good, good.length + 5);
    int si = FlacDecoder.markerOffset(good) + 8;
    unknown[si + 13] &= (byte) 0xF0;
    unknown[si + 14] = 0;
    unknown[si + 15] = 0;
    unknown[si + 16] = 0;
    unknown[si + 17] = 0;
    Arrays.fill(unknown, si + 18, si + 34, (byte) 0); // no MD5 either
    AudioException e =
        assertThrows(AudioException.class, () -> FlacDecoder.decodeIntegers(unknown, "u"));
    assertTrue(
        e.reason().startsWith("lost frame sync at byte " + good.length + " (after sample 6000)"),
        e.getMessage());
    // ...and without the garbage the length is found by decoding
    byte[] unknownClean = Arrays.copyOf(unknown, good.length);
    assertEquals(6000, FlacDecoder.decodeIntegers(unknownClean, "u").frames());
    assertEquals(6000, AudioDecoders.probe(unknownClean, "u").frames());
    assertEquals(0, FlacDecoder.readStreamInfo(unknownClean, "u").totalSamples);
  }

  @Test
  void id3v2TagBeforeTheMarkerIsSkipped() throws Exception {
    List<String[]> refs = Fixtures.flacReferences();
    assertTrue(refs.stream().anyMatch(r -> r[0].equals("m16_16k_id3.flac")));
    byte[] d = Fixtures.bytes("flac/m16_16k_id3.flac");
    assertEquals('I', d[0]);
    assertEquals(16000, AudioDecoders.probe(d, "id3").sampleRate());
  }
}
