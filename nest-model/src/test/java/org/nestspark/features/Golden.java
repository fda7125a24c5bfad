package org.nestspark.features;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;

/**
 * Access to the golden feature data copied into test resources ({@code golden/features/}; see the
 * README there) and a minimal 16-bit PCM WAV reader for the six golden WAVs (the real audio decoders
 * live in {@code org.nestspark.audio}).
 */
final class Golden {
  /** NeMo's batch order of the golden data. */
  static final String[] NAMES = {
    "speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "silence_2s", "tone440_1p5s"
  };

  private static final String ROOT = "/golden/features/";

  private Golden() {}

  /** Loads {@code golden/features/<rel>} (plain or {@code .gz}, the reader detects gzip). */
  static NpyArray npy(String rel) {
    try (InputStream in = open(rel)) {
      return Npy.read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static InputStream open(String rel) {
    InputStream in = Golden.class.getResourceAsStream(ROOT + rel);
    if (in == null) {
      throw new IllegalStateException("missing test resource " + ROOT + rel);
    }
    return in;
  }

  /** A golden WAV as float samples {@code int16 / 32768} (how NeMo's soundfile loading scales PCM16). */
  static float[] wav(String name) {
    byte[] b;
    try (InputStream in = open("wav/" + name + ".wav")) {
      ByteArrayOutputStream bos = new ByteArrayOutputStream();
      in.transferTo(bos);
      b = bos.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    if (!new String(b, 0, 4, StandardCharsets.US_ASCII).equals("RIFF")
        || !new String(b, 8, 4, StandardCharsets.US_ASCII).equals("WAVE")) {
      throw new IllegalStateException(name + ": not a RIFF/WAVE file");
    }
    int pos = 12;
    int channels = -1;
    int bits = -1;
    while (pos + 8 <= b.length) {
      String id = new String(b, pos, 4, StandardCharsets.US_ASCII);
      int size = bb.getInt(pos + 4);
      int body = pos + 8;
      if (id.equals("fmt ")) {
        int format = bb.getShort(body) & 0xffff;
        channels = bb.getShort(body + 2);
        bits = bb.getShort(body + 14);
        if (format != 1 || channels != 1 || bits != 16 || bb.getInt(body + 4) != 16000) {
          throw new IllegalStateException(name + ": expected PCM16 mono 16 kHz");
        }
      } else if (id.equals("data")) {
        if (bits != 16) {
          throw new IllegalStateException(name + ": data before fmt");
        }
        int n = size / 2;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
          x[i] = bb.getShort(body + 2 * i) / 32768f;
        }
        return x;
      }
      pos = body + size + (size & 1);
    }
    throw new IllegalStateException(name + ": no data chunk");
  }

  /** Max |a − b| over all elements. */
  static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(a.length + " vs " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }
}
