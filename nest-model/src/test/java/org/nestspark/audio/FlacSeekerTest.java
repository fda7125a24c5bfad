package org.nestspark.audio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FlacSeeker}: a range decoded by seeking (SEEKTABLE or frame-sync search) is bit for bit the whole-file
 * decode cut to the range, reads only part of the file, and reports a corrupt frame inside the range like
 * the whole-file decoder. Fixtures: audio/seek/ (src/test/scripts/make-seek-fixtures.sh) and audio/flac/.
 */
class FlacSeekerTest {

  /** Counts the bytes read through it. */
  static final class CountingSource implements ByteSource {
    final byte[] data;
    long bytesRead;
    int reads;

    CountingSource(byte[] data) {
      this.data = data;
    }

    @Override
    public long length() {
      return data.length;
    }

    @Override
    public void readFully(long position, byte[] buffer, int offset, int length) throws IOException {
      ByteSource.of(data).readFully(position, buffer, offset, length);
      bytesRead += length;
      reads++;
    }
  }

  private static int[][] cut(int[][] all, long start, long count) {
    int n = (int) Math.min(count < 0 ? Long.MAX_VALUE : count, all[0].length - start);
    int[][] out = new int[all.length][];
    for (int c = 0; c < all.length; c++) {
      out[c] = java.util.Arrays.copyOfRange(all[c], (int) start, (int) start + n);
    }
    return out;
  }

  private static void assertParity(
      String rel, byte[] data, FlacDecoder.Result whole, long start, long count) throws Exception {
    FlacSeeker.Segment s = new FlacSeeker(ByteSource.of(data), rel).decode(start, count);
    int[][] want = cut(whole.samples(), start, count);
    assertEquals(start, s.startFrame());
    for (int c = 0; c < want.length; c++) {
      assertArrayEquals(
          want[c], s.samples()[c], rel + " start " + start + " count " + count + " channel " + c);
    }
    assertTrue(s.firstDecodedSample() <= start, "decoding starts at or before the range");
  }

  /** Offsets: first sample, inside the first frame, either side of frame boundaries, the middle, near the end. */
  private static TreeSet<Long> offsets(FlacDecoder.StreamInfo si, long total) {
    TreeSet<Long> o = new TreeSet<>();
    o.add(0L);
    o.add(1L);
    o.add((long) si.minBlockSize / 2);
    for (long k = 1; k * si.maxBlockSize < total && k < 40; k++) {
      o.add(k * si.maxBlockSize);
      o.add(k * si.maxBlockSize - 1);
    }
    o.add(total / 2);
    o.add(total / 3 + 17);
    o.add(total - si.maxBlockSize - 3);
    o.add(total - 10);
    o.add(total - 1);
    o.removeIf(v -> v < 0 || v >= total);
    return o;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(
      strings = {
        "seek/sweep8k_seektable.flac",
        "seek/sweep8k_noseektable.flac",
        "flac/s24_48k_l8.flac",
        "flac/m16_16k_id3.flac",
        "flac/m8_8k_long_b32768.flac",
        "flac/m16_8k_b100.flac",
        "flac/c3_8k.flac"
      })
  void rangesEqualTheWholeFileDecodeCut(String rel) throws Exception {
    byte[] data = Fixtures.bytes(rel);
    FlacDecoder.Result whole = FlacDecoder.decodeIntegers(data, rel);
    long total = whole.frames();
    FlacSeeker seeker = new FlacSeeker(ByteSource.of(data), rel);
    assertTrue(seeker.canSeek(), rel);
    for (long start : offsets(whole.streamInfo(), total)) {
      for (long count : new long[] {1, 333, 5000, -1}) {
        assertParity(rel, data, whole, start, count);
      }
    }
  }

  @Test
  void variableBlockSizeStreamAtEveryFewSamples() throws Exception {
    String rel = "flac/crafted_vbs.flac";
    byte[] data = Fixtures.bytes(rel);
    FlacDecoder.Result whole = FlacDecoder.decodeIntegers(data, rel);
    assertTrue(whole.stats().variableBlockSize, "fixture is variable-block-size");
    assertTrue(
        whole.stats().blockSizes.size() > 3, "several block sizes: " + whole.stats().blockSizes);
    FlacSeeker seeker = new FlacSeeker(ByteSource.of(data), rel);
    assertTrue(seeker.canSeek());
    assertEquals(0, seeker.seekPointCount());
    for (long start = 0; start < whole.frames(); start += 13) {
      assertParity(rel, data, whole, start, 97);
    }
    assertParity(rel, data, whole, whole.frames() - 1, -1);
  }

  @Test
  void seekTablePointIsUsedAndOnlyTheRangeIsRead() throws Exception {
    String rel = "seek/sweep8k_seektable.flac";
    CountingSource src = new CountingSource(Fixtures.bytes(rel));
    FlacSeeker seeker = new FlacSeeker(src, rel);
    assertTrue(seeker.seekPointCount() >= 8, "a point per second: " + seeker.seekPointCount());
    FlacSeeker.Segment s = seeker.decode(5 * 8000 + 4321, 4000); // 0.5 s from 5.54 s
    assertTrue(s.usedSeekTable());
    assertTrue(
        s.firstDecodedSample() <= s.startFrame()
            && s.startFrame() - s.firstDecodedSample() <= 2 * 1024,
        "starts within two blocks: " + s.firstDecodedSample());
    assertTrue(s.stats().frames <= 4000 / 1024 + 4, "frames decoded: " + s.stats().frames);
    // 0.5 s of 8 s: the first 4 KiB (metadata), the seek point's frame, one probe, the range (~1/16
    // of the audio)
    assertTrue(
        src.bytesRead < src.data.length / 3,
        "read " + src.bytesRead + " of " + src.data.length + " bytes");
  }

  @Test
  void frameSyncSearchWithoutSeekTableReadsOnlyPartOfTheFile() throws Exception {
    String rel = "seek/sweep8k_noseektable.flac";
    CountingSource src = new CountingSource(Fixtures.bytes(rel));
    FlacSeeker seeker = new FlacSeeker(src, rel);
    assertEquals(0, seeker.seekPointCount());
    FlacSeeker.Segment s = seeker.decode(6 * 8000 + 100, 4000);
    assertFalse(s.usedSeekTable());
    assertTrue(s.searchProbes() > 0);
    assertTrue(
        s.startFrame() - s.firstDecodedSample() <= 2 * 1024,
        "starts within two blocks: " + s.firstDecodedSample());
    assertTrue(s.stats().frames <= 4000 / 1024 + 4, "frames decoded: " + s.stats().frames);
    // the first 4 KiB, a few probes of two maximum frame sizes each, the range
    assertTrue(
        src.bytesRead < src.data.length * 2 / 5,
        "read " + src.bytesRead + " of " + src.data.length + " bytes");
  }

  @Test
  void wrongSeekTableFallsBackToTheSearch() throws Exception {
    String rel = "seek/sweep8k_seektable.flac";
    byte[] data = Fixtures.bytes(rel).clone();
    // shift every seek point's byte offset by 5: no point lands on a frame any more
    int p = FlacDecoder.markerOffset(data) + 4;
    int patched = 0;
    while (true) {
      boolean last = (data[p] & 0x80) != 0;
      int len = ((data[p + 1] & 0xFF) << 16) | ((data[p + 2] & 0xFF) << 8) | (data[p + 3] & 0xFF);
      if ((data[p] & 0x7F) == 3) {
        for (int q = p + 4; q + 18 <= p + 4 + len; q += 18) {
          data[q + 15] += 5;
          patched++;
        }
      }
      p += 4 + len;
      if (last) {
        break;
      }
    }
    assertTrue(patched > 5);
    FlacDecoder.Result whole = FlacDecoder.decodeIntegers(data, rel);
    for (long start : new long[] {9000, 30000, 63000}) {
      FlacSeeker.Segment s = new FlacSeeker(ByteSource.of(data), rel).decode(start, 2000);
      assertFalse(s.usedSeekTable(), "a point that is not a frame is not used");
      assertArrayEquals(cut(whole.samples(), start, 2000)[0], s.samples()[0]);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"seek/sweep8k_seektable.flac", "seek/sweep8k_noseektable.flac"})
  void corruptFrameInsideTheRangeIsReportedLikeTheWholeFileDecode(String rel) throws Exception {
    byte[] bad = Fixtures.bytes(rel).clone();
    int at = bad.length * 3 / 5;
    bad[at] ^= 0x10;
    AudioException whole =
        assertThrows(AudioException.class, () -> FlacDecoder.decodeIntegers(bad, rel));
    assertTrue(whole.reason().startsWith("corrupt frame at sample "), whole.getMessage());
    long sample =
        Long.parseLong(whole.reason().replaceAll("^corrupt frame at sample (\\d+) .*$", "$1"));
    List<Long> starts = new ArrayList<>(List.of(sample, sample + 10, Math.max(0, sample - 300)));
    for (long start : starts) {
      AudioException e =
          assertThrows(
              AudioException.class,
              () -> new FlacSeeker(ByteSource.of(bad), rel).decode(start, 500),
              "start " + start);
      assertEquals(rel, e.path());
      assertEquals(whole.reason(), e.reason(), "same frame, same reason");
    }
    // a range that ends before the damaged frame never reads it
    FlacSeeker.Segment early = new FlacSeeker(ByteSource.of(bad), rel).decode(1000, 2000);
    FlacDecoder.Result good = FlacDecoder.decodeIntegers(Fixtures.bytes(rel), rel);
    assertArrayEquals(cut(good.samples(), 1000, 2000)[0], early.samples()[0]);
  }

  @Test
  void decodeSecondsSeeksForARangeAndChecksTheWholeFileOtherwise() throws Exception {
    String rel = "seek/sweep8k_noseektable.flac";
    byte[] data = Fixtures.bytes(rel);
    DecodedAudio whole = AudioDecoders.decode(data, rel);
    CountingSource src = new CountingSource(data);
    DecodedAudio part = AudioDecoders.decodeSeconds(src, rel, 3.25, 1.5);
    assertEquals(26000, part.startFrame());
    assertEquals(12000, part.frames());
    assertEquals(whole.info().frames(), part.info().frames(), "info is the whole file's");
    float[] want = java.util.Arrays.copyOfRange(whole.channel(0), 26000, 38000);
    assertArrayEquals(want, part.channel(0));
    assertTrue(src.bytesRead < data.length / 2, "read " + src.bytesRead + " of " + data.length);

    // no offset/duration: the whole stream is read and its MD5 checked
    byte[] badMd5 = data.clone();
    int md5At = FlacDecoder.markerOffset(badMd5) + 4 + 4 + 18;
    badMd5[md5At] ^= 1;
    AudioException e =
        assertThrows(
            AudioException.class,
            () -> AudioDecoders.decodeSeconds(ByteSource.of(badMd5), rel, 0, 0));
    assertTrue(e.reason().startsWith("MD5 mismatch"), e.getMessage());
    // a range cannot check the whole-stream MD5, and is still exact
    assertArrayEquals(
        want, AudioDecoders.decodeSeconds(ByteSource.of(badMd5), rel, 3.25, 1.5).channel(0));
  }

  @Test
  void truncatedFileBeforeTheRangeEndIsReported() throws Exception {
    String rel = "seek/sweep8k_noseektable.flac";
    byte[] data = Fixtures.bytes(rel);
    byte[] cutFile = java.util.Arrays.copyOf(data, data.length * 3 / 4);
    AudioException e =
        assertThrows(
            AudioException.class,
            () -> new FlacSeeker(ByteSource.of(cutFile), rel).decode(40000, -1));
    assertEquals(rel, e.path());
    assertTrue(e.reason().startsWith("truncated: frame at sample "), e.getMessage());
    // the first half is still readable
    FlacDecoder.Result whole = FlacDecoder.decodeIntegers(data, rel);
    assertArrayEquals(
        cut(whole.samples(), 100, 8000)[0],
        new FlacSeeker(ByteSource.of(cutFile), rel).decode(100, 8000).samples()[0]);
  }
}
