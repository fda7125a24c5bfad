package org.nestspark.audio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/** Test fixtures under src/test/resources/audio (made by src/test/scripts/make-audio-fixtures.sh) and signal math. */
final class Fixtures {
  private Fixtures() {}

  static Path path(String rel) {
    URL url = Fixtures.class.getResource("/audio/" + rel);
    if (url == null) {
      throw new IllegalArgumentException("missing fixture audio/" + rel);
    }
    try {
      return Paths.get(url.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] bytes(String rel) {
    try {
      return Files.readAllBytes(path(rel));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static DecodedAudio decode(String rel) throws AudioException {
    return AudioDecoders.decode(bytes(rel), rel);
  }

  /** Pairs (flac file, reference wav) from flac/refs.txt. */
  static List<String[]> flacReferences() {
    List<String[]> out = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(path("flac/refs.txt"))) {
        line = line.trim();
        if (!line.isEmpty() && !line.startsWith("#")) {
          out.add(line.split("\\s+"));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /**
   * Integer samples {@code [channel][frame]} of a PCM WAV, parsed here independently of the float path:
   * little-endian container values shifted right by (container bits - valid bits), as {@code flac -d}
   * left-justifies odd bit depths; 8-bit is unsigned.
   */
  static int[][] wavIntegers(byte[] wav, String name) throws AudioException {
    WavDecoder.Header h = WavDecoder.readHeader(ByteSource.of(wav), name);
    int ch = h.info().channels();
    int n = (int) h.info().frames();
    int bps = h.bytesPerSample();
    int shift = bps * 8 - h.validBits();
    int[][] out = new int[ch][n];
    int p = (int) h.dataOffset();
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < ch; c++) {
        long v = 0;
        for (int k = 0; k < bps; k++) {
          v |= (wav[p + k] & 0xFFL) << (8 * k);
        }
        p += bps;
        int s;
        if (bps == 1) {
          s = (int) v - 128;
        } else {
          s = (int) ((v << (64 - 8 * bps)) >> (64 - 8 * bps));
        }
        out[c][i] = s >> shift;
      }
    }
    return out;
  }

  /** Amplitude of the sinusoid at {@code freq} in {@code y[from, to)} by least squares (sin and cos). */
  static double toneAmplitude(float[] y, int from, int to, double freq, double rate) {
    double[] ab = toneFit(y, from, to, freq, rate);
    return Math.hypot(ab[0], ab[1]);
  }

  /** Least-squares {a, b} with y ≈ a cos(wn) + b sin(wn) over [from, to). */
  static double[] toneFit(float[] y, int from, int to, double freq, double rate) {
    double w = 2 * Math.PI * freq / rate;
    double cc = 0;
    double ss = 0;
    double cs = 0;
    double yc = 0;
    double ys = 0;
    for (int n = from; n < to; n++) {
      double c = Math.cos(w * n);
      double s = Math.sin(w * n);
      cc += c * c;
      ss += s * s;
      cs += c * s;
      yc += y[n] * c;
      ys += y[n] * s;
    }
    double det = cc * ss - cs * cs;
    return new double[] {(yc * ss - ys * cs) / det, (ys * cc - yc * cs) / det};
  }

  /**
   * Joint least-squares fit of sinusoids at {@code freqs} over {@code y[from, to)}; returns the amplitude of
   * each (no leakage between the fitted frequencies, unlike separate single-tone fits).
   */
  static double[] toneAmplitudes(float[] y, int from, int to, double[] freqs, double rate) {
    int k = 2 * freqs.length;
    double[][] a = new double[k][k + 1];
    double[] basis = new double[k];
    for (int n = from; n < to; n++) {
      for (int j = 0; j < freqs.length; j++) {
        double w = 2 * Math.PI * freqs[j] / rate * n;
        basis[2 * j] = Math.cos(w);
        basis[2 * j + 1] = Math.sin(w);
      }
      for (int r = 0; r < k; r++) {
        for (int c = 0; c < k; c++) {
          a[r][c] += basis[r] * basis[c];
        }
        a[r][k] += basis[r] * y[n];
      }
    }
    for (int col = 0; col < k; col++) { // Gaussian elimination with partial pivoting
      int piv = col;
      for (int r = col + 1; r < k; r++) {
        if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) {
          piv = r;
        }
      }
      double[] t = a[col];
      a[col] = a[piv];
      a[piv] = t;
      for (int r = 0; r < k; r++) {
        if (r != col) {
          double f = a[r][col] / a[col][col];
          for (int c = col; c <= k; c++) {
            a[r][c] -= f * a[col][c];
          }
        }
      }
    }
    double[] amp = new double[freqs.length];
    for (int j = 0; j < freqs.length; j++) {
      amp[j] = Math.hypot(a[2 * j][k] / a[2 * j][2 * j], a[2 * j + 1][k] / a[2 * j + 1][2 * j + 1]);
    }
    return amp;
  }

  static double rms(float[] y, int from, int to) {
    double s = 0;
    for (int i = from; i < to; i++) {
      s += (double) y[i] * y[i];
    }
    return Math.sqrt(s / (to - from));
  }

  static float[] sine(int n, double freq, double rate, double amp, double phase) {
    float[] x = new float[n];
    for (int i = 0; i < n; i++) {
      x[i] = (float) (amp * Math.sin(2 * Math.PI * freq * i / rate + phase));
    }
    return x;
  }

  static double db(double ratio) {
    return 20 * Math.log10(ratio);
  }
}
