package org.nestspark.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;

/**
 * The one place that finds and reads the golden data (nest-spark's test kit, in nest-model's test-jar):
 * the test resources under {@code golden/} (outputs of NeMo itself; each folder has a README saying how
 * they were made): {@code features/} (the six WAVs, log-mel, filterbank), {@code encoder_tiny/}, {@code
 * decoder/}, {@code quantizer/}, {@code masking/}, {@code loss/}, {@code train_check/}, {@code extract/},
 * {@code nemo/} (NeMo's tiny {@code .nemo}). Paths are relative to {@code golden/}; a file stored
 * gzip-compressed is found with or without its {@code .gz}. The per-package helpers ({@code
 * GoldenModel}, {@code NemoGolden}, {@code SslGolden}, {@code TinyGolden}) build their domain objects on
 * top of it.
 */
public final class Golden {
  /** NeMo's batch order of the golden utterances ({@code features/wav/<name>.wav}). */
  public static final String[] NAMES = {
    "speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "silence_2s", "tone440_1p5s"
  };

  private static final String ROOT = "/golden/";

  private Golden() {}

  /** The class-path resource of {@code golden/<rel>}, or of {@code golden/<rel>.gz} when that is absent. */
  public static String resource(String rel) {
    String path = ROOT + rel;
    if (Golden.class.getResource(path) != null) {
      return path;
    }
    if (Golden.class.getResource(path + ".gz") != null) {
      return path + ".gz";
    }
    throw new IllegalStateException("missing test resource " + path + "(.gz)");
  }

  /** {@code golden/<rel>} as stored (a {@code .gz} file is not decompressed). */
  public static InputStream open(String rel) {
    return Golden.class.getResourceAsStream(resource(rel));
  }

  /** The bytes of {@code golden/<rel>} as stored. */
  public static byte[] bytes(String rel) {
    try (InputStream in = open(rel)) {
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code golden/<rel>} as UTF-8 text. */
  public static String text(String rel) {
    return new String(bytes(rel), StandardCharsets.UTF_8);
  }

  /** The {@code .npy} array {@code golden/<rel>} (plain or gzip: the reader detects gzip). */
  public static NpyArray npy(String rel) {
    try (InputStream in = open(rel)) {
      return Npy.read(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A golden array as an ND4J array of type {@code dt} and the golden shape (a scalar for rank 0). */
  public static INDArray array(String rel, DataType dt) {
    NpyArray a = npy(rel);
    long[] shape = Arrays.stream(a.shape()).asLongStream().toArray();
    double[] d = a.toDoubleArray();
    INDArray x = shape.length == 0 ? Nd4j.scalar(d[0]) : Nd4j.create(d, shape, 'c');
    return x.castTo(dt);
  }

  /** A golden file or folder on disk (Maven copies test resources to {@code target/test-classes}). */
  public static Path path(String rel) {
    URL u = Golden.class.getResource(ROOT + rel);
    if (u == null) {
      throw new IllegalStateException("missing test resource " + ROOT + rel);
    }
    try {
      return Paths.get(u.toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Copies {@code golden/<rel>} as stored to {@code target} (replacing it); returns {@code target}. */
  public static Path copy(String rel, Path target) {
    try (InputStream in = open(rel)) {
      if (target.getParent() != null) {
        Files.createDirectories(target.getParent());
      }
      Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The golden WAV {@code features/wav/<name>.wav}, copied to {@code target}. */
  public static Path copyWav(String name, Path target) {
    return copy("features/wav/" + name + ".wav", target);
  }

  /**
   * A golden WAV ({@code features/wav/<name>.wav}) as float samples {@code int16 / 32768} (how NeMo's
   * soundfile loading scales PCM16); a minimal reader, independent of {@code org.nestspark.audio}.
   */
  public static float[] wav(String name) {
    byte[] b = bytes("features/wav/" + name + ".wav");
    ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    if (!new String(b, 0, 4, StandardCharsets.US_ASCII).equals("RIFF")
        || !new String(b, 8, 4, StandardCharsets.US_ASCII).equals("WAVE")) {
      throw new IllegalStateException(name + ": not a RIFF/WAVE file");
    }
    int pos = 12;
    int bits = -1;
    while (pos + 8 <= b.length) {
      String id = new String(b, pos, 4, StandardCharsets.US_ASCII);
      int size = bb.getInt(pos + 4);
      int body = pos + 8;
      if (id.equals("fmt ")) {
        int format = bb.getShort(body) & 0xffff;
        int channels = bb.getShort(body + 2);
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
  public static double maxAbsDiff(float[] a, float[] b) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(a.length + " vs " + b.length);
    }
    double m = 0;
    for (int i = 0; i < a.length; i++) {
      m = Math.max(m, Math.abs((double) a[i] - b[i]));
    }
    return m;
  }

  /** Max |a − b| over all elements, in double precision. */
  public static double maxAbsDiff(INDArray a, INDArray b) {
    if (!Arrays.equals(a.shape(), b.shape())) {
      throw new IllegalArgumentException(
          Arrays.toString(a.shape()) + " vs " + Arrays.toString(b.shape()));
    }
    return a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
  }
}
