package org.nestspark.audio;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Picks the decoder by the file's magic bytes (never by its extension) and applies NeMo's offset /
 * duration semantics (docs/nest-numerics.md §2, "Loading one clean utterance", step 1).
 *
 * <p>Supported: RIFF/WAVE, RF64/BW64 ({@link WavDecoder}) and native FLAC, optionally behind an ID3v2 tag
 * ({@link FlacDecoder}). Everything else is an {@link AudioException} {@code "unsupported format (<kind>)"}
 * where the kind is recognised when possible (Ogg Vorbis/Opus/FLAC, MP3, AAC, AIFF, AIFF-C, MP4/M4A,
 * Matroska/WebM, CAF, Sun AU, NIST SPHERE, Wave64, WavPack, Monkey's Audio, AMR, RIFX, a text file) and
 * otherwise given as the first bytes in hex.
 */
public final class AudioDecoders {
  /** How many leading bytes {@link #detect} looks at. */
  static final int SNIFF_BYTES = 64;

  /** {@code fLaC}, the block header and the 34-byte STREAMINFO. */
  private static final int STREAMINFO_BYTES = 4 + 4 + 34;

  private AudioDecoders() {}

  /** The container kinds we decode. */
  public enum Kind {
    WAV,
    FLAC
  }

  /** Decodes a whole in-memory file. */
  public static DecodedAudio decode(byte[] data, String name) throws AudioException {
    return decodeFrames(ByteSource.of(data), name, 0, -1);
  }

  /** Reads the stream to its end (not closed here) and decodes it. */
  public static DecodedAudio decode(InputStream in, String name) throws AudioException {
    byte[] data;
    try {
      data = in.readAllBytes();
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
    return decode(data, name);
  }

  /**
   * Decodes frames {@code [startFrame, startFrame + frameCount)} ({@code frameCount < 0}: to the end),
   * clipped to the end of the file. WAV reads only that range; FLAC decodes the whole stream (checking its
   * MD5) when the whole file is asked for, and otherwise only the frames of the range ({@link FlacSeeker}).
   */
  public static DecodedAudio decodeFrames(
      ByteSource src, String name, long startFrame, long frameCount) throws AudioException {
    try {
      Kind kind = kindOf(src, name);
      if (kind == Kind.WAV) {
        return WavDecoder.decode(src, name, startFrame, frameCount);
      }
      if (startFrame == 0 && frameCount < 0) {
        return FlacDecoder.decode(readAll(src, name), name, 0, -1);
      }
      return new FlacSeeker(src, name).decode(startFrame, frameCount).toFloat();
    } catch (RuntimeException e) {
      throw internal(name, e);
    }
  }

  /**
   * NeMo's reading rule: if {@code offsetSec > 0} start at frame {@code (long) (offsetSec * sr)}; if
   * {@code durationSec > 0} read {@code (long) (durationSec * sr)} frames (fewer if the file ends first,
   * like soundfile's short read), else read to the end. {@code sr} is the file's own rate from its header.
   * A FLAC range (offset or duration given) decodes only the frames it needs ({@link FlacSeeker}: SEEKTABLE
   * or frame-sync search, bit-identical to decoding the whole file and cutting); a whole FLAC file is
   * decoded and checked against its MD5.
   *
   * <p>Reported: an offset at or past the end ({@code "offset X s is beyond the end (Y s)"}), NaN or
   * infinite offset/duration, and an empty result ({@code "no audio samples"}).
   */
  public static DecodedAudio decodeSeconds(
      ByteSource src, String name, double offsetSec, double durationSec) throws AudioException {
    if (Double.isNaN(offsetSec) || Double.isInfinite(offsetSec)) {
      throw new AudioException(name, "invalid offset " + offsetSec);
    }
    if (Double.isNaN(durationSec) || Double.isInfinite(durationSec)) {
      throw new AudioException(name, "invalid duration " + durationSec);
    }
    try {
      Kind kind = kindOf(src, name);
      if (kind == Kind.WAV) {
        WavDecoder.Header h = WavDecoder.readHeader(src, name);
        long[] range = frameRange(h.info(), name, offsetSec, durationSec);
        return WavDecoder.decode(src, h, name, range[0], range[1]);
      }
      if (offsetSec > 0 || durationSec > 0) {
        FlacSeeker seeker = new FlacSeeker(src, name);
        if (seeker.canSeek()) {
          long[] range = frameRange(seeker.streamInfo().info(), name, offsetSec, durationSec);
          return seeker.decode(range[0], range[1]).toFloat();
        }
      }
      FlacDecoder.Result r = FlacDecoder.decodeIntegers(readAll(src, name), name);
      long[] range = frameRange(r.info(), name, offsetSec, durationSec);
      return r.toFloat(range[0], range[1]);
    } catch (RuntimeException e) {
      throw internal(name, e);
    }
  }

  /**
   * Header-only information (sample rate, channels, frames). WAV: the chunk headers up to {@code data}.
   * FLAC: only the STREAMINFO block (42 bytes after any ID3v2 tag), whose length is trusted as declared
   * (the frames are not checked); only a stream that does not declare its length (total samples 0) is
   * decoded to count its frames.
   */
  public static AudioInfo probe(ByteSource src, String name) throws AudioException {
    try {
      Kind kind = kindOf(src, name);
      if (kind == Kind.WAV) {
        return WavDecoder.readHeader(src, name).info();
      }
      long len = src.length();
      byte[] head = new byte[(int) Math.min(len, SNIFF_BYTES)];
      src.readFully(0, head, 0, head.length);
      long marker =
          FlacDecoder.markerOffset(head); // after an ID3v2 tag, possibly beyond the sniffed bytes
      byte[] block = new byte[(int) Math.max(0, Math.min(len - marker, STREAMINFO_BYTES))];
      src.readFully(marker, block, 0, block.length);
      FlacDecoder.StreamInfo si = FlacDecoder.readStreamInfo(block, 0, name, false);
      if (si.totalSamples > 0) {
        return si.info();
      }
      return FlacDecoder.decodeIntegers(readAll(src, name), name).info();
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    } catch (RuntimeException e) {
      throw internal(name, e);
    }
  }

  /** Probes in-memory bytes. */
  public static AudioInfo probe(byte[] data, String name) throws AudioException {
    return probe(ByteSource.of(data), name);
  }

  /**
   * The decoder for these leading bytes, or an {@link AudioException} {@code "unsupported format (...)"} /
   * {@code "empty file (0 bytes)"}.
   */
  public static Kind detect(byte[] head, long fileLength, String name) throws AudioException {
    if (fileLength == 0) {
      throw new AudioException(name, "empty file (0 bytes)");
    }
    int n = head.length;
    if (n >= 12
        && (is(head, 0, "RIFF") || is(head, 0, "RF64") || is(head, 0, "BW64"))
        && is(head, 8, "WAVE")) {
      return Kind.WAV;
    }
    if (n >= 4 && is(head, 0, "fLaC")) {
      return Kind.FLAC;
    }
    int id3 = FlacDecoder.markerOffset(head);
    if (id3 > 0 && id3 + 4 <= n && is(head, id3, "fLaC")) {
      return Kind.FLAC;
    }
    throw new AudioException(
        name,
        "unsupported format (" + describe(head, fileLength) + "); supported are WAV and FLAC");
  }

  /** A human name for an unsupported container, or its first bytes in hex. */
  static String describe(byte[] h, long fileLength) {
    int n = h.length;
    if (n >= 4 && is(h, 0, "OggS")) {
      if (n >= 36 && is(h, 28, "OpusHead")) {
        return "Ogg Opus";
      }
      if (n >= 35 && h[28] == 1 && is(h, 29, "vorbis")) {
        return "Ogg Vorbis";
      }
      if (n >= 33 && (h[28] & 0xFF) == 0x7F && is(h, 29, "FLAC")) {
        return "Ogg FLAC";
      }
      if (n >= 36 && is(h, 28, "Speex   ")) {
        return "Ogg Speex";
      }
      return "Ogg";
    }
    if (n >= 12 && is(h, 0, "FORM")) {
      if (is(h, 8, "AIFF")) {
        return "AIFF";
      }
      if (is(h, 8, "AIFC")) {
        return "AIFF-C";
      }
      return "IFF FORM '" + WavDecoder.ascii(h, 8, 4) + "'";
    }
    if (n >= 12 && is(h, 0, "RIFF")) {
      return "RIFF container of type '" + WavDecoder.ascii(h, 8, 4) + "', not WAVE";
    }
    if (n >= 4 && is(h, 0, "RIFX")) {
      return "big-endian RIFX WAV";
    }
    if (n >= 4 && is(h, 0, "riff")) {
      return "Sony Wave64";
    }
    if (n >= 8 && is(h, 4, "ftyp")) {
      return "MP4/M4A (ftyp '" + WavDecoder.ascii(h, 8, 4) + "')";
    }
    if (n >= 4
        && (h[0] & 0xFF) == 0x1A
        && (h[1] & 0xFF) == 0x45
        && (h[2] & 0xFF) == 0xDF
        && (h[3] & 0xFF) == 0xA3) {
      return "Matroska/WebM";
    }
    if (n >= 4 && is(h, 0, "caff")) {
      return "Core Audio Format (CAF)";
    }
    if (n >= 4 && is(h, 0, ".snd")) {
      return "Sun/NeXT AU";
    }
    if (n >= 7 && is(h, 0, "NIST_1A")) {
      return "NIST SPHERE";
    }
    if (n >= 4 && is(h, 0, "wvpk")) {
      return "WavPack";
    }
    if (n >= 4 && is(h, 0, "MAC ")) {
      return "Monkey's Audio";
    }
    if (n >= 5 && is(h, 0, "#!AMR")) {
      return "AMR";
    }
    if (n >= 3 && is(h, 0, "ID3")) {
      return "MP3 or other audio behind an ID3v2 tag (no fLaC marker after it)";
    }
    if (n >= 2 && (h[0] & 0xFF) == 0xFF && (h[1] & 0xE0) == 0xE0) {
      int layer = (h[1] >>> 1) & 3;
      if (layer == 0 && (h[1] & 0xF6) == 0xF0) {
        return "AAC (ADTS)";
      }
      if (layer != 0 && ((h[1] >>> 3) & 3) != 1) {
        return "MPEG audio layer " + (4 - layer) + (layer == 1 ? " (MP3)" : "");
      }
    }
    if (looksLikeText(h)) {
      String s =
          new String(h, 0, Math.min(n, 24), StandardCharsets.UTF_8)
              .replaceAll("[\\r\\n\\t]", " ")
              .strip();
      return "text file: \"" + s + (n > 24 ? "...\"" : "\"");
    }
    return "unknown; first bytes "
        + describeBytes(h, 0, Math.min(n, 16))
        + (fileLength < 16 ? ", file is only " + fileLength + " bytes" : "");
  }

  /** Hex dump like {@code 4f 67 67 53} (with an ASCII rendering when printable). */
  static String describeBytes(byte[] b, int off, int len) {
    StringBuilder hex = new StringBuilder();
    StringBuilder txt = new StringBuilder();
    for (int i = off; i < off + len && i < b.length; i++) {
      if (hex.length() > 0) {
        hex.append(' ');
      }
      hex.append(String.format(Locale.ROOT, "%02x", b[i] & 0xFF));
      int c = b[i] & 0xFF;
      txt.append(c >= 0x20 && c < 0x7F ? (char) c : '.');
    }
    return hex + " \"" + txt + "\"";
  }

  private static boolean looksLikeText(byte[] h) {
    if (h.length == 0) {
      return false;
    }
    for (byte b : h) {
      int c = b & 0xFF;
      if (c < 0x09 || (c > 0x0D && c < 0x20) || c == 0x7F) {
        return false;
      }
    }
    return true;
  }

  private static boolean is(byte[] b, int off, String s) {
    if (off + s.length() > b.length) {
      return false;
    }
    for (int i = 0; i < s.length(); i++) {
      if (b[off + i] != (byte) s.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------

  static Kind kindOf(ByteSource src, String name) throws AudioException {
    try {
      long len = src.length();
      byte[] head = new byte[(int) Math.min(len, SNIFF_BYTES)];
      src.readFully(0, head, 0, head.length);
      if (len > head.length && head.length >= 10 && is(head, 0, "ID3")) {
        int off = FlacDecoder.markerOffset(head);
        if (off > 0 && off + 4 <= len) {
          // the tag is longer than the sniffed bytes: look right after it
          byte[] marker = new byte[4];
          src.readFully(off, marker, 0, 4);
          if (is(marker, 0, "fLaC")) {
            return Kind.FLAC;
          }
        }
      }
      return detect(head, len, name);
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  static long[] frameRange(AudioInfo info, String name, double offsetSec, double durationSec)
      throws AudioException {
    long frames = info.frames();
    int sr = info.sampleRate();
    long start = offsetSec > 0 ? (long) (offsetSec * sr) : 0;
    if (start > 0 && start >= frames) {
      throw new AudioException(
          name,
          String.format(
              Locale.ROOT,
              "offset %s s is beyond the end (%s s)",
              num(offsetSec),
              num(info.durationSeconds())));
    }
    long count =
        durationSec > 0 ? Math.min((long) (durationSec * sr), frames - start) : frames - start;
    if (count <= 0) {
      throw new AudioException(
          name,
          String.format(
              Locale.ROOT,
              "no audio samples (duration %s s is %d frames at %d Hz)",
              num(durationSec),
              count,
              sr));
    }
    return new long[] {start, count};
  }

  private static String num(double v) {
    String s = String.format(Locale.ROOT, "%.6f", v);
    s = s.replaceAll("0+$", "");
    return s.endsWith(".") ? s + "0" : s;
  }

  static byte[] readAll(ByteSource src, String name) throws AudioException {
    try {
      long len = src.length();
      if (len > Integer.MAX_VALUE - 8) {
        throw new AudioException(name, "file too large to decode in memory (" + len + " bytes)");
      }
      byte[] all = new byte[(int) len];
      src.readFully(0, all, 0, all.length);
      return all;
    } catch (IOException e) {
      throw new AudioException(name, "read error: " + e, e);
    }
  }

  private static AudioException internal(String name, RuntimeException e) {
    return new AudioException(name, "malformed audio data (decoder error " + e + ")", e);
  }
}
