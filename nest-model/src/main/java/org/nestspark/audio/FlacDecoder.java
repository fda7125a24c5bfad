package org.nestspark.audio;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.TreeSet;

/**
 * A complete, lossless FLAC decoder (native FLAC streams, RFC 9639), written from the format
 * specification without any library. It produces exactly the integer samples {@code flac -d} produces.
 * It stands in for soundfile's FLAC reading in docs/nest-numerics.md §2, "Loading one clean utterance", step 1.
 *
 * <h2>What is decoded</h2>
 * <ul>
 *   <li>An optional ID3v2 tag before the {@code fLaC} marker; STREAMINFO (must be the first metadata
 *       block); all other metadata blocks are skipped.</li>
 *   <li>Frames: fixed and variable block-size streams, every block-size code (192, 576·2^n, 256·2^n,
 *       8- and 16-bit explicit sizes), every sample-rate code (incl. "from STREAMINFO" and the explicit
 *       kHz / Hz / 10 Hz forms), bit depths 4 to 32, 1 to 8 channels. The header CRC-8 and the frame
 *       CRC-16 are checked.</li>
 *   <li>Subframes CONSTANT, VERBATIM, FIXED (orders 0-4) and LPC (orders 1-32, any precision / shift),
 *       with wasted bits; residuals coded with Rice (4-bit parameters) and Rice2 (5-bit), any partition
 *       order, escaped (raw-bits) partitions.</li>
 *   <li>Stereo decorrelation left/side, right/side and mid/side (the side channel has one extra bit; 32-bit
 *       streams are handled with 64-bit arithmetic).</li>
 *   <li>The MD5 signature in STREAMINFO is checked after decoding (when it is not all zeros).</li>
 * </ul>
 *
 * <h2>Errors ({@link AudioException})</h2>
 * A file cut inside a frame: {@code "truncated: frame at sample N (byte B) is cut off by the end of the
 * file"}; fewer samples than STREAMINFO declares: {@code "truncated: STREAMINFO declares N samples, the
 * frames hold M"}; a frame that fails its CRC or contains an invalid field:
 * {@code "corrupt frame at sample N (byte B): <what>"}; bytes that are not a frame where a frame should
 * start: {@code "lost frame sync at byte B (after sample N)"}; a wrong MD5: {@code "MD5 mismatch"}.
 * Bytes after the last declared sample are ignored (e.g. an ID3v1 tag), as are a trailing ID3v1 tag in
 * streams of unknown length.
 *
 * <h2>Ranges</h2>
 * {@link #decode(byte[], String, long, long)} decodes the whole stream and then copies the requested frame
 * range. {@link FlacSeeker} decodes a range of a file read through positioned reads, only the frames it needs
 * (SEEKTABLE or frame-sync search), with the same frame decoding.
 *
 * <p>Float conversion is {@code s / 2^(bits-1)} (soundfile's scaling of FLAC: 16-bit {@code s/32768f},
 * 24-bit {@code s/8388608f}, 8-bit {@code s/128f}).
 */
public final class FlacDecoder {

  private FlacDecoder() {}

  /** The STREAMINFO metadata block. */
  public static final class StreamInfo {
    public final int minBlockSize;
    public final int maxBlockSize;
    public final int minFrameSize;
    public final int maxFrameSize;
    public final int sampleRate;
    public final int channels;
    public final int bitsPerSample;

    /** Total samples per channel; 0 means unknown. */
    public final long totalSamples;

    private final byte[] md5;

    /** Offset of the first audio frame in the file (-1 when only STREAMINFO was read). */
    public final int audioOffset;

    StreamInfo(
        int minBlockSize,
        int maxBlockSize,
        int minFrameSize,
        int maxFrameSize,
        int sampleRate,
        int channels,
        int bitsPerSample,
        long totalSamples,
        byte[] md5,
        int audioOffset) {
      this.minBlockSize = minBlockSize;
      this.maxBlockSize = maxBlockSize;
      this.minFrameSize = minFrameSize;
      this.maxFrameSize = maxFrameSize;
      this.sampleRate = sampleRate;
      this.channels = channels;
      this.bitsPerSample = bitsPerSample;
      this.totalSamples = totalSamples;
      this.md5 = md5;
      this.audioOffset = audioOffset;
    }

    public byte[] md5() {
      return md5.clone();
    }

    /** soundfile's subtype name for this bit depth. */
    public String encoding() {
      return bitsPerSample == 8 ? "PCM_S8" : "PCM_" + bitsPerSample;
    }

    /** Header information; {@code frames} is {@link #totalSamples} (0 when unknown). */
    public AudioInfo info() {
      return new AudioInfo("FLAC", encoding(), sampleRate, channels, totalSamples, bitsPerSample);
    }
  }

  /** Which coding tools a stream used (lets tests prove their fixtures exercise every path). */
  public static final class Stats {
    public long frames;
    public long constantSubframes;
    public long verbatimSubframes;
    public long fixedSubframes;
    public long lpcSubframes;
    public long wastedBitsSubframes;
    public long riceParamPartitions;
    public long rice2Partitions;
    public long escapedPartitions;
    public int maxLpcOrder;
    public int maxFixedOrder;
    public int maxPartitionOrder;

    /** Frames per channel assignment code: 0-7 independent (n+1 channels), 8 left/side, 9 right/side, 10 mid/side. */
    public final long[] channelAssignments = new long[11];

    public final TreeSet<Integer> blockSizeCodes = new TreeSet<>();
    public final TreeSet<Integer> sampleRateCodes = new TreeSet<>();
    public final TreeSet<Integer> sampleSizeCodes = new TreeSet<>();
    public final TreeSet<Integer> blockSizes = new TreeSet<>();
    public boolean variableBlockSize;

    void add(Stats o) {
      frames += o.frames;
      constantSubframes += o.constantSubframes;
      verbatimSubframes += o.verbatimSubframes;
      fixedSubframes += o.fixedSubframes;
      lpcSubframes += o.lpcSubframes;
      wastedBitsSubframes += o.wastedBitsSubframes;
      riceParamPartitions += o.riceParamPartitions;
      rice2Partitions += o.rice2Partitions;
      escapedPartitions += o.escapedPartitions;
      maxLpcOrder = Math.max(maxLpcOrder, o.maxLpcOrder);
      maxFixedOrder = Math.max(maxFixedOrder, o.maxFixedOrder);
      maxPartitionOrder = Math.max(maxPartitionOrder, o.maxPartitionOrder);
      for (int i = 0; i < channelAssignments.length; i++) {
        channelAssignments[i] += o.channelAssignments[i];
      }
      blockSizeCodes.addAll(o.blockSizeCodes);
      sampleRateCodes.addAll(o.sampleRateCodes);
      sampleSizeCodes.addAll(o.sampleSizeCodes);
      blockSizes.addAll(o.blockSizes);
      variableBlockSize |= o.variableBlockSize;
    }

    /** Adds another stream's counts into this one. */
    public Stats merge(Stats o) {
      add(o);
      return this;
    }
  }

  /** Integer samples of a whole stream. */
  public static final class Result {
    private final StreamInfo streamInfo;
    private final int[][] samples;
    private final Stats stats;

    Result(StreamInfo streamInfo, int[][] samples, Stats stats) {
      this.streamInfo = streamInfo;
      this.samples = samples;
      this.stats = stats;
    }

    public StreamInfo streamInfo() {
      return streamInfo;
    }

    /** {@code [channel][frame]}, the exact integers {@code flac -d} writes. */
    public int[][] samples() {
      return samples;
    }

    public int frames() {
      return samples[0].length;
    }

    public Stats stats() {
      return stats;
    }

    /** Header information with the decoded length. */
    public AudioInfo info() {
      return new AudioInfo(
          "FLAC",
          streamInfo.encoding(),
          streamInfo.sampleRate,
          streamInfo.channels,
          frames(),
          streamInfo.bitsPerSample);
    }

    /** Frames {@code [start, start + count)} as float32, {@code s / 2^(bits-1)}. */
    public DecodedAudio toFloat(long start, long count) {
      int bps = streamInfo.bitsPerSample;
      float scale = (float) (1.0 / (1L << (bps - 1)));
      int n = (int) count;
      int s0 = (int) start;
      float[][] out = new float[samples.length][n];
      for (int c = 0; c < samples.length; c++) {
        int[] src = samples[c];
        float[] dst = out[c];
        for (int i = 0; i < n; i++) {
          dst[i] = src[s0 + i] * scale;
        }
      }
      return new DecodedAudio(info(), start, out);
    }
  }

  /** Offset of the {@code fLaC} marker: 0, or just after leading ID3v2 tags. */
  static int markerOffset(byte[] d) {
    int p = 0;
    while (p + 10 <= d.length && d[p] == 'I' && d[p + 1] == 'D' && d[p + 2] == '3') {
      int size =
          ((d[p + 6] & 0x7F) << 21)
              | ((d[p + 7] & 0x7F) << 14)
              | ((d[p + 8] & 0x7F) << 7)
              | (d[p + 9] & 0x7F);
      p += 10 + size + ((d[p + 5] & 0x10) != 0 ? 10 : 0);
    }
    return p;
  }

  /**
   * Parses the metadata blocks; needs the bytes up to the first frame only (a file prefix is enough when
   * it holds all metadata blocks).
   */
  public static StreamInfo readStreamInfo(byte[] d, String name) throws AudioException {
    return readStreamInfo(d, markerOffset(d), name, true);
  }

  /**
   * Parses the metadata starting at the {@code fLaC} marker at {@code p}. With {@code allBlocks} false only
   * STREAMINFO is read (the bytes may end right after it) and {@link StreamInfo#audioOffset} is -1.
   */
  static StreamInfo readStreamInfo(byte[] d, int p, String name, boolean allBlocks)
      throws AudioException {
    if (p + 4 > d.length || d[p] != 'f' || d[p + 1] != 'L' || d[p + 2] != 'a' || d[p + 3] != 'C') {
      throw new AudioException(name, "not a FLAC stream (no fLaC marker at byte " + p + ")");
    }
    p += 4;
    StreamInfo si = null;
    boolean last = false;
    int blockIndex = 0;
    while (!last) {
      if (p + 4 > d.length) {
        throw new AudioException(
            name, "truncated: FLAC metadata block header at byte " + p + " is cut off");
      }
      last = (d[p] & 0x80) != 0;
      int type = d[p] & 0x7F;
      int len = ((d[p + 1] & 0xFF) << 16) | ((d[p + 2] & 0xFF) << 8) | (d[p + 3] & 0xFF);
      int body = p + 4;
      if (type == 127) {
        throw new AudioException(name, "invalid FLAC metadata block type 127 at byte " + p);
      }
      if (blockIndex == 0 && type != 0) {
        throw new AudioException(
            name, "FLAC stream does not start with STREAMINFO (block type " + type + ")");
      }
      if ((long) body + len > d.length) {
        throw new AudioException(
            name,
            "truncated: FLAC metadata block (type "
                + type
                + ") at byte "
                + p
                + " declares "
                + len
                + " bytes, file has "
                + (d.length - body));
      }
      if (type == 0) {
        if (blockIndex != 0) {
          throw new AudioException(name, "second STREAMINFO block at byte " + p);
        }
        if (len < 34) {
          throw new AudioException(name, "STREAMINFO block too short (" + len + " bytes)");
        }
        int minBlock = u16(d, body);
        int maxBlock = u16(d, body + 2);
        int minFrame = u24(d, body + 4);
        int maxFrame = u24(d, body + 7);
        long x = 0;
        for (int i = 0; i < 8; i++) {
          x = (x << 8) | (d[body + 10 + i] & 0xFF);
        }
        int rate = (int) (x >>> 44);
        int channels = (int) ((x >>> 41) & 7) + 1;
        int bps = (int) ((x >>> 36) & 31) + 1;
        long total = x & 0xFFFFFFFFFL;
        byte[] md5 = Arrays.copyOfRange(d, body + 18, body + 34);
        if (rate == 0) {
          throw new AudioException(name, "sample rate is 0 in STREAMINFO");
        }
        if (bps < 4) {
          throw new AudioException(name, "unsupported FLAC bit depth " + bps + " (4-32 allowed)");
        }
        if (maxBlock < 16 || minBlock > maxBlock) {
          throw new AudioException(
              name, "invalid STREAMINFO block sizes " + minBlock + ".." + maxBlock);
        }
        si =
            new StreamInfo(
                minBlock, maxBlock, minFrame, maxFrame, rate, channels, bps, total, md5, -1);
        if (!allBlocks) {
          return si;
        }
      }
      p = body + len;
      blockIndex++;
    }
    return new StreamInfo(
        si.minBlockSize,
        si.maxBlockSize,
        si.minFrameSize,
        si.maxFrameSize,
        si.sampleRate,
        si.channels,
        si.bitsPerSample,
        si.totalSamples,
        si.md5,
        p);
  }

  /**
   * Decodes frames {@code [startFrame, startFrame + frameCount)} ({@code frameCount < 0}: to the end) to
   * float32. The whole stream is decoded and verified first.
   */
  public static DecodedAudio decode(byte[] data, String name, long startFrame, long frameCount)
      throws AudioException {
    Result r = decodeIntegers(data, name);
    int total = r.frames();
    if (startFrame < 0 || startFrame > total) {
      throw new AudioException(
          name, "start frame " + startFrame + " is outside the file (" + total + " frames)");
    }
    long n = frameCount < 0 ? total - startFrame : Math.min(frameCount, total - startFrame);
    return r.toFloat(startFrame, n);
  }

  /** Decodes and verifies the whole stream to integers. */
  public static Result decodeIntegers(byte[] data, String name) throws AudioException {
    StreamInfo si = readStreamInfo(data, name);
    return new Decoder(data, name, si).run();
  }

  // ---------------------------------------------------------------------------------------------

  /** Thrown inside a frame; turned into an AudioException naming the frame. */
  static class FrameError extends Exception {
    private static final long serialVersionUID = 1L;

    FrameError(String msg) {
      super(msg, null, false, false);
    }
  }

  /** The bit reader ran past the end of the file. */
  static final class EndOfData extends FrameError {
    private static final long serialVersionUID = 1L;

    EndOfData() {
      super("end of data");
    }
  }

  private static final EndOfData END_OF_DATA = new EndOfData();

  /** MSB-first bit reader over a byte array with a 64-bit cache (valid bits left-aligned). */
  static final class BitReader {
    private final byte[] buf;
    private final int end;
    private int pos;
    private long cache;
    private int avail;

    BitReader(byte[] buf, int start, int end) {
      this.buf = buf;
      this.pos = start;
      this.end = end;
    }

    private void refill() {
      while (avail <= 56 && pos < end) {
        cache |= (buf[pos++] & 0xFFL) << (56 - avail);
        avail += 8;
      }
    }

    /** Reads n bits (0..56) as an unsigned value. */
    long bits(int n) throws EndOfData {
      if (n == 0) {
        return 0;
      }
      if (avail < n) {
        refill();
        if (avail < n) {
          throw END_OF_DATA;
        }
      }
      long v = cache >>> (64 - n);
      cache <<= n;
      avail -= n;
      return v;
    }

    /** Reads n bits (0..56) as a two's-complement signed value. */
    long signed(int n) throws EndOfData {
      if (n == 0) {
        return 0;
      }
      long v = bits(n);
      return (v << (64 - n)) >> (64 - n);
    }

    /** Counts 0 bits up to and including the terminating 1 bit; returns the number of zeros. */
    long unary() throws EndOfData {
      long count = 0;
      while (true) {
        if (avail == 0) {
          refill();
          if (avail == 0) {
            throw END_OF_DATA;
          }
        }
        if (cache == 0) {
          count += avail;
          avail = 0;
          continue;
        }
        int lz = Long.numberOfLeadingZeros(cache);
        count += lz;
        cache <<= lz + 1;
        avail -= lz + 1;
        return count;
      }
    }

    void alignToByte() {
      int drop = avail & 7;
      cache <<= drop;
      avail -= drop;
    }

    /** Byte position of the next unread byte (only meaningful when byte-aligned). */
    int bytePosition() {
      return pos - (avail >> 3);
    }
  }

  /**
   * Frame decoding over a byte array {@code d}: the whole file ({@link #run()}), or a window of it that
   * {@link FlacSeeker} moves along the file. Samples go to {@code out[c][sample - outBase]}.
   */
  static final class Decoder {
    byte[] d;
    final String name;
    final StreamInfo si;
    final Stats stats = new Stats();
    int[][] out;

    /** Samples per channel decoded so far, counted from the stream start (the next frame's first sample). */
    long count;

    /** Stream sample stored at {@code out[c][0]}. */
    long outBase;

    /** When false, {@link #frame} does not check the frame/sample number against {@link #count}. */
    boolean checkNumber = true;

    private long[][] work = new long[0][];
    // the last parsed frame header
    int hBlockSize;
    boolean hVariable;
    long hNumber;
    private int hChCode;
    private int hBps;
    private int hBsCode;
    private int hSrCode;
    private int hSsCode;
    private int frameStart;

    Decoder(byte[] d, String name, StreamInfo si) {
      this(
          d,
          name,
          si,
          si.totalSamples > 0
              ? Math.min(si.totalSamples, 1 << 22)
              : Math.max(si.maxBlockSize, 4096));
    }

    /** {@code initialCapacity}: first size of {@link #out}, which grows by doubling. */
    Decoder(byte[] d, String name, StreamInfo si, long initialCapacity) {
      this.d = d;
      this.name = name;
      this.si = si;
      // STREAMINFO's length is only a hint for the first allocation (a corrupt one must not
      // allocate
      // gigabytes); the buffers grow by doubling
      out = new int[si.channels][(int) Math.max(1, initialCapacity)];
    }

    /** First sample of the last parsed header's frame, or -1 when a fixed-block-size stream's block size is not known. */
    long headerFirstSample() {
      if (hVariable) {
        return hNumber;
      }
      return si.minBlockSize == si.maxBlockSize ? hNumber * si.maxBlockSize : -1;
    }

    Result run() throws AudioException {
      int p = si.audioOffset;
      while (p < d.length) {
        if (si.totalSamples > 0 && count >= si.totalSamples) {
          break; // bytes after the declared end (e.g. an ID3v1 tag) are ignored
        }
        if (!isSync(p)) {
          if (d.length - p == 128 && d[p] == 'T' && d[p + 1] == 'A' && d[p + 2] == 'G') {
            break; // trailing ID3v1 tag
          }
          throw new AudioException(
              name, "lost frame sync at byte " + p + " (after sample " + count + ")");
        }
        try {
          p = frame(p);
        } catch (EndOfData e) {
          throw new AudioException(
              name,
              "truncated: frame at sample "
                  + count
                  + " (byte "
                  + p
                  + ") is cut off by the end of the file ("
                  + d.length
                  + " bytes)");
        } catch (FrameError e) {
          throw new AudioException(
              name, "corrupt frame at sample " + count + " (byte " + p + "): " + e.getMessage());
        }
      }
      if (si.totalSamples > 0 && count < si.totalSamples) {
        throw new AudioException(
            name,
            "truncated: STREAMINFO declares "
                + si.totalSamples
                + " samples, the frames hold "
                + count);
      }
      if (count == 0) {
        throw new AudioException(name, "no audio samples (no FLAC frames)");
      }
      int n = (int) count;
      for (int c = 0; c < out.length; c++) {
        if (out[c].length != n) {
          out[c] = Arrays.copyOf(out[c], n);
        }
      }
      checkMd5(n);
      return new Result(si, out, stats);
    }

    boolean isSync(int p) {
      return p + 1 < d.length && (d[p] & 0xFF) == 0xFF && (d[p + 1] & 0xFE) == 0xF8;
    }

    private int at(int p) throws EndOfData {
      if (p >= d.length) {
        throw END_OF_DATA;
      }
      return d[p] & 0xFF;
    }

    /** Decodes one frame starting at p, stores its samples and counts it; returns the offset after it. */
    int frame(int start) throws FrameError {
      int p = header(start);
      if (checkNumber) {
        long expectedNumber =
            hVariable ? count : (si.minBlockSize == si.maxBlockSize ? count / si.maxBlockSize : -1);
        if (expectedNumber >= 0 && hNumber != expectedNumber) {
          throw new FrameError(
              (hVariable ? "sample number " : "frame number ")
                  + hNumber
                  + " where "
                  + expectedNumber
                  + " was expected (missing or duplicated frame?)");
        }
      }
      int end = body(p);
      store(hChCode, si.channels, hBlockSize, hBps);
      stats.frames++;
      stats.channelAssignments[hChCode]++;
      stats.blockSizeCodes.add(hBsCode);
      stats.sampleRateCodes.add(hSrCode);
      stats.sampleSizeCodes.add(hSsCode);
      stats.blockSizes.add(hBlockSize);
      stats.variableBlockSize |= hVariable;
      return end;
    }

    /**
     * Parses and checks (CRC-8, fields against STREAMINFO) the frame header at {@code start}, which must
     * begin with a sync code; sets the {@code h*} fields and returns the offset of the first subframe.
     */
    int header(int start) throws FrameError {
      frameStart = start;
      boolean variable = (d[start + 1] & 1) != 0;
      int b2 = at(start + 2);
      int b3 = at(start + 3);
      int bsCode = b2 >>> 4;
      int srCode = b2 & 15;
      int chCode = b3 >>> 4;
      int ssCode = (b3 >>> 1) & 7;
      if ((b3 & 1) != 0) {
        throw new FrameError("reserved header bit set");
      }
      int p = start + 4;
      // UTF-8-like coded frame or sample number
      int first = at(p++);
      long number;
      int extra;
      if ((first & 0x80) == 0) {
        number = first;
        extra = 0;
      } else if ((first & 0xE0) == 0xC0) {
        number = first & 0x1F;
        extra = 1;
      } else if ((first & 0xF0) == 0xE0) {
        number = first & 0x0F;
        extra = 2;
      } else if ((first & 0xF8) == 0xF0) {
        number = first & 0x07;
        extra = 3;
      } else if ((first & 0xFC) == 0xF8) {
        number = first & 0x03;
        extra = 4;
      } else if ((first & 0xFE) == 0xFC) {
        number = first & 0x01;
        extra = 5;
      } else if (first == 0xFE) {
        number = 0;
        extra = 6;
      } else {
        throw new FrameError("invalid coded frame number");
      }
      for (int i = 0; i < extra; i++) {
        int c = at(p++);
        if ((c & 0xC0) != 0x80) {
          throw new FrameError("invalid coded frame number");
        }
        number = (number << 6) | (c & 0x3F);
      }
      int blockSize;
      switch (bsCode) {
        case 0:
          throw new FrameError("reserved block size code 0");
        case 1:
          blockSize = 192;
          break;
        case 2:
        case 3:
        case 4:
        case 5:
          blockSize = 576 << (bsCode - 2);
          break;
        case 6:
          blockSize = at(p++) + 1;
          break;
        case 7:
          blockSize = ((at(p) << 8) | at(p + 1)) + 1;
          p += 2;
          break;
        default:
          blockSize = 256 << (bsCode - 8);
      }
      int rate;
      switch (srCode) {
        case 0:
          rate = si.sampleRate;
          break;
        case 1:
          rate = 88200;
          break;
        case 2:
          rate = 176400;
          break;
        case 3:
          rate = 192000;
          break;
        case 4:
          rate = 8000;
          break;
        case 5:
          rate = 16000;
          break;
        case 6:
          rate = 22050;
          break;
        case 7:
          rate = 24000;
          break;
        case 8:
          rate = 32000;
          break;
        case 9:
          rate = 44100;
          break;
        case 10:
          rate = 48000;
          break;
        case 11:
          rate = 96000;
          break;
        case 12:
          rate = at(p++) * 1000;
          break;
        case 13:
          rate = (at(p) << 8) | at(p + 1);
          p += 2;
          break;
        case 14:
          rate = ((at(p) << 8) | at(p + 1)) * 10;
          p += 2;
          break;
        default:
          throw new FrameError("invalid sample rate code 15");
      }
      int bps;
      switch (ssCode) {
        case 0:
          bps = si.bitsPerSample;
          break;
        case 1:
          bps = 8;
          break;
        case 2:
          bps = 12;
          break;
        case 4:
          bps = 16;
          break;
        case 5:
          bps = 20;
          break;
        case 6:
          bps = 24;
          break;
        case 7:
          bps = 32;
          break;
        default:
          throw new FrameError("reserved sample size code 3");
      }
      int crc8 = at(p);
      int calc = Crc.crc8(d, start, p);
      if (crc8 != calc) {
        throw new FrameError(
            String.format("header CRC-8 mismatch (stored 0x%02X, computed 0x%02X)", crc8, calc));
      }
      p++;
      int channels;
      if (chCode < 8) {
        channels = chCode + 1;
      } else if (chCode <= 10) {
        channels = 2;
      } else {
        throw new FrameError("reserved channel assignment " + chCode);
      }
      if (channels != si.channels) {
        throw new FrameError("frame has " + channels + " channels, STREAMINFO " + si.channels);
      }
      if (rate != si.sampleRate) {
        throw new FrameError(
            "frame sample rate " + rate + " differs from STREAMINFO " + si.sampleRate);
      }
      if (bps != si.bitsPerSample) {
        throw new FrameError(
            "frame bit depth " + bps + " differs from STREAMINFO " + si.bitsPerSample);
      }
      if (blockSize > si.maxBlockSize) {
        throw new FrameError(
            "block size " + blockSize + " exceeds STREAMINFO maximum " + si.maxBlockSize);
      }
      hBlockSize = blockSize;
      hVariable = variable;
      hNumber = number;
      hChCode = chCode;
      hBps = bps;
      hBsCode = bsCode;
      hSrCode = srCode;
      hSsCode = ssCode;
      return p;
    }

    /**
     * Decodes the subframes of the frame whose header {@link #header} just parsed (they start at
     * {@code p}) into the work buffers and checks the frame's CRC-16; returns the offset after the frame.
     * Nothing is stored.
     */
    int body(int p) throws FrameError {
      int start = frameStart;
      int blockSize = hBlockSize;
      int channels = si.channels;
      int chCode = hChCode;
      int bps = hBps;
      if (work.length < channels || work[0].length < blockSize) {
        work = new long[channels][Math.max(blockSize, si.maxBlockSize)];
      }
      BitReader br = new BitReader(d, p, d.length);
      for (int c = 0; c < channels; c++) {
        int sbps = bps;
        if ((chCode == 8 || chCode == 10) && c == 1) {
          sbps++;
        } else if (chCode == 9 && c == 0) {
          sbps++;
        }
        subframe(br, work[c], blockSize, sbps);
      }
      br.alignToByte();
      int crcPos = br.bytePosition();
      int stored = (int) br.bits(16);
      int computed = Crc.crc16(d, start, crcPos);
      if (stored != computed) {
        throw new FrameError(
            String.format("CRC-16 mismatch (stored 0x%04X, computed 0x%04X)", stored, computed));
      }
      return crcPos + 2;
    }

    private void store(int chCode, int channels, int n, int bps) throws FrameError {
      if (count - outBase + n > Integer.MAX_VALUE - 8) {
        throw new FrameError("stream longer than 2^31 samples");
      }
      int off = (int) (count - outBase);
      if (off + n > out[0].length) {
        int cap =
            (int) Math.min(Integer.MAX_VALUE - 8L, Math.max((long) off + n, out[0].length * 2L));
        for (int c = 0; c < out.length; c++) {
          out[c] = Arrays.copyOf(out[c], cap);
        }
      }
      long lo = -(1L << (bps - 1));
      long hi = (1L << (bps - 1)) - 1;
      if (chCode < 8) {
        for (int c = 0; c < channels; c++) {
          long[] w = work[c];
          int[] o = out[c];
          for (int i = 0; i < n; i++) {
            long v = w[i];
            if (v < lo || v > hi) {
              throw new FrameError("sample " + v + " out of range for " + bps + " bits");
            }
            o[off + i] = (int) v;
          }
        }
      } else {
        long[] a = work[0];
        long[] b = work[1];
        int[] l = out[0];
        int[] r = out[1];
        for (int i = 0; i < n; i++) {
          long left;
          long right;
          if (chCode == 8) { // left/side
            left = a[i];
            right = a[i] - b[i];
          } else if (chCode == 9) { // side/right
            right = b[i];
            left = a[i] + b[i];
          } else { // mid/side
            long side = b[i];
            long mid = (a[i] << 1) | (side & 1);
            left = (mid + side) >> 1;
            right = (mid - side) >> 1;
          }
          if (left < lo || left > hi || right < lo || right > hi) {
            throw new FrameError("decorrelated sample out of range for " + bps + " bits");
          }
          l[off + i] = (int) left;
          r[off + i] = (int) right;
        }
      }
      count += n;
    }

    private void subframe(BitReader br, long[] s, int n, int bps) throws FrameError {
      if (br.bits(1) != 0) {
        throw new FrameError("subframe padding bit set");
      }
      int type = (int) br.bits(6);
      int wasted = 0;
      if (br.bits(1) != 0) {
        long k = br.unary() + 1;
        if (k >= bps) {
          throw new FrameError(k + " wasted bits in a " + bps + "-bit subframe");
        }
        wasted = (int) k;
        stats.wastedBitsSubframes++;
      }
      int eb = bps - wasted;
      if (type == 0) {
        long v = br.signed(eb);
        Arrays.fill(s, 0, n, v);
        stats.constantSubframes++;
      } else if (type == 1) {
        for (int i = 0; i < n; i++) {
          s[i] = br.signed(eb);
        }
        stats.verbatimSubframes++;
      } else if (type >= 8 && type <= 12) {
        int order = type - 8;
        if (order > n) {
          throw new FrameError("FIXED order " + order + " exceeds block size " + n);
        }
        for (int i = 0; i < order; i++) {
          s[i] = br.signed(eb);
        }
        residual(br, s, n, order);
        fixedRestore(s, n, order);
        stats.fixedSubframes++;
        stats.maxFixedOrder = Math.max(stats.maxFixedOrder, order);
      } else if (type >= 32) {
        int order = (type & 31) + 1;
        if (order > n) {
          throw new FrameError("LPC order " + order + " exceeds block size " + n);
        }
        for (int i = 0; i < order; i++) {
          s[i] = br.signed(eb);
        }
        int precCode = (int) br.bits(4);
        if (precCode == 15) {
          throw new FrameError("invalid LPC coefficient precision");
        }
        int precision = precCode + 1;
        int shift = (int) br.signed(5);
        if (shift < 0) {
          throw new FrameError("negative LPC shift " + shift);
        }
        long[] coef = new long[order];
        for (int i = 0; i < order; i++) {
          coef[i] = br.signed(precision);
        }
        residual(br, s, n, order);
        lpcRestore(s, n, coef, shift);
        stats.lpcSubframes++;
        stats.maxLpcOrder = Math.max(stats.maxLpcOrder, order);
      } else {
        throw new FrameError("reserved subframe type " + type);
      }
      if (wasted > 0) {
        for (int i = 0; i < n; i++) {
          s[i] <<= wasted;
        }
      }
    }

    /** Reads the residual into s[order..n). */
    private void residual(BitReader br, long[] s, int n, int order) throws FrameError {
      int method = (int) br.bits(2);
      if (method > 1) {
        throw new FrameError("reserved residual coding method " + method);
      }
      int paramBits = method == 0 ? 4 : 5;
      int escape = method == 0 ? 15 : 31;
      int partOrder = (int) br.bits(4);
      int parts = 1 << partOrder;
      if ((n & (parts - 1)) != 0 || (n >> partOrder) < order) {
        throw new FrameError(
            "partition order "
                + partOrder
                + " does not fit block size "
                + n
                + " and predictor order "
                + order);
      }
      stats.maxPartitionOrder = Math.max(stats.maxPartitionOrder, partOrder);
      int partSamples = n >> partOrder;
      int idx = order;
      for (int part = 0; part < parts; part++) {
        int m = part == 0 ? partSamples - order : partSamples;
        int k = (int) br.bits(paramBits);
        if (k == escape) {
          int nb = (int) br.bits(5);
          for (int i = 0; i < m; i++) {
            s[idx++] = br.signed(nb);
          }
          stats.escapedPartitions++;
        } else {
          if (method == 0) {
            stats.riceParamPartitions++;
          } else {
            stats.rice2Partitions++;
          }
          for (int i = 0; i < m; i++) {
            long q = br.unary();
            if (q > (1L << 32)) {
              throw new FrameError("implausible Rice quotient " + q);
            }
            long u = (q << k) | br.bits(k);
            s[idx++] = (u >>> 1) ^ -(u & 1);
          }
        }
      }
    }

    private static void fixedRestore(long[] s, int n, int order) {
      switch (order) {
        case 0:
          break;
        case 1:
          for (int i = 1; i < n; i++) {
            s[i] += s[i - 1];
          }
          break;
        case 2:
          for (int i = 2; i < n; i++) {
            s[i] += 2 * s[i - 1] - s[i - 2];
          }
          break;
        case 3:
          for (int i = 3; i < n; i++) {
            s[i] += 3 * s[i - 1] - 3 * s[i - 2] + s[i - 3];
          }
          break;
        case 4:
          for (int i = 4; i < n; i++) {
            s[i] += 4 * s[i - 1] - 6 * s[i - 2] + 4 * s[i - 3] - s[i - 4];
          }
          break;
        default:
          throw new IllegalStateException();
      }
    }

    private static void lpcRestore(long[] s, int n, long[] coef, int shift) {
      int order = coef.length;
      for (int i = order; i < n; i++) {
        long sum = 0;
        for (int j = 0; j < order; j++) {
          sum += coef[j] * s[i - 1 - j];
        }
        s[i] += sum >> shift;
      }
    }

    private void checkMd5(int n) throws AudioException {
      byte[] want = si.md5;
      boolean unset = true;
      for (byte b : want) {
        unset &= b == 0;
      }
      if (unset) {
        return;
      }
      MessageDigest md;
      try {
        md = MessageDigest.getInstance("MD5");
      } catch (NoSuchAlgorithmException e) {
        return; // every Java runtime has MD5; nothing to check against otherwise
      }
      int bytes = (si.bitsPerSample + 7) / 8;
      int ch = out.length;
      int framesPerChunk = 4096;
      byte[] buf = new byte[framesPerChunk * ch * bytes];
      for (int f0 = 0; f0 < n; f0 += framesPerChunk) {
        int m = Math.min(framesPerChunk, n - f0);
        int q = 0;
        for (int i = 0; i < m; i++) {
          for (int c = 0; c < ch; c++) {
            int v = out[c][f0 + i];
            for (int k = 0; k < bytes; k++) {
              buf[q++] = (byte) (v >>> (8 * k));
            }
          }
        }
        md.update(buf, 0, q);
      }
      if (!MessageDigest.isEqual(md.digest(), want)) {
        throw new AudioException(
            name, "MD5 mismatch: the decoded audio does not match the STREAMINFO signature");
      }
    }
  }

  /** FLAC's CRC-8 (poly 0x07) and CRC-16 (poly 0x8005), MSB first, initial value 0. */
  static final class Crc {
    private static final int[] T8 = new int[256];
    private static final int[] T16 = new int[256];

    static {
      for (int i = 0; i < 256; i++) {
        int c = i;
        for (int k = 0; k < 8; k++) {
          c = (c & 0x80) != 0 ? ((c << 1) ^ 0x07) & 0xFF : (c << 1) & 0xFF;
        }
        T8[i] = c;
        int w = i << 8;
        for (int k = 0; k < 8; k++) {
          w = (w & 0x8000) != 0 ? ((w << 1) ^ 0x8005) & 0xFFFF : (w << 1) & 0xFFFF;
        }
        T16[i] = w;
      }
    }

    static int crc8(byte[] b, int from, int to) {
      int c = 0;
      for (int i = from; i < to; i++) {
        c = T8[c ^ (b[i] & 0xFF)];
      }
      return c;
    }

    static int crc16(byte[] b, int from, int to) {
      int c = 0;
      for (int i = from; i < to; i++) {
        c = ((c << 8) & 0xFFFF) ^ T16[(c >>> 8) ^ (b[i] & 0xFF)];
      }
      return c;
    }
  }

  private static int u16(byte[] d, int p) {
    return ((d[p] & 0xFF) << 8) | (d[p + 1] & 0xFF);
  }

  private static int u24(byte[] d, int p) {
    return ((d[p] & 0xFF) << 16) | ((d[p + 1] & 0xFF) << 8) | (d[p + 2] & 0xFF);
  }
}
