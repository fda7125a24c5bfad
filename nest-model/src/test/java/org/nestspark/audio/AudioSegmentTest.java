package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link AudioSegment} through Hadoop's local FileSystem: the loader the pipeline uses. */
class AudioSegmentTest {
  private static Configuration conf;

  @TempDir Path tmp;

  @BeforeAll
  static void hadoop() {
    conf = new Configuration(false);
  }

  private static org.apache.hadoop.fs.Path hpath(Path p) {
    return new org.apache.hadoop.fs.Path(p.toUri());
  }

  private static org.apache.hadoop.fs.Path fixture(String rel) {
    return hpath(Fixtures.path(rel));
  }

  @Test
  void loadsSixteenKilohertzMonoAsIs() throws Exception {
    AudioSegment s = AudioSegment.load(fixture("flac/m16_16k.wav"), conf, 0, 0, 16000);
    DecodedAudio d = Fixtures.decode("flac/m16_16k.wav");
    assertArrayEquals(d.channel(0), s.samples());
    assertEquals(16000, s.sampleRate());
    assertEquals(16000, s.originalSampleRate());
    assertEquals(1, s.originalChannels());
    assertEquals(0.6, s.durationSeconds(), 1e-12);
    AudioSegment f = AudioSegment.load(fixture("flac/m16_16k_l8.flac"), conf, 0, 0, 16000);
    assertArrayEquals(s.samples(), f.samples());
  }

  @Test
  void offsetAndDurationAreAppliedAtTheFileRateBeforeResampling() throws Exception {
    // s16_44k.wav: 44.1 kHz stereo, 8820 frames. offset 0.05 s -> frame 2205, duration 0.1 s ->
    // 4410 frames,
    // then mono, then 4410 * 16000 / 44100 = 1600 samples at 16 kHz
    for (String f : new String[] {"flac/s16_44k.wav", "flac/s16_44k_l5.flac"}) {
      AudioSegment s = AudioSegment.load(fixture(f), conf, 0.05, 0.1, 16000);
      assertEquals(2205, s.startFrame());
      assertEquals(4410, s.originalFrames());
      assertEquals(44100, s.originalSampleRate());
      assertEquals(2, s.originalChannels());
      assertEquals(16000, s.sampleRate());
      assertEquals(1600, s.numSamples());
      assertEquals(0.1, s.durationSeconds(), 1e-12);

      DecodedAudio all = Fixtures.decode(f);
      float[] mono = new float[4410];
      for (int i = 0; i < 4410; i++) {
        mono[i] = (all.channel(0)[2205 + i] + all.channel(1)[2205 + i]) / 2f;
      }
      assertArrayEquals(Resampler.resample(mono, 44100, 16000), s.samples(), f);

      // target rate <= 0 keeps the file's rate (NeMo's target_sr=None)
      AudioSegment raw = AudioSegment.load(fixture(f), conf, 0.05, 0.1, 0);
      assertEquals(44100, raw.sampleRate());
      assertArrayEquals(mono, raw.samples());
    }
  }

  @Test
  void downMixAveragesAllChannels() throws Exception {
    AudioSegment s = AudioSegment.load(fixture("wav/sox_c3_s16.wav"), conf, 0, 0, 8000);
    DecodedAudio d = Fixtures.decode("wav/sox_c3_s16.wav");
    assertEquals(3, d.channels());
    assertEquals(3, s.originalChannels());
    for (int i = 0; i < d.frames(); i++) {
      float want = (d.channel(0)[i] + d.channel(1)[i] + d.channel(2)[i]) / 3f;
      assertEquals(want, s.samples()[i], 0f);
    }
    AudioSegment c3 = AudioSegment.load(fixture("flac/c3_8k.flac"), conf, 0, 0, 16000);
    assertEquals(3200, c3.numSamples());
  }

  @Test
  void sampleRateAlwaysComesFromTheHeader() throws Exception {
    // 8 kHz file loaded "for 16 kHz": resampled, twice the samples; never read as if it were 16 kHz
    AudioSegment s = AudioSegment.load(fixture("flac/m16_8k.wav"), conf, 0, 0, 16000);
    assertEquals(8000, s.originalSampleRate());
    assertEquals(6400, s.numSamples());
    assertEquals(0.4, s.durationSeconds(), 1e-12);
    // 11025 Hz FLAC (rate coded in Hz in the frame headers)
    AudioSegment f = AudioSegment.load(fixture("flac/m12_11025.flac"), conf, 0, 0, 16000);
    assertEquals(11025, f.originalSampleRate());
    assertEquals(Resampler.outputLength(f.originalFrames(), 11025, 16000), f.numSamples());
  }

  @Test
  void probeReadsHeadersOnly() throws Exception {
    AudioInfo w = AudioSegment.probe(fixture("flac/s24_48k.wav"), conf);
    assertEquals("WAV", w.format());
    assertEquals("PCM_24", w.encoding());
    assertEquals(48000, w.sampleRate());
    assertEquals(2, w.channels());
    assertEquals(9600, w.frames());
    assertEquals(0.2, w.durationSeconds(), 1e-12);
    AudioInfo f = AudioSegment.probe(fixture("flac/crafted_vbs.flac"), conf);
    assertEquals("FLAC", f.format());
    assertEquals("PCM_12", f.encoding());
    assertEquals(22050, f.sampleRate());
    assertEquals(6657, f.frames());
    AudioInfo r = AudioSegment.probe(fixture("wav/rf64_s16.wav"), conf);
    assertEquals("RF64", r.format());
    assertEquals(400, r.frames());
    // probe needs no valid audio: a FLAC cut after its metadata still probes (decoding it fails)
    byte[] flac = Fixtures.bytes("flac/m16_16k_l8.flac");
    int audio = FlacDecoder.readStreamInfo(flac, "x").audioOffset;
    Path cut = tmp.resolve("cut.flac");
    Files.write(cut, Arrays.copyOf(flac, audio + 10));
    assertEquals(9600, AudioSegment.probe(hpath(cut), conf).frames());
    assertThrows(AudioException.class, () -> AudioSegment.load(hpath(cut), conf, 0, 0, 16000));
  }

  @Test
  void fileNamesWithSpacesHashPercentPlusAndNonAscii() throws Exception {
    Path odd = tmp.resolve("clip #1 %20 + é ü 漢.wav");
    Files.copy(Fixtures.path("flac/m16_8k.wav"), odd);
    File file = odd.toFile();
    org.apache.hadoop.fs.Path p = new org.apache.hadoop.fs.Path(file.toURI());
    AudioSegment s = AudioSegment.load(p, conf, 0.1, 0.2, 16000);
    assertEquals(800, s.startFrame());
    assertEquals(3200, s.numSamples());
    assertEquals(8000, AudioSegment.probe(p, conf).sampleRate());
    Path oddFlac = tmp.resolve("ça + 100% #2.flac");
    Files.copy(Fixtures.path("flac/m16_8k_b1000.flac"), oddFlac);
    AudioSegment f =
        AudioSegment.load(
            new org.apache.hadoop.fs.Path(oddFlac.toFile().toURI()), conf, 0.1, 0.2, 16000);
    assertArrayEquals(s.samples(), f.samples());
    // a bad file with such a name: the message names the path
    Path bad = tmp.resolve("bad #3 %.wav");
    Files.write(bad, new byte[] {'R', 'I', 'F', 'F'});
    AudioException e =
        assertThrows(
            AudioException.class,
            () ->
                AudioSegment.load(
                    new org.apache.hadoop.fs.Path(bad.toFile().toURI()), conf, 0, 0, 16000));
    assertTrue(e.path().contains("bad"), e.path());
  }

  @Test
  void fileSystemProblemsAreClear() throws Exception {
    AudioException e =
        assertThrows(
            AudioException.class,
            () -> AudioSegment.load(hpath(tmp.resolve("nope.wav")), conf, 0, 0, 16000));
    assertEquals("no such file", e.reason());
    assertTrue(e.getMessage().endsWith("nope.wav: no such file"), e.getMessage());
    e =
        assertThrows(
            AudioException.class, () -> AudioSegment.probe(hpath(tmp.resolve("nope.flac")), conf));
    assertEquals("no such file", e.reason());

    Path dir = Files.createDirectory(tmp.resolve("a dir.wav"));
    e = assertThrows(AudioException.class, () -> AudioSegment.load(hpath(dir), conf, 0, 0, 16000));
    assertEquals("is a directory", e.reason());

    Path empty = Files.createFile(tmp.resolve("empty.wav"));
    e =
        assertThrows(
            AudioException.class, () -> AudioSegment.load(hpath(empty), conf, 0, 0, 16000));
    assertEquals("empty file (0 bytes)", e.reason());
    e = assertThrows(AudioException.class, () -> AudioSegment.probe(hpath(empty), conf));
    assertEquals("empty file (0 bytes)", e.reason());
  }

  @Test
  void everyBadFixtureIsAnAudioExceptionThroughTheLoader() throws Exception {
    String[][] cases = {
      {"bad/truncated_data.wav", "truncated: data chunk declares 3200 bytes, file has 2000"},
      {"bad/empty_data.wav", "no audio samples (the data chunk is empty)"},
      {"bad/nan.wav", "non-finite sample at frame 123 (channel 0): NaN"},
      {"bad/rate0.wav", "sample rate is 0 in the fmt chunk"},
      {
        "bad/alaw.wav",
        "unsupported WAV encoding: A-law (format tag 0x0006); only PCM and IEEE float are supported"
      },
      {"bad/vorbis.ogg", "unsupported format (Ogg Vorbis); supported are WAV and FLAC"},
      {"bad/sound.aiff", "unsupported format (AIFF); supported are WAV and FLAC"},
      {"bad/truncated.flac", "truncated: frame at sample 2048 "},
      {"bad/corrupt.flac", "corrupt frame at sample 1024 "},
    };
    for (String[] c : cases) {
      org.apache.hadoop.fs.Path p = fixture(c[0]);
      AudioException e =
          assertThrows(AudioException.class, () -> AudioSegment.load(p, conf, 0, 0, 16000), c[0]);
      assertTrue(e.reason().startsWith(c[1]), c[0] + ": " + e.getMessage());
      assertEquals(p.toString(), e.path());
    }
    // NaN at frame 123: a range before it loads fine (only the decoded range is checked)
    assertEquals(
        100, AudioSegment.load(fixture("bad/nan.wav"), conf, 0, 100 / 16000.0, 0).numSamples());
    // an offset past the end, through the loader (also checked by probe-based validation)
    AudioException e =
        assertThrows(
            AudioException.class,
            () -> AudioSegment.load(fixture("flac/m16_8k_b4096.flac"), conf, 2.5, 1.0, 16000));
    assertEquals("offset 2.5 s is beyond the end (0.4 s)", e.reason());
    e =
        assertThrows(
            AudioException.class,
            () -> AudioSegment.load(fixture("flac/m16_8k.wav"), conf, 0.41, 0, 16000));
    assertEquals("offset 0.41 s is beyond the end (0.4 s)", e.reason());
  }

  @Test
  void bytesInMemory() throws Exception {
    AudioSegment a =
        AudioSegment.decode(
            Fixtures.bytes("flac/s24_48k_l8.flac"), "member.flac", 0.01, 0.1, 16000);
    AudioSegment b = AudioSegment.load(fixture("flac/s24_48k.wav"), conf, 0.01, 0.1, 16000);
    assertArrayEquals(b.samples(), a.samples());
    assertEquals(1600, a.numSamples());
    assertEquals("member.flac", a.path());
  }
}
