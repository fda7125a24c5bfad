package org.nestspark.audio;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes a sample range of a FLAC file through positioned reads ({@link ByteSource}), touching only the
 * frames the range needs: what a manifest entry with {@code offset}/{@code duration} into a long recording
 * (NeMo's {@code AudioSegment.from_file(offset=, duration=)}, docs/nest-numerics.md §2 "Loading one clean utterance" step 1)
 * must read. The samples are bit for bit those of {@link FlacDecoder#decodeIntegers} cut to the range.
 *
 * <h2>Finding the first frame (RFC 9639 §8.5 SEEKTABLE, §9.1 frame header)</h2>
 * <ol>
 *   <li>The metadata blocks are read from the start of the file (STREAMINFO, SEEKTABLE; others skipped).</li>
 *   <li>With a SEEKTABLE, the seek point at or before the range's first sample is taken (placeholder points
 *       are ignored). The frame at its byte offset must parse (header CRC-8, frame CRC-16) and carry the seek
 *       point's sample number; otherwise the table is not trusted and step 3 starts from the first frame. The
 *       next seek point bounds the search from above.</li>
 *   <li>Frame-sync search between the bounds: jump to a byte position estimated from the average bytes per
 *       sample (kept within the middle three quarters of the interval, so the interval shrinks at least by
 *       an eighth per probe), scan forward for a sync code ({@code 0xFFF8}/{@code 0xFFF9}), and accept a
 *       candidate only if its header passes CRC-8 and the STREAMINFO checks, its number gives a sample inside
 *       the stream and after the lower bound (fixed-block-size streams carry a frame number, multiplied by
 *       the block size; variable ones the sample number), and the whole frame passes CRC-16. A frame at or
 *       before the wanted sample becomes the new lower bound, otherwise the probe position the new upper
 *       bound. The search stops when the lower bound is within two blocks of the wanted sample.</li>
 *   <li>Frames are decoded forward from the lower bound with the usual checks (each frame's number must
 *       follow the previous one) until the range is complete, and the range is cut out.</li>
 * </ol>
 *
 * <h2>What is not checked, and fallbacks</h2>
 * The STREAMINFO MD5 covers the whole stream, so it cannot be checked for a range, and frames outside the
 * decoded span are not read at all (a corrupt frame elsewhere in the file goes unnoticed; one inside the
 * span is an {@link AudioException} {@code "corrupt frame at sample N (byte B): ..."} naming the file, like the
 * whole-file decoder's). A stream that does not declare its length (total samples 0) or a fixed-block-size
 * stream whose STREAMINFO minimum and maximum block sizes differ (frame numbers cannot be turned into sample
 * numbers) is decoded whole and cut.
 */
public final class FlacSeeker {
  /** A search probe's read when STREAMINFO gives no maximum frame size. */
  static final int CHUNK = 64 * 1024;

  private static final long PLACEHOLDER = 0xFFFFFFFFFFFFFFFFL;

  private final ByteSource src;
  private final String name;
  private final long fileLength;
  private final FlacDecoder.StreamInfo si;

  /** Non-placeholder seek points: {sample, byte offset from the first frame}. */
  private final List<long[]> seekPoints;

  /** Bytes one search probe reads: two maximum-size frames, so that a frame starting in it fits. */
  private final int probeBytes;

  private long base;
  private long bytesRead;
  private int probes;

  /**
   * Reads the metadata: block headers, STREAMINFO and SEEKTABLE only (other blocks, such as the 8 KiB
   * PADDING the flac CLI writes, or pictures, are skipped without reading them).
   */
  public FlacSeeker(ByteSource src, String name) throws AudioException {
    this.src = src;
    this.name = name;
    try {
      this.fileLength = src.length();
      byte[] head = read(0, (int) Math.min(fileLength, 4096));
      long marker = FlacDecoder.markerOffset(head);
      byte[] block =
          metadata(head, marker, (int) Math.max(0, Math.min(fileLength - marker, 4 + 4 + 34)));
      FlacDecoder.StreamInfo first = FlacDecoder.readStreamInfo(block, 0, name, false);
      List<long[]> points = new ArrayList<>();
      long p = marker + 4;
      boolean last = false;
      while (!last) {
        if (p + 4 > fileLength) {
          throw new AudioException(
              name, "truncated: FLAC metadata block header at byte " + p + " is cut off");
        }
        byte[] h = metadata(head, p, 4);
        last = (h[0] & 0x80) != 0;
        int type = h[0] & 0x7F;
        int len = ((h[1] & 0xFF) << 16) | ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
        if (type == 127) {
          throw new AudioException(name, "invalid FLAC metadata block type 127 at byte " + p);
        }
        if (p + 4 + len > fileLength) {
          throw new AudioException(
              name,
              "truncated: FLAC metadata block (type "
                  + type
                  + ") at byte "
                  + p
                  + " declares "
                  + len
                  + " bytes, file has "
                  + (fileLength - p - 4));
        }
        if (type == 3) {
          seekPoints(metadata(head, p + 4, len), points);
        }
        p += 4 + len;
      }
      if (p > Integer.MAX_VALUE) {
        throw new AudioException(name, "FLAC metadata larger than 2 GiB");
      }
      points.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
      this.seekPoints = points;
      this.si =
          new FlacDecoder.StreamInfo(
              first.minBlockSize,
              first.maxBlockSize,
              first.minFrameSize,
              first.maxFrameSize,
              first.sampleRate,
              first.channels,
              first.bitsPerSample,
              first.totalSamples,
              first.md5(),
              (int) p);
      this.probeBytes = si.maxFrameSize > 0 ? Math.max(1024, 2 * si.maxFrameSize + 32) : CHUNK;
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  /** {@code len} bytes at {@code pos}, from the file's first bytes {@code head} when they hold them. */
  private byte[] metadata(byte[] head, long pos, int len) throws IOException {
    if (pos + len <= head.length) {
      return java.util.Arrays.copyOfRange(head, (int) pos, (int) pos + len);
    }
    return read(pos, len);
  }

  /** The STREAMINFO block. */
  public FlacDecoder.StreamInfo streamInfo() {
    return si;
  }

  /** Whether ranges are found by seeking (otherwise {@link #decode} decodes the whole file and cuts). */
  public boolean canSeek() {
    return si.totalSamples > 0 && si.minBlockSize == si.maxBlockSize
        || si.totalSamples > 0 && variableBlocks();
  }

  /** Number of usable (non-placeholder) SEEKTABLE points. */
  public int seekPointCount() {
    return seekPoints.size();
  }

  /**
   * Integer samples {@code [startFrame, startFrame + frameCount)} ({@code frameCount < 0}: to the end),
   * clipped to the stream's end.
   */
  public Segment decode(long startFrame, long frameCount) throws AudioException {
    try {
      if (!canSeek()) {
        FlacDecoder.Result r = FlacDecoder.decodeIntegers(AudioDecoders.readAll(src, name), name);
        return cut(
            r.samples(), 0, startFrame, frameCount, r.frames(), r.stats(), false, r.frames());
      }
      long total = si.totalSamples;
      if (startFrame < 0 || startFrame >= total) {
        throw new AudioException(
            name, "start frame " + startFrame + " is outside the file (" + total + " frames)");
      }
      long end = frameCount < 0 ? total : Math.min(total, startFrame + frameCount);
      FlacDecoder.Decoder dec = new FlacDecoder.Decoder(new byte[0], name, si, 0);
      base = 0;
      long[] lo = {si.audioOffset, 0};
      long hiPos = fileLength;
      boolean usedTable = false;
      long[] point = null;
      long nextOffset = -1;
      for (long[] p : seekPoints) {
        if (Long.compareUnsigned(p[0], startFrame) <= 0) {
          point = p;
        } else {
          nextOffset = p[1];
          break;
        }
      }
      if (point != null && point[1] >= 0 && point[1] < fileLength - si.audioOffset) {
        long pos = si.audioOffset + point[1];
        if (probeFrame(dec, pos) == point[0]) {
          lo = new long[] {pos, point[0]};
          usedTable = true;
          if (nextOffset > point[1] && si.audioOffset + nextOffset <= fileLength) {
            hiPos = si.audioOffset + nextOffset;
          }
        }
      }
      lo = search(dec, lo, hiPos, startFrame);
      long firstDecoded = lo[1];
      dec.count = firstDecoded;
      dec.outBase = firstDecoded;
      dec.checkNumber = true;
      dec.out = new int[si.channels][(int) Math.min(Integer.MAX_VALUE - 8L, end - firstDecoded)];
      forward(dec, lo[0], end);
      return cut(
          dec.out,
          firstDecoded,
          startFrame,
          end - startFrame,
          end,
          dec.stats,
          usedTable,
          firstDecoded);
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  private boolean variableBlocks() {
    // a stream whose min and max block sizes differ is decodable by seeking only if it is
    // variable-block-size,
    // which the first frame's header tells
    try {
      byte[] h = read(si.audioOffset, (int) Math.min(2, fileLength - si.audioOffset));
      return h.length == 2 && (h[0] & 0xFF) == 0xFF && (h[1] & 0xFF) == 0xF9;
    } catch (IOException e) {
      return false;
    }
  }

  /** Narrows {@code lo} = {frame position, its first sample} towards {@code target} (step 3). */
  private long[] search(FlacDecoder.Decoder dec, long[] lo, long hiPos, long target)
      throws IOException {
    double bytesPerSample = (fileLength - si.audioOffset) / (double) si.totalSamples;
    long close = 2L * si.maxBlockSize;
    long minSpan = Math.max(64, si.maxFrameSize > 0 ? si.maxFrameSize : 0);
    while (target - lo[1] > close && hiPos - lo[0] > minSpan) {
      long span = hiPos - lo[0];
      long guess = lo[0] + (long) ((target - lo[1] - si.maxBlockSize) * bytesPerSample);
      long mid =
          Math.max(lo[0] + Math.max(1, span / 8), Math.min(hiPos - Math.max(1, span / 8), guess));
      long[] cand = findFrame(dec, mid, hiPos, lo[1]);
      if (cand == null || cand[1] > target) {
        hiPos = mid;
      } else {
        lo = cand;
      }
    }
    return lo;
  }

  /** The first frame starting in {@code [from, limit)} that passes every check and starts after sample {@code after}. */
  private long[] findFrame(FlacDecoder.Decoder dec, long from, long limit, long after)
      throws IOException {
    probes++;
    for (long pos = from; pos < limit - 1; pos++) {
      if (pos < base || pos + 2 > base + dec.d.length) {
        if (!window(dec, pos, probeBytes)) {
          return null;
        }
      }
      int rel = (int) (pos - base);
      if (!dec.isSync(rel)) {
        continue;
      }
      long sample = probeFrame(dec, pos);
      if (sample > after) {
        return new long[] {pos, sample};
      }
    }
    return null;
  }

  /**
   * Parses and fully decodes (without storing) the frame at {@code pos}; its first sample, or -1 when it is
   * not a valid frame of this stream.
   */
  private long probeFrame(FlacDecoder.Decoder dec, long pos) throws IOException {
    int want = probeBytes;
    while (true) {
      if (pos < base || pos + 2 > base + dec.d.length) {
        if (!window(dec, pos, want)) {
          return -1;
        }
      }
      int rel = (int) (pos - base);
      if (!dec.isSync(rel)) {
        return -1;
      }
      try {
        int p = dec.header(rel);
        long sample = dec.headerFirstSample();
        if (sample < 0 || sample >= si.totalSamples) {
          return -1;
        }
        dec.body(p);
        return sample;
      } catch (FlacDecoder.EndOfData e) {
        if (base + dec.d.length >= fileLength) {
          return -1;
        }
        want = Math.max(want, dec.d.length - rel) * 2;
        window(dec, pos, want);
      } catch (FlacDecoder.FrameError e) {
        return -1;
      }
    }
  }

  /** Decodes and stores frames from {@code pos} until the decoder holds sample {@code end - 1} (step 4). */
  private void forward(FlacDecoder.Decoder dec, long pos, long end)
      throws IOException, AudioException {
    double bytesPerSample = (fileLength - si.audioOffset) / (double) si.totalSamples;
    int want =
        (int)
            Math.min(
                Integer.MAX_VALUE - 8L,
                Math.max(
                    probeBytes,
                    (long) ((end - dec.count) * bytesPerSample * 1.1)
                        + 2L * Math.max(si.maxFrameSize, 16)));
    if (pos < base || pos + Math.min(want, fileLength - pos) > base + dec.d.length) {
      window(dec, pos, want); // the span in one read, not the end of the last probe's window
    }
    while (dec.count < end) {
      if (pos >= fileLength) {
        throw new AudioException(
            name,
            "truncated: STREAMINFO declares "
                + si.totalSamples
                + " samples, the frames hold "
                + dec.count);
      }
      if (pos < base || pos + 2 > base + dec.d.length) {
        window(dec, pos, want);
      }
      int rel = (int) (pos - base);
      if (!dec.isSync(rel)) {
        throw new AudioException(
            name, "lost frame sync at byte " + pos + " (after sample " + dec.count + ")");
      }
      try {
        pos = base + dec.frame(rel);
      } catch (FlacDecoder.EndOfData e) {
        if (base + dec.d.length >= fileLength) {
          throw new AudioException(
              name,
              "truncated: frame at sample "
                  + dec.count
                  + " (byte "
                  + pos
                  + ") is cut off by the end of the file ("
                  + fileLength
                  + " bytes)");
        }
        if (base == pos && dec.d.length >= want) {
          want *= 2; // one frame is larger than the whole window
        }
        window(dec, pos, want);
      } catch (FlacDecoder.FrameError e) {
        throw new AudioException(
            name,
            "corrupt frame at sample " + dec.count + " (byte " + pos + "): " + e.getMessage());
      }
    }
  }

  /** Reads {@code [pos, pos + size)} (clipped to the file) as the decoder's window; false at the end of the file. */
  private boolean window(FlacDecoder.Decoder dec, long pos, int size) throws IOException {
    if (pos >= fileLength) {
      return false;
    }
    dec.d = read(pos, (int) Math.min(size, fileLength - pos));
    base = pos;
    return true;
  }

  private byte[] read(long pos, int len) throws IOException {
    byte[] b = new byte[len];
    src.readFully(pos, b, 0, len);
    bytesRead += len;
    return b;
  }

  private Segment cut(
      int[][] samples,
      long samplesBase,
      long start,
      long count,
      long streamEnd,
      FlacDecoder.Stats stats,
      boolean usedTable,
      long firstDecoded)
      throws AudioException {
    long total = si.totalSamples > 0 ? si.totalSamples : streamEnd;
    if (start < 0 || start >= total) {
      throw new AudioException(
          name, "start frame " + start + " is outside the file (" + total + " frames)");
    }
    int n = (int) (count < 0 ? total - start : Math.min(count, total - start));
    int from = (int) (start - samplesBase);
    int[][] out = new int[samples.length][];
    for (int c = 0; c < samples.length; c++) {
      out[c] = java.util.Arrays.copyOfRange(samples[c], from, from + n);
    }
    return new Segment(si, total, start, out, stats, usedTable, firstDecoded, probes, bytesRead);
  }

  /** Adds a SEEKTABLE body's points (RFC 9639 §8.5: 18 bytes each, sample u64, offset u64, samples u16), placeholders dropped. */
  static void seekPoints(byte[] body, List<long[]> points) {
    for (int q = 0; q + 18 <= body.length; q += 18) {
      long sample = u64(body, q);
      if (sample != PLACEHOLDER) {
        points.add(new long[] {sample, u64(body, q + 8)});
      }
    }
  }

  private static long u64(byte[] b, int p) {
    long v = 0;
    for (int i = 0; i < 8; i++) {
      v = (v << 8) | (b[p + i] & 0xFF);
    }
    return v;
  }

  /** A decoded range and how it was found. */
  public static final class Segment {
    private final FlacDecoder.StreamInfo streamInfo;
    private final long totalFrames;
    private final long startFrame;
    private final int[][] samples;
    private final FlacDecoder.Stats stats;
    private final boolean usedSeekTable;
    private final long firstDecodedSample;
    private final int searchProbes;
    private final long bytesRead;

    Segment(
        FlacDecoder.StreamInfo streamInfo,
        long totalFrames,
        long startFrame,
        int[][] samples,
        FlacDecoder.Stats stats,
        boolean usedSeekTable,
        long firstDecodedSample,
        int searchProbes,
        long bytesRead) {
      this.streamInfo = streamInfo;
      this.totalFrames = totalFrames;
      this.startFrame = startFrame;
      this.samples = samples;
      this.stats = stats;
      this.usedSeekTable = usedSeekTable;
      this.firstDecodedSample = firstDecodedSample;
      this.searchProbes = searchProbes;
      this.bytesRead = bytesRead;
    }

    /** {@code [channel][frame]} of the range. */
    public int[][] samples() {
      return samples;
    }

    public long startFrame() {
      return startFrame;
    }

    /** Coding-tool counts; {@code frames} counts the frames decoded forward and stored (not the search probes). */
    public FlacDecoder.Stats stats() {
      return stats;
    }

    /** Whether a SEEKTABLE point was used as the search's lower bound. */
    public boolean usedSeekTable() {
      return usedSeekTable;
    }

    /** First sample of the first frame decoded forward (at most {@link #startFrame()}). */
    public long firstDecodedSample() {
      return firstDecodedSample;
    }

    /** Frame-sync search probes made. */
    public int searchProbes() {
      return searchProbes;
    }

    /** Bytes read from the source, metadata included. */
    public long bytesRead() {
      return bytesRead;
    }

    /** Header information of the whole file (its declared length). */
    public AudioInfo info() {
      return new AudioInfo(
          "FLAC",
          streamInfo.encoding(),
          streamInfo.sampleRate,
          streamInfo.channels,
          totalFrames,
          streamInfo.bitsPerSample);
    }

    /** Float32 {@code s / 2^(bits-1)}, as {@link FlacDecoder.Result#toFloat}. */
    public DecodedAudio toFloat() {
      float scale = (float) (1.0 / (1L << (streamInfo.bitsPerSample - 1)));
      float[][] out = new float[samples.length][samples[0].length];
      for (int c = 0; c < samples.length; c++) {
        int[] s = samples[c];
        float[] d = out[c];
        for (int i = 0; i < s.length; i++) {
          d[i] = s[i] * scale;
        }
      }
      return new DecodedAudio(info(), startFrame, out);
    }
  }
}
