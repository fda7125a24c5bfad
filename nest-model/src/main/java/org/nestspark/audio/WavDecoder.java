package org.nestspark.audio;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Reads RIFF/WAVE files (and RF64/BW64), as soundfile would for {@code sf.read(dtype='float32')} (docs/nest-numerics.md §2,
 * "Loading one clean utterance", step 1).
 *
 * <h2>Supported</h2>
 * <ul>
 *   <li>{@code WAVE_FORMAT_PCM} (1): 8-bit unsigned, 16-, 24- and 32-bit signed little-endian; bit depths
 *       that are not a multiple of 8 (e.g. 12 or 20) are read at their container width, like libsndfile
 *       (the samples are left-justified, so the scale is that of the container).</li>
 *   <li>{@code WAVE_FORMAT_IEEE_FLOAT} (3): 32- and 64-bit; float64 is cast to float32.</li>
 *   <li>{@code WAVE_FORMAT_EXTENSIBLE} (0xFFFE) whose sub-format GUID is PCM or IEEE float (standard
 *       {@code ...-0000-0010-8000-00AA00389B71} GUIDs and the ambisonic {@code .amb} ones).</li>
 *   <li>Any other chunks ({@code LIST}, {@code fact}, {@code cue }, {@code bext}, {@code JUNK}, ...) before or
 *       after {@code data}; odd-sized chunks are followed by their pad byte as RIFF requires; {@code fmt }
 *       may come after {@code data}.</li>
 *   <li>RF64 and BW64 (EBU Tech 3306 / ITU-R BS.2088): sizes of {@code 0xFFFFFFFF} are taken from the
 *       {@code ds64} chunk.</li>
 * </ul>
 *
 * <h2>Reported as {@link AudioException} (decided strictly, never guessed)</h2>
 * <ul>
 *   <li>A {@code data} chunk that declares more bytes than the file holds:
 *       {@code "truncated: data chunk declares N bytes, file has M"}. This includes the {@code 0xFFFFFFFF}
 *       or over-long sizes left by streaming writers that never finalised the header: we cannot tell a
 *       truncated file from an unfinalised one, and reading "to the end of file" would silently accept a
 *       download that was cut short. Re-write such files (e.g. {@code sox in.wav out.wav}).</li>
 *   <li>Any other chunk before {@code fmt }/{@code data} that runs past the end of the file.</li>
 *   <li>A {@code data} size that is not a multiple of the block size (channels x bytes per sample):
 *       libsndfile silently drops the partial frame; we report it because it means a corrupt header or a
 *       mis-declared format.</li>
 *   <li>An empty {@code data} chunk ({@code "no audio samples"}), a sample rate or channel count of 0, a
 *       block align inconsistent with channels and bits per sample, a missing {@code fmt } or
 *       {@code data} chunk, a malformed chunk header.</li>
 *   <li>Unsupported encodings, named: A-law, mu-law, ADPCM, GSM, MPEG, ... ({@code "unsupported WAV
 *       encoding: A-law (format tag 0x0006)"}).</li>
 *   <li>NaN or infinite samples in float files ({@code "non-finite sample at frame N"}, N counted from the
 *       start of the file), also float64 values that overflow float32. Only the decoded range is checked.</li>
 * </ul>
 * The RIFF size in the file header is not checked (many writers get it wrong by the pad byte or leave it
 * unset; libsndfile ignores it too): chunks are walked by their own sizes.
 *
 * <h2>Frame ranges</h2>
 * {@link #decode(ByteSource, String, long, long)} reads only the header and the bytes of the requested
 * frames (positioned reads), so a short segment of a long file is cheap.
 */
public final class WavDecoder {
  private static final int FORMAT_PCM = 1;
  private static final int FORMAT_FLOAT = 3;
  private static final int FORMAT_EXTENSIBLE = 0xFFFE;
  private static final long U32_MAX = 0xFFFFFFFFL;
  private static final int HEAD_BYTES = 8 * 1024;
  private static final int READ_CHUNK_BYTES = 1 << 20;

  private static final byte[] GUID_SUFFIX = {
    0x00,
    0x00,
    0x00,
    0x00,
    0x10,
    0x00,
    (byte) 0x80,
    0x00,
    0x00,
    (byte) 0xAA,
    0x00,
    0x38,
    (byte) 0x9B,
    0x71
  };
  private static final byte[] AMBISONIC_GUID_SUFFIX = {
    0x00,
    0x00,
    0x21,
    0x07,
    (byte) 0xD3,
    0x11,
    (byte) 0x86,
    0x44,
    (byte) 0xC8,
    (byte) 0xC1,
    (byte) 0xCA,
    0x00,
    0x00,
    0x00
  };

  private WavDecoder() {}

  /** Parsed header of a WAV/RF64 file: where the samples are and how they are stored. */
  public static final class Header {
    private final AudioInfo info;
    private final boolean isFloat;
    private final int bytesPerSample;
    private final int blockAlign;
    private final int validBits;
    private final long dataOffset;
    private final long dataBytes;

    Header(
        AudioInfo info,
        boolean isFloat,
        int bytesPerSample,
        int blockAlign,
        int validBits,
        long dataOffset,
        long dataBytes) {
      this.info = info;
      this.isFloat = isFloat;
      this.bytesPerSample = bytesPerSample;
      this.blockAlign = blockAlign;
      this.validBits = validBits;
      this.dataOffset = dataOffset;
      this.dataBytes = dataBytes;
    }

    public AudioInfo info() {
      return info;
    }

    /** True for IEEE float data (32 or 64 bit). */
    public boolean isFloat() {
      return isFloat;
    }

    /** Container bytes per sample (1-4 for PCM, 4 or 8 for float). */
    public int bytesPerSample() {
      return bytesPerSample;
    }

    /** Bytes per frame. */
    public int blockAlign() {
      return blockAlign;
    }

    /** Valid bits per sample as declared (EXTENSIBLE {@code wValidBitsPerSample}, else bits per sample). */
    public int validBits() {
      return validBits;
    }

    /** File offset of the first sample byte. */
    public long dataOffset() {
      return dataOffset;
    }

    /** Size of the sample data in bytes (a multiple of {@link #blockAlign()}). */
    public long dataBytes() {
      return dataBytes;
    }
  }

  /** Reads and validates the header; see the class comment for what is reported. */
  public static Header readHeader(ByteSource src, String name) throws AudioException {
    try {
      return parseHeader(src, name);
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  /** Decodes the whole file. */
  public static DecodedAudio decode(ByteSource src, String name) throws AudioException {
    return decode(src, name, 0, -1);
  }

  /**
   * Decodes frames {@code [startFrame, startFrame + frameCount)}, clipped to the end of the file;
   * {@code frameCount < 0} means to the end. Only the header and those frames' bytes are read.
   */
  public static DecodedAudio decode(ByteSource src, String name, long startFrame, long frameCount)
      throws AudioException {
    return decode(src, readHeader(src, name), name, startFrame, frameCount);
  }

  /** Like {@link #decode(ByteSource, String, long, long)} with a header already read from {@code src}. */
  public static DecodedAudio decode(
      ByteSource src, Header h, String name, long startFrame, long frameCount)
      throws AudioException {
    long frames = h.info.frames();
    if (startFrame < 0 || startFrame > frames) {
      throw new AudioException(
          name, "start frame " + startFrame + " is outside the file (" + frames + " frames)");
    }
    long count = frameCount < 0 ? frames - startFrame : Math.min(frameCount, frames - startFrame);
    if (count > Integer.MAX_VALUE - 8) {
      throw new AudioException(
          name, "range of " + count + " frames is too long to decode into one array");
    }
    int n = (int) count;
    int channels = h.info.channels();
    float[][] out = new float[channels][n];
    int framesPerRead = Math.max(1, READ_CHUNK_BYTES / h.blockAlign);
    byte[] buf = new byte[(int) Math.min((long) framesPerRead, Math.max(1, n)) * h.blockAlign];
    int done = 0;
    try {
      while (done < n) {
        int m = Math.min(framesPerRead, n - done);
        long pos = h.dataOffset + (startFrame + done) * (long) h.blockAlign;
        src.readFully(pos, buf, 0, m * h.blockAlign);
        convert(h, buf, m, out, done, startFrame + done, name);
        done += m;
      }
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
    return new DecodedAudio(h.info, startFrame, out);
  }

  // ---------------------------------------------------------------------------------------------

  private static void convert(
      Header h, byte[] b, int m, float[][] out, int outOff, long fileFrame, String name)
      throws AudioException {
    int ch = out.length;
    int bps = h.bytesPerSample;
    int p = 0;
    if (h.isFloat) {
      for (int i = 0; i < m; i++) {
        for (int c = 0; c < ch; c++) {
          float v;
          if (bps == 4) {
            v = Float.intBitsToFloat(le32(b, p));
          } else {
            double d = Double.longBitsToDouble(le64(b, p));
            v = (float) d;
            if (Float.isInfinite(v) && !Double.isInfinite(d)) {
              throw new AudioException(
                  name,
                  "non-finite sample at frame "
                      + (fileFrame + i)
                      + " (channel "
                      + c
                      + "): float64 value "
                      + d
                      + " overflows float32");
            }
          }
          if (!Float.isFinite(v)) {
            throw new AudioException(
                name,
                "non-finite sample at frame " + (fileFrame + i) + " (channel " + c + "): " + v);
          }
          out[c][outOff + i] = v;
          p += bps;
        }
      }
      return;
    }
    switch (bps) {
      case 1:
        for (int i = 0; i < m; i++) {
          for (int c = 0; c < ch; c++) {
            out[c][outOff + i] = ((b[p++] & 0xFF) - 128) * (1f / 128f);
          }
        }
        break;
      case 2:
        for (int i = 0; i < m; i++) {
          for (int c = 0; c < ch; c++) {
            int s = (short) ((b[p] & 0xFF) | (b[p + 1] << 8));
            out[c][outOff + i] = s * (1f / 32768f);
            p += 2;
          }
        }
        break;
      case 3:
        for (int i = 0; i < m; i++) {
          for (int c = 0; c < ch; c++) {
            int s = (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8) | (b[p + 2] << 16);
            out[c][outOff + i] = s * (1f / 8388608f);
            p += 3;
          }
        }
        break;
      case 4:
        for (int i = 0; i < m; i++) {
          for (int c = 0; c < ch; c++) {
            out[c][outOff + i] = le32(b, p) * (1f / 2147483648f);
            p += 4;
          }
        }
        break;
      default:
        throw new IllegalStateException("bytes per sample " + bps);
    }
  }

  private static Header parseHeader(ByteSource src, String name)
      throws IOException, AudioException {
    long fileLen = src.length();
    if (fileLen < 12) {
      throw new AudioException(
          name, "truncated: " + fileLen + " bytes is too short for a RIFF/WAVE header");
    }
    byte[] head = new byte[(int) Math.min(fileLen, HEAD_BYTES)];
    src.readFully(0, head, 0, head.length);
    String riff = ascii(head, 0, 4);
    boolean rf64 = riff.equals("RF64") || riff.equals("BW64");
    if (!riff.equals("RIFF") && !rf64) {
      throw new AudioException(
          name,
          "not a RIFF/WAVE file (starts with " + AudioDecoders.describeBytes(head, 0, 4) + ")");
    }
    if (!ascii(head, 8, 4).equals("WAVE")) {
      throw new AudioException(
          name,
          "unsupported format (RIFF container of type '" + ascii(head, 8, 4) + "', not WAVE)");
    }
    String container = rf64 ? "RF64" : "WAV";

    long ds64Data = -1;
    boolean haveFmt = false;
    int tag = 0;
    int channels = 0;
    long rate = 0;
    int blockAlign = 0;
    int bits = 0;
    int validBits = 0;
    int subFormat = 0;
    long dataOffset = -1;
    long dataBytes = -1;

    long pos = 12;
    boolean first = true;
    byte[] hdr = new byte[8];
    while (pos + 8 <= fileLen) {
      readAt(src, head, pos, hdr, 8);
      String id = ascii(hdr, 0, 4);
      long size = le32(hdr, 4) & U32_MAX;
      if (!isChunkId(hdr)) {
        throw new AudioException(
            name,
            "malformed chunk header at byte "
                + pos
                + " ("
                + AudioDecoders.describeBytes(hdr, 0, 8)
                + ")");
      }
      long body = pos + 8;
      long avail = fileLen - body;
      if (rf64 && first && !id.equals("ds64")) {
        throw new AudioException(
            name, container + " file without a ds64 chunk (first chunk is '" + id + "')");
      }
      first = false;
      if (id.equals("data")) {
        if (rf64 && size == U32_MAX) {
          if (ds64Data < 0) {
            throw new AudioException(name, "RF64 data size is 0xFFFFFFFF but ds64 gives none");
          }
          size = ds64Data;
        }
        if (size > avail) {
          throw new AudioException(
              name,
              "truncated: data chunk declares "
                  + size
                  + " bytes, file has "
                  + avail
                  + (size == U32_MAX
                      ? " (size 0xFFFFFFFF: a header never finalised by a streaming writer?)"
                      : ""));
        }
        dataOffset = body;
        dataBytes = size;
      } else {
        if (size > avail) {
          throw new AudioException(
              name,
              "truncated: '"
                  + id.trim()
                  + "' chunk at byte "
                  + pos
                  + " declares "
                  + size
                  + " bytes, file has "
                  + avail);
        }
        if (id.equals("ds64")) {
          if (size < 24) {
            throw new AudioException(name, "ds64 chunk too short (" + size + " bytes)");
          }
          byte[] d = new byte[24];
          readAt(src, head, body, d, 24);
          ds64Data = le64(d, 8);
          if (ds64Data < 0) {
            throw new AudioException(
                name, "ds64 data size " + Long.toUnsignedString(ds64Data) + " is implausible");
          }
        } else if (id.equals("fmt ")) {
          if (size < 16) {
            throw new AudioException(name, "fmt chunk too short (" + size + " bytes)");
          }
          byte[] f = new byte[(int) Math.min(size, 64)];
          readAt(src, head, body, f, f.length);
          haveFmt = true;
          tag = le16(f, 0);
          channels = le16(f, 2);
          rate = le32(f, 4) & U32_MAX;
          blockAlign = le16(f, 12);
          bits = le16(f, 14);
          validBits = bits;
          if (tag == FORMAT_EXTENSIBLE) {
            if (size < 40 || le16(f, 16) < 22) {
              throw new AudioException(
                  name, "WAVE_FORMAT_EXTENSIBLE fmt chunk too short (" + size + " bytes)");
            }
            validBits = le16(f, 18);
            subFormat = le16(f, 24);
            if (!(regionEquals(f, 26, GUID_SUFFIX) || regionEquals(f, 26, AMBISONIC_GUID_SUFFIX))) {
              throw new AudioException(
                  name,
                  "unsupported WAV encoding: WAVE_FORMAT_EXTENSIBLE with sub-format GUID "
                      + guid(f, 24));
            }
          }
        }
      }
      if (haveFmt && dataOffset >= 0) {
        break;
      }
      pos = body + size + (size & 1);
    }
    if (!haveFmt) {
      throw new AudioException(name, "no fmt chunk");
    }
    if (dataOffset < 0) {
      throw new AudioException(name, "no data chunk");
    }

    int effective = tag == FORMAT_EXTENSIBLE ? subFormat : tag;
    String ext = tag == FORMAT_EXTENSIBLE ? " in WAVE_FORMAT_EXTENSIBLE" : "";
    if (effective != FORMAT_PCM && effective != FORMAT_FLOAT) {
      throw new AudioException(
          name,
          "unsupported WAV encoding: "
              + formatTagName(effective)
              + String.format(" (format tag 0x%04X)", effective)
              + ext
              + "; only PCM and IEEE float are supported");
    }
    if (channels == 0) {
      throw new AudioException(name, "channel count is 0 in the fmt chunk");
    }
    if (rate == 0) {
      throw new AudioException(name, "sample rate is 0 in the fmt chunk");
    }
    if (rate > Integer.MAX_VALUE) {
      throw new AudioException(name, "implausible sample rate " + rate + " in the fmt chunk");
    }
    if (bits == 0) {
      throw new AudioException(name, "bits per sample is 0 in the fmt chunk");
    }
    if (blockAlign == 0 || blockAlign % channels != 0 || blockAlign / channels != (bits + 7) / 8) {
      throw new AudioException(
          name,
          "inconsistent fmt chunk: block align "
              + blockAlign
              + " for "
              + channels
              + " channel(s) of "
              + bits
              + " bits");
    }
    if (validBits > bits) {
      throw new AudioException(
          name,
          "inconsistent fmt chunk: " + validBits + " valid bits in a " + bits + "-bit container");
    }
    int bytesPerSample = blockAlign / channels;
    boolean isFloat = effective == FORMAT_FLOAT;
    String encoding;
    if (isFloat) {
      if (bytesPerSample == 4) {
        encoding = "FLOAT";
      } else if (bytesPerSample == 8) {
        encoding = "DOUBLE";
      } else {
        throw new AudioException(name, "unsupported WAV encoding: " + bits + "-bit IEEE float");
      }
    } else {
      switch (bytesPerSample) {
        case 1:
          encoding = "PCM_U8";
          break;
        case 2:
          encoding = "PCM_16";
          break;
        case 3:
          encoding = "PCM_24";
          break;
        case 4:
          encoding = "PCM_32";
          break;
        default:
          throw new AudioException(name, "unsupported WAV encoding: " + bits + "-bit integer PCM");
      }
    }
    if (dataBytes == 0) {
      throw new AudioException(name, "no audio samples (the data chunk is empty)");
    }
    if (dataBytes % blockAlign != 0) {
      throw new AudioException(
          name,
          "data chunk size "
              + dataBytes
              + " is not a multiple of the block size "
              + blockAlign
              + " ("
              + channels
              + " channel(s) x "
              + bytesPerSample
              + " bytes)");
    }
    long frames = dataBytes / blockAlign;
    AudioInfo info =
        new AudioInfo(container, encoding, (int) rate, channels, frames, bytesPerSample * 8);
    return new Header(info, isFloat, bytesPerSample, blockAlign, validBits, dataOffset, dataBytes);
  }

  static String formatTagName(int tag) {
    switch (tag) {
      case 0x0000:
        return "unknown (0)";
      case 0x0002:
        return "Microsoft ADPCM";
      case 0x0006:
        return "A-law";
      case 0x0007:
        return "mu-law";
      case 0x0011:
        return "IMA ADPCM";
      case 0x0022:
        return "TrueSpeech";
      case 0x0031:
        return "GSM 6.10";
      case 0x0040:
        return "G.721 ADPCM";
      case 0x0050:
        return "MPEG";
      case 0x0055:
        return "MPEG Layer 3 (MP3)";
      case 0x00FF:
        return "AAC";
      case 0x0160:
      case 0x0161:
      case 0x0162:
      case 0x0163:
        return "Windows Media Audio";
      case 0x1610:
        return "MPEG-4 AAC (HE)";
      case 0xF1AC:
        return "FLAC";
      default:
        return "unknown encoding";
    }
  }

  private static void readAt(ByteSource src, byte[] head, long pos, byte[] dst, int len)
      throws IOException {
    if (pos + len <= head.length) {
      System.arraycopy(head, (int) pos, dst, 0, len);
    } else {
      src.readFully(pos, dst, 0, len);
    }
  }

  private static boolean isChunkId(byte[] b) {
    for (int i = 0; i < 4; i++) {
      int c = b[i] & 0xFF;
      if (c < 0x20 || c > 0x7E) {
        return false;
      }
    }
    return true;
  }

  private static boolean regionEquals(byte[] a, int off, byte[] b) {
    for (int i = 0; i < b.length; i++) {
      if (a[off + i] != b[i]) {
        return false;
      }
    }
    return true;
  }

  private static String guid(byte[] f, int o) {
    return String.format(
        "%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X",
        le32(f, o),
        le16(f, o + 4),
        le16(f, o + 6),
        f[o + 8],
        f[o + 9],
        f[o + 10],
        f[o + 11],
        f[o + 12],
        f[o + 13],
        f[o + 14],
        f[o + 15]);
  }

  static String ascii(byte[] b, int off, int len) {
    return new String(b, off, len, StandardCharsets.ISO_8859_1);
  }

  static int le16(byte[] b, int p) {
    return (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8);
  }

  static int le32(byte[] b, int p) {
    return (b[p] & 0xFF) | ((b[p + 1] & 0xFF) << 8) | ((b[p + 2] & 0xFF) << 16) | (b[p + 3] << 24);
  }

  static long le64(byte[] b, int p) {
    return (le32(b, p) & U32_MAX) | ((long) le32(b, p + 4) << 32);
  }
}
