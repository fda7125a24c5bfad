package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** {@link WavDecoder}: every encoding's scaling, sox-written headers, chunk layouts, RF64, ranges, errors. */
class WavDecoderTest {
  // the values make-audio-fixtures.sh writes into wav/vals_*.wav
  private static final int[] U8 = {0, 255, 128, 1, 127, 129, 64, 200};
  private static final int[] S16 = {-32768, 32767, 0, 1, -1, 12345, -23456, 256};
  private static final int[] S24 = {-8388608, 8388607, 0, 1, -1, 1234567, -7654321, 65536};
  private static final int[] S32 = {
    -2147483648, 2147483647, 0, 1, -1, 123456789, -987654321, 16777217
  };
  private static final float[] F32 = {0.0f, -1.0f, 1.0f, 0.5f, -0.25f, 1.5f, 1e-30f, -3.4e38f};
  private static final double[] F64 = {0.0, -1.0, 1.0, 0.1, -1.0 / 3, 2.5, 1e-300, 123456.789};
  private static final int[] S20 = {-524288, 524287, 0, 1, -1, 300000, -12345, 16};

  private static void assertValues(String file, String encoding, int bits, float[] want)
      throws AudioException {
    DecodedAudio d = Fixtures.decode("wav/" + file);
    assertEquals(encoding, d.encoding(), file);
    assertEquals(bits, d.bitsPerSample(), file);
    assertEquals(16000, d.sampleRate());
    assertEquals(1, d.channels());
    assertArrayEquals(want, d.channel(0), file);
  }

  @Test
  void integerPcmIsScaledLikeSoundfile() throws Exception {
    float[] u8 = new float[U8.length];
    for (int i = 0; i < U8.length; i++) {
      u8[i] = (U8[i] - 128) / 128f;
    }
    assertEquals(-1f, u8[0]);
    assertEquals(127 / 128f, u8[1]);
    assertValues("vals_u8.wav", "PCM_U8", 8, u8);
    assertValues("vals_u8_ext.wav", "PCM_U8", 8, u8);

    float[] s16 = new float[S16.length];
    for (int i = 0; i < S16.length; i++) {
      s16[i] = S16[i] / 32768f;
    }
    assertEquals(32767 / 32768f, s16[1]);
    assertValues("vals_s16.wav", "PCM_16", 16, s16);

    float[] s24 = new float[S24.length];
    for (int i = 0; i < S24.length; i++) {
      s24[i] = S24[i] / 8388608f;
    }
    assertValues("vals_s24.wav", "PCM_24", 24, s24);
    assertValues("vals_s24_ext.wav", "PCM_24", 24, s24);

    float[] s32 = new float[S32.length];
    for (int i = 0; i < S32.length; i++) {
      s32[i] = (float) (S32[i] / 2147483648.0);
    }
    assertEquals(1.0f, s32[1]); // 2147483647/2^31 rounds to 1.0f in float32, as in soundfile
    assertValues("vals_s32.wav", "PCM_32", 32, s32);
    assertValues("vals_s32_ext.wav", "PCM_32", 32, s32);

    // 20 valid bits in a 24-bit container (left-justified): container scaling
    float[] s20 = new float[S20.length];
    for (int i = 0; i < S20.length; i++) {
      s20[i] = (S20[i] << 4) / 8388608f;
    }
    assertValues("vals_s20in24_ext.wav", "PCM_24", 24, s20);
    WavDecoder.Header h =
        WavDecoder.readHeader(ByteSource.of(Fixtures.bytes("wav/vals_s20in24_ext.wav")), "x");
    assertEquals(20, h.validBits());
  }

  @Test
  void floatIsKeptAndDoubleIsCastToFloat() throws Exception {
    assertValues("vals_f32.wav", "FLOAT", 32, F32);
    assertValues("vals_f32_ext.wav", "FLOAT", 32, F32);
    float[] f64 = new float[F64.length];
    for (int i = 0; i < F64.length; i++) {
      f64[i] = (float) F64[i];
    }
    assertEquals(0f, f64[6]); // 1e-300 underflows to 0 in float32
    assertValues("vals_f64.wav", "DOUBLE", 64, f64);
  }

  @ParameterizedTest
  @CsvSource({
    "sox_u8.wav,PCM_U8",
    "sox_s24.wav,PCM_24",
    "sox_s32.wav,PCM_32",
    "sox_f32.wav,FLOAT",
    "sox_f64.wav,DOUBLE",
    "rf64_s16.wav,PCM_16",
    "bw64_s16.wav,PCM_16"
  })
  void soxWrittenEncodingsAndRf64DecodeToTheSameSamples(String file, String encoding)
      throws Exception {
    DecodedAudio ref = Fixtures.decode("wav/sox_s16.wav");
    DecodedAudio d = Fixtures.decode("wav/" + file);
    assertEquals(encoding, d.encoding());
    assertEquals(file.startsWith("rf64") || file.startsWith("bw64") ? "RF64" : "WAV", d.format());
    assertEquals(8000, d.sampleRate());
    assertEquals(2, d.channels());
    assertEquals(400, d.frames());
    assertArrayEquals(ref.channel(0), d.channel(0), file);
    assertArrayEquals(ref.channel(1), d.channel(1), file);
    float peak = 0;
    for (float v : ref.channel(0)) {
      peak = Math.max(peak, Math.abs(v));
    }
    assertTrue(peak > 0.25f, "reference signal too quiet: " + peak);
  }

  @Test
  void chunksBeforeAndAfterDataOddSizesAndFmtAfterData() throws Exception {
    DecodedAudio plain = Fixtures.decode("wav/chunks_plain.wav");
    assertEquals(399, plain.frames());
    assertEquals(11025, plain.sampleRate());
    for (String f : new String[] {"chunks_odd.wav", "chunks_fmt_last.wav"}) {
      DecodedAudio d = Fixtures.decode("wav/" + f);
      assertEquals(399, d.frames(), f);
      assertArrayEquals(plain.channel(0), d.channel(0), f);
    }
    WavDecoder.Header h =
        WavDecoder.readHeader(ByteSource.of(Fixtures.bytes("wav/chunks_odd.wav")), "x");
    // RIFF(12) fmt(8+16) JUNK(8+28) LIST(8+17+pad) fact(8+4) data header(8)
    assertEquals(12 + 24 + 36 + 26 + 12 + 8, h.dataOffset());
    assertEquals(399, h.dataBytes());
  }

  @Test
  void rangeDecodingReadsOnlyTheRange() throws Exception {
    byte[] wav = Fixtures.bytes("flac/s24_48k.wav");
    DecodedAudio all = AudioDecoders.decode(wav, "s24");
    long[] read = {0};
    ByteSource counting =
        new ByteSource() {
          @Override
          public long length() {
            return wav.length;
          }

          @Override
          public void readFully(long position, byte[] buffer, int offset, int length)
              throws IOException {
            read[0] += length;
            ByteSource.of(wav).readFully(position, buffer, offset, length);
          }
        };
    DecodedAudio part = WavDecoder.decode(counting, "s24", 5000, 1234);
    assertEquals(5000, part.startFrame());
    assertEquals(1234, part.frames());
    for (int c = 0; c < 2; c++) {
      for (int i = 0; i < 1234; i++) {
        assertEquals(all.channel(c)[5000 + i], part.channel(c)[i]);
      }
    }
    // header prefix (whole file if < 64 KiB, here 57 KB) + the 1234 frames of 6 bytes
    assertTrue(read[0] <= wav.length + 1234 * 6, "read " + read[0]);
    // the range itself is not re-read beyond its bytes: decode a range from a big synthetic file
    byte[] big = bigWav(200_000);
    read[0] = 0;
    ByteSource bigCounting =
        new ByteSource() {
          @Override
          public long length() {
            return big.length;
          }

          @Override
          public void readFully(long position, byte[] buffer, int offset, int length)
              throws IOException {
            read[0] += length;
            ByteSource.of(big).readFully(position, buffer, offset, length);
          }
        };
    DecodedAudio seg = WavDecoder.decode(bigCounting, "big", 150_000, 1000);
    assertEquals(1000, seg.frames());
    assertEquals((short) (150_000 * 7) / 32768f, seg.channel(0)[0]);
    assertTrue(read[0] <= 65536 + 2000, "read " + read[0] + " bytes of " + big.length);
    // clipped at the end of the file, like soundfile's short read
    assertEquals(500, WavDecoder.decode(ByteSource.of(big), "big", 199_500, 1000).frames());
  }

  /** A 16-bit mono 16 kHz WAV whose sample i is (short) (i * 7). */
  static byte[] bigWav(int frames) {
    byte[] b = new byte[44 + 2 * frames];
    java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    bb.put("RIFF".getBytes()).putInt(36 + 2 * frames).put("WAVE".getBytes());
    bb.put("fmt ".getBytes())
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1)
        .putInt(16000)
        .putInt(32000)
        .putShort((short) 2)
        .putShort((short) 16);
    bb.put("data".getBytes()).putInt(2 * frames);
    for (int i = 0; i < frames; i++) {
      bb.putShort((short) (i * 7));
    }
    return b;
  }

  private static AudioException fails(String file) {
    return assertThrows(AudioException.class, () -> Fixtures.decode(file), file);
  }

  @Test
  void dataChunkLongerThanTheFileIsReported() {
    AudioException e = fails("bad/truncated_data.wav");
    assertEquals("truncated: data chunk declares 3200 bytes, file has 2000", e.reason());
    assertEquals(
        "bad/truncated_data.wav: truncated: data chunk declares 3200 bytes, file has 2000",
        e.getMessage());
    e = fails("bad/ffff_data.wav");
    assertTrue(
        e.reason()
            .startsWith(
                "truncated: data chunk declares 4294967295 bytes, file has 1000 (size 0xFFFFFFFF"),
        e.reason());
    e = fails("bad/lying_list.wav");
    assertTrue(
        e.reason().startsWith("truncated: 'LIST' chunk at byte 12 declares 100000 bytes"),
        e.reason());
  }

  @Test
  void malformedHeadersAreReported() {
    assertEquals(
        "data chunk size 1999 is not a multiple of the block size 2 (1 channel(s) x 2 bytes)",
        fails("bad/not_block_multiple.wav").reason());
    assertEquals("sample rate is 0 in the fmt chunk", fails("bad/rate0.wav").reason());
    assertEquals(
        "no audio samples (the data chunk is empty)", fails("bad/empty_data.wav").reason());
  }

  @Test
  void nonFiniteFloatSamplesAreReportedWithTheirFrame() {
    assertEquals("non-finite sample at frame 123 (channel 0): NaN", fails("bad/nan.wav").reason());
    assertEquals(
        "non-finite sample at frame 57 (channel 1): -Infinity", fails("bad/inf.wav").reason());
    assertEquals(
        "non-finite sample at frame 42 (channel 0): float64 value 1.0E300 overflows float32",
        fails("bad/f64_overflow.wav").reason());
  }

  @Test
  void unsupportedEncodingsAreNamed() {
    assertEquals(
        "unsupported WAV encoding: A-law (format tag 0x0006); only PCM and IEEE float are supported",
        fails("bad/alaw.wav").reason());
    assertEquals(
        "unsupported WAV encoding: mu-law (format tag 0x0007); only PCM and IEEE float are supported",
        fails("bad/ulaw.wav").reason());
    assertTrue(
        fails("bad/ima_adpcm.wav")
            .reason()
            .startsWith("unsupported WAV encoding: IMA ADPCM (format tag 0x0011)"));
  }

  @Test
  void truncatedHeaderIsReported() {
    byte[] wav = Fixtures.bytes("wav/vals_s16.wav");
    for (int cut : new int[] {4, 11, 20, 30, 43}) {
      byte[] b = java.util.Arrays.copyOf(wav, cut);
      AudioException e =
          assertThrows(AudioException.class, () -> AudioDecoders.decode(b, "cut"), "cut " + cut);
      assertTrue(
          e.reason().startsWith("truncated")
              || e.reason().startsWith("no fmt chunk")
              || e.reason().startsWith("no data chunk")
              || e.reason().startsWith("unsupported format"),
          cut + ": " + e.reason());
    }
  }
}
