package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Container sniffing, NeMo's offset/duration rule and the no-unchecked-exception guarantee. */
class AudioDecodersTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource(
      delimiter = '|',
      value = {
        "bad/vorbis.ogg|unsupported format (Ogg Vorbis); supported are WAV and FLAC",
        "bad/sound.aiff|unsupported format (AIFF); supported are WAV and FLAC",
        "bad/sound.mp3|unsupported format (MPEG audio layer 3 (MP3)); supported are WAV and FLAC",
        "bad/sound.au|unsupported format (Sun/NeXT AU); supported are WAV and FLAC",
        "bad/text.wav|unsupported format (text file: \"this is not audio, just...\"); supported are WAV and FLAC"
      })
  void unsupportedContainersAreNamed(String file, String reason) {
    AudioException e = assertThrows(AudioException.class, () -> Fixtures.decode(file));
    assertEquals(reason, e.reason());
    assertEquals(file, e.path());
    AudioException p =
        assertThrows(AudioException.class, () -> AudioDecoders.probe(Fixtures.bytes(file), file));
    assertEquals(reason, p.reason());
  }

  @Test
  void otherMagicNumbers() {
    assertEquals(
        "MP4/M4A (ftyp 'M4A ')", AudioDecoders.describe(bytes("\0\0\0\u0020ftypM4A \0\0\0\0"), 16));
    assertEquals(
        "RIFF container of type 'AVI ', not WAVE",
        AudioDecoders.describe(bytes("RIFF\0\0\0\0AVI LIST"), 16));
    assertEquals("NIST SPHERE", AudioDecoders.describe(bytes("NIST_1A\n   1024\n"), 16));
    assertEquals(
        "MP3 or other audio behind an ID3v2 tag (no fLaC marker after it)",
        AudioDecoders.describe(bytes("ID3\u0003\0\0\0\0\0\u0001x\u00ff\u00fb"), 13));
    assertEquals(
        "unknown; first bytes 00 01 02 03 \"....\", file is only 4 bytes",
        AudioDecoders.describe(new byte[] {0, 1, 2, 3}, 4));
    AudioException e =
        assertThrows(AudioException.class, () -> AudioDecoders.decode(new byte[0], "empty"));
    assertEquals("empty file (0 bytes)", e.reason());
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.ISO_8859_1);
  }

  @Test
  void inputStreamAndByteArrayAgree() throws Exception {
    byte[] flac = Fixtures.bytes("flac/s16_44k_l8.flac");
    DecodedAudio a = AudioDecoders.decode(flac, "a");
    DecodedAudio b = AudioDecoders.decode(new ByteArrayInputStream(flac), "b");
    assertArrayEquals(a.channel(1), b.channel(1));
    InputStream failing =
        new InputStream() {
          @Override
          public int read() throws IOException {
            throw new IOException("disk on fire");
          }
        };
    AudioException e = assertThrows(AudioException.class, () -> AudioDecoders.decode(failing, "s"));
    assertTrue(e.reason().startsWith("read error: java.io.IOException: disk on fire"), e.reason());
  }

  @Test
  void nemoOffsetAndDurationRule() throws Exception {
    // 16 kHz mono (9600 frames): offset 0.1234 s -> frame (int)(0.1234*16000) = 1974, duration 0.05
    // s -> 800
    for (String f : new String[] {"flac/m16_16k.wav", "flac/m16_16k_l8.flac"}) {
      byte[] b = Fixtures.bytes(f);
      DecodedAudio all = AudioDecoders.decode(b, f);
      DecodedAudio d = AudioDecoders.decodeSeconds(ByteSource.of(b), f, 0.1234, 0.05);
      assertEquals(1974, d.startFrame());
      assertEquals(800, d.frames());
      assertArrayEquals(Arrays.copyOfRange(all.channel(0), 1974, 1974 + 800), d.channel(0), f);
      // duration past the end: short read to the end of file, like soundfile
      DecodedAudio tail = AudioDecoders.decodeSeconds(ByteSource.of(b), f, 0.55, 10.0);
      assertEquals(8800, tail.startFrame());
      assertEquals(800, tail.frames());
      // offset <= 0 and duration <= 0: everything
      assertEquals(9600, AudioDecoders.decodeSeconds(ByteSource.of(b), f, -1, 0).frames());
      // truncation, not rounding: 0.00006 s * 16000 = 0.96 -> 0 frames
      AudioException e =
          assertThrows(
              AudioException.class,
              () -> AudioDecoders.decodeSeconds(ByteSource.of(b), f, 0, 0.00006));
      assertEquals("no audio samples (duration 0.00006 s is 0 frames at 16000 Hz)", e.reason());
      e =
          assertThrows(
              AudioException.class, () -> AudioDecoders.decodeSeconds(ByteSource.of(b), f, 0.7, 0));
      assertEquals("offset 0.7 s is beyond the end (0.6 s)", e.reason());
      e =
          assertThrows(
              AudioException.class, () -> AudioDecoders.decodeSeconds(ByteSource.of(b), f, 0.6, 0));
      assertEquals("offset 0.6 s is beyond the end (0.6 s)", e.reason());
      e =
          assertThrows(
              AudioException.class,
              () -> AudioDecoders.decodeSeconds(ByteSource.of(b), f, Double.NaN, 0));
      assertEquals("invalid offset NaN", e.reason());
    }
    // 44.1 kHz: offset 0.1 s -> (int)(0.1 * 44100) = 4410 ; 0.07 s -> (int)(3087.0000000000005) =
    // 3087
    byte[] s = Fixtures.bytes("flac/s16_44k.wav");
    DecodedAudio d = AudioDecoders.decodeSeconds(ByteSource.of(s), "s", 0.1, 0.07);
    assertEquals(4410, d.startFrame());
    assertEquals(3087, d.frames());
    // double arithmetic truncated like Python's int(): 0.0705 * 48000 = 3383.9999999999995 -> 3383
    // (not 3384),
    // 0.036 * 48000 = 1727.9999999999998 -> 1727 frames
    byte[] s48 = Fixtures.bytes("flac/s24_48k.wav");
    DecodedAudio d48 = AudioDecoders.decodeSeconds(ByteSource.of(s48), "s48", 0.0705, 0.036);
    assertEquals(3383, d48.startFrame());
    assertEquals(1727, d48.frames());
    byte[] big = WavDecoderTest.bigWav(1000);
    DecodedAudio t =
        AudioDecoders.decodeSeconds(ByteSource.of(big), "b", 0.0, 0.0401); // 0.0401*16000 = 641.6
    assertEquals(641, t.frames());
  }

  @Test
  void probeReadsOnlyTheHeaderBytes() throws Exception {
    for (String f :
        new String[] {"flac/m16_16k_l5.flac", "flac/m16_16k_id3.flac", "flac/s24_48k.wav"}) {
      byte[] b = Fixtures.bytes(f);
      long[] read = {0};
      ByteSource counting =
          new ByteSource() {
            @Override
            public long length() {
              return b.length;
            }

            @Override
            public void readFully(long position, byte[] buffer, int offset, int length)
                throws IOException {
              read[0] += length;
              ByteSource.of(b).readFully(position, buffer, offset, length);
            }
          };
      AudioInfo info = AudioDecoders.probe(counting, f);
      assertTrue(info.frames() > 0);
      // FLAC: two 64-byte sniffs, the marker after a long ID3v2 tag (4), STREAMINFO (42); WAV:
      // sniff + 8 KiB
      assertTrue(
          read[0] <= (f.endsWith(".flac") ? 2 * 64 + 4 + 42 : 64 + 8192),
          f + ": read " + read[0] + " of " + b.length);
    }
  }

  @Test
  void randomGarbageNeverEscapesAsAnUncheckedException() throws Exception {
    // corrupt real files at random places: the result is either valid audio or an AudioException
    Random rnd = new Random(7);
    String[] files = {
      "flac/s24_48k_l8.flac",
      "flac/crafted_vbs.flac",
      "wav/chunks_odd.wav",
      "wav/rf64_s16.wav",
      "flac/c3_8k.flac"
    };
    int errors = 0;
    for (String f : files) {
      byte[] good = Fixtures.bytes(f);
      for (int trial = 0; trial < 60; trial++) {
        byte[] b = good.clone();
        int flips = 1 + rnd.nextInt(4);
        int region =
            trial % 2 == 0 ? Math.min(b.length, 120) : b.length; // headers get half the trials
        for (int k = 0; k < flips; k++) {
          b[rnd.nextInt(region)] = (byte) rnd.nextInt(256);
        }
        if (trial % 5 == 0) {
          b = Arrays.copyOf(b, rnd.nextInt(b.length));
        }
        try {
          AudioDecoders.decode(b, f);
          AudioDecoders.probe(b, f);
        } catch (AudioException e) {
          errors++;
          assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
        }
      }
    }
    assertTrue(errors > 100, "most corruptions must be detected: " + errors);
  }
}
