package org.nestspark.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.manifest.ManifestReader;

class NoiseSamplerTest {
  @TempDir Path dir;

  private static ManifestEntry entry(String name, Double duration, double offset) {
    return new ManifestEntry(
        "noise.json", 1, 0, URI.create("file:///noise/" + name), name, duration, offset, "{}");
  }

  /** One recorded loader call. */
  private static final class Call {
    final String name;
    final double offset;
    final double duration;

    Call(String name, double offset, double duration) {
      this.name = name;
      this.offset = offset;
      this.duration = duration;
    }
  }

  /** A fake loader: {@code n} samples of value {@code v} for each call, recording the calls. */
  private static NoiseSampler.Loader constant(List<Call> calls, int n, float v) {
    return (e, off, dur) -> {
      calls.add(new Call(e.audioFilepath(), off, dur));
      float[] x = new float[n];
      Arrays.fill(x, v);
      return x;
    };
  }

  @Test
  void noEntriesGiveZerosOfAudioLength() {
    NoiseSampler s =
        new NoiseSampler(
            List.of(),
            16000,
            (e, o, d) -> {
              throw new AssertionError("not called");
            });
    NoiseSampler.Noise n = s.sample(12345, 1L);
    assertEquals(12345, n.length());
    assertArrayEquals(new float[12345], n.samples());
    assertNull(n.entry());
  }

  @Test
  void shortEntryIsReadFromItsOffsetAndZeroPadded() {
    List<Call> calls = new ArrayList<>();
    ManifestEntry e = entry("short.wav", 0.5, 0.25);
    NoiseSampler s = new NoiseSampler(List.of(e), 16000, constant(calls, 8000, 0.5f));
    NoiseSampler.Noise n = s.sample(16000, 3L);
    assertEquals(1, calls.size());
    assertEquals(0.25, calls.get(0).offset);
    assertEquals(0.5, calls.get(0).duration);
    assertEquals(8000, n.length()); // noise_len stays the short length
    assertEquals(16000, n.samples().length);
    assertEquals(0.5f, n.samples()[7999]);
    assertEquals(0f, n.samples()[8000]);
    assertSame(e, n.entry());
  }

  @Test
  void entryWithoutDurationIsReadWholeAndTruncated() {
    List<Call> calls = new ArrayList<>();
    NoiseSampler s =
        new NoiseSampler(
            List.of(entry("long.wav", null, 0.0)), 16000, constant(calls, 50000, 0.1f));
    NoiseSampler.Noise n = s.sample(16000, 4L);
    assertEquals(0.0, calls.get(0).offset);
    assertEquals(0.0, calls.get(0).duration); // to the end of the file
    assertEquals(16000, n.length());
    assertEquals(16000, n.samples().length);
  }

  /** duration > max_dur: offset ~ U(0, duration − max_dur), the entry's own offset ignored (NeMo quirk). */
  @Test
  void longEntryDrawsAnOffsetIgnoringItsOwn() {
    List<Call> calls = new ArrayList<>();
    ManifestEntry e = entry("long.wav", 10.0, 7.5);
    NoiseSampler s = new NoiseSampler(List.of(e), 16000, constant(calls, 24000, 0.2f));
    double lo = Double.POSITIVE_INFINITY;
    double hi = 0;
    for (long seed = 0; seed < 400; seed++) {
      calls.clear();
      NoiseSampler.Noise n = s.sample(24000, seed);
      assertEquals(1, calls.size());
      Call c = calls.get(0);
      assertEquals(1.5, c.duration); // max_dur = 24000 / 16000
      assertTrue(c.offset >= 0 && c.offset < 8.5, "offset " + c.offset);
      lo = Math.min(lo, c.offset);
      hi = Math.max(hi, c.offset);
      assertEquals(24000, n.length());
    }
    assertTrue(lo < 0.2 && hi > 8.3, "offsets cover [0, 8.5): " + lo + " … " + hi);
    assertTrue(lo < 7.5, "the entry's offset 7.5 is not a lower bound");
  }

  /** Segments are accepted on a positive signed sum; after 100 non-positive reads the last one is kept. */
  @Test
  void signedSumRuleAndTrialLimit() {
    int[] count = {0};
    NoiseSampler.Loader negativeThenPositive =
        (e, o, d) -> {
          count[0]++;
          float[] x = new float[100];
          Arrays.fill(x, count[0] <= 3 ? -0.1f : 0.1f);
          x[0] = 5f * (count[0] <= 3 ? -1 : 1);
          return x;
        };
    NoiseSampler s = new NoiseSampler(List.of(entry("n.wav", 5.0, 0)), 16000, negativeThenPositive);
    NoiseSampler.Noise n = s.sample(1600, 1L);
    assertEquals(4, count[0]);
    assertEquals(5f, n.samples()[0]);
    // high energy but negative sum: rejected every time, the 100th read is used as it is (no white
    // noise)
    count[0] = 0;
    NoiseSampler.Loader alwaysNegative =
        (e, o, d) -> {
          count[0]++;
          float[] x = new float[100];
          Arrays.fill(x, -0.3f);
          x[0] = count[0] / 1000f; // marks the read; the sum stays negative
          return x;
        };
    n = new NoiseSampler(List.of(entry("n.wav", 5.0, 0)), 16000, alwaysNegative).sample(1600, 2L);
    assertEquals(NoiseSampler.MAX_SEGMENT_TRIALS, count[0]);
    assertEquals(100 / 1000f, n.samples()[0]);
    assertFalse(n.whiteNoiseDb().isPresent());
    assertEquals(100, n.length());
  }

  /** Samples summing to exactly 0 get white noise at an integer level in [−90, −46) dB. */
  @Test
  void silentNoiseGetsWhiteNoise() {
    NoiseSampler s =
        new NoiseSampler(
            List.of(entry("silent.wav", null, 0)), 16000, (e, o, d) -> new float[20000]);
    Set<Integer> levels = new TreeSet<>();
    for (long seed = 0; seed < 2000; seed++) {
      levels.add(s.sample(10, seed).whiteNoiseDb().orElseThrow());
    }
    for (long seed = 0; seed < 20; seed++) {
      NoiseSampler.Noise n = s.sample(16000, seed);
      int db = n.whiteNoiseDb().orElseThrow();
      double sq = 0;
      for (float v : n.samples()) {
        sq += (double) v * v;
      }
      double rms = Math.sqrt(sq / 16000);
      assertEquals(Math.pow(10, db / 20.0), rms, 0.05 * rms); // 16000 N(0,1) draws: rms within ~1 %
      assertEquals(16000, n.length());
    }
    assertEquals(44, levels.size()); // every integer of [−90, −46)
    assertEquals(-90, (int) ((TreeSet<Integer>) levels).first());
    assertEquals(-47, (int) ((TreeSet<Integer>) levels).last());
  }

  @Test
  void failedLoadsAreRetriedThenZeros() {
    int[] calls = {0};
    NoiseSampler.Loader flaky =
        (e, o, d) -> {
          calls[0]++;
          if (e.audioFilepath().equals("bad.wav")) {
            throw new IOException("corrupt");
          }
          return new float[] {1f, 2f};
        };
    NoiseSampler s =
        new NoiseSampler(
            List.of(entry("bad.wav", null, 0), entry("good.wav", null, 0)), 16000, flaky);
    int sawFailures = 0;
    for (long seed = 0; seed < 50; seed++) {
      NoiseSampler.Noise n = s.sample(10, seed);
      assertEquals("good.wav", n.entry().audioFilepath());
      assertEquals(2, n.length());
      sawFailures += n.failedLoads() > 0 ? 1 : 0;
    }
    assertTrue(sawFailures > 10);
    calls[0] = 0;
    NoiseSampler allBad = new NoiseSampler(List.of(entry("bad.wav", null, 0)), 16000, flaky);
    NoiseSampler.Noise n = allBad.sample(777, 1L);
    assertEquals(NoiseSampler.MAX_TRIALS, calls[0]);
    assertEquals(NoiseSampler.MAX_TRIALS, n.failedLoads());
    assertEquals(777, n.length());
    assertArrayEquals(new float[777], n.samples());
    assertNull(n.entry());
  }

  @Test
  void entriesArePickedUniformlyAndDeterministically() {
    List<ManifestEntry> es = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      es.add(entry("n" + i + ".wav", null, 0));
    }
    NoiseSampler s =
        new NoiseSampler(
            es,
            16000,
            (e, o, d) -> new float[] {Float.parseFloat(e.audioFilepath().substring(1, 2)) + 1});
    java.util.SplittableRandom rng = new java.util.SplittableRandom(8);
    int[] counts = new int[4];
    for (int i = 0; i < 8000; i++) {
      counts[(int) s.sample(4, rng).samples()[0] - 1]++;
    }
    for (int c : counts) {
      assertEquals(2000, c, 200);
    }
    assertArrayEquals(s.sample(4, 99L).samples(), s.sample(4, 99L).samples());
  }

  /** The real loader: NeMo's offset/duration rule through AudioSegment, on a WAV listed in a manifest. */
  @Test
  void audioLoaderReadsTheRequestedSegment() throws Exception {
    int n = 48000; // 3 s ramp, PCM16
    short[] pcm = new short[n];
    for (int i = 0; i < n; i++) {
      pcm[i] = (short) ((i % 20000) + 1);
    }
    Files.write(dir.resolve("ramp.wav"), wav(pcm, 16000));
    Path manifest = dir.resolve("noise.json");
    Files.writeString(
        manifest,
        "{\"audio_filepath\": \"ramp.wav\", \"duration\": 3.0}\n"
            + "{\"audio_filepath\": \"ramp.wav\", \"duration\": 0.5, \"offset\": 1.0}\n");
    Configuration conf = new Configuration(false);
    List<ManifestEntry> es =
        ManifestReader.unfiltered(conf).read(List.of(manifest.toString())).entries();
    NoiseSampler longOnly = serialize(NoiseSampler.withAudio(es.subList(0, 1), 16000, conf));
    NoiseSampler.Noise a = longOnly.sample(16000, 5L);
    assertEquals(16000, a.length());
    int start =
        Math.round(a.samples()[0] * 32768f) - 1; // ramp value v at frame v − 1 (before the wrap)
    for (int i = 0; i < 16000; i++) {
      int frame = start + i;
      assertEquals(((frame % 20000) + 1) / 32768f, a.samples()[i], 0f, "sample " + i);
    }
    NoiseSampler shortOnly = NoiseSampler.withAudio(es.subList(1, 2), 16000, conf);
    NoiseSampler.Noise b = shortOnly.sample(16000, 5L);
    assertEquals(8000, b.length()); // offset 1.0 s, 0.5 s
    assertEquals(16001 / 32768f, b.samples()[0]);
    assertEquals(0f, b.samples()[8000]);
  }

  private static NoiseSampler serialize(NoiseSampler s) throws Exception {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
      out.writeObject(s);
    }
    try (ObjectInputStream in =
        new ObjectInputStream(new ByteArrayInputStream(bos.toByteArray()))) {
      return (NoiseSampler) in.readObject();
    }
  }

  private static byte[] wav(short[] pcm, int rate) {
    ByteBuffer b = ByteBuffer.allocate(44 + 2 * pcm.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(36 + 2 * pcm.length);
    b.put("WAVE".getBytes(StandardCharsets.US_ASCII));
    b.put("fmt ".getBytes(StandardCharsets.US_ASCII))
        .putInt(16)
        .putShort((short) 1)
        .putShort((short) 1);
    b.putInt(rate).putInt(rate * 2).putShort((short) 2).putShort((short) 16);
    b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(2 * pcm.length);
    for (short s : pcm) {
      b.putShort(s);
    }
    return b.array();
  }
}
