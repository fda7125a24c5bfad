package org.nestspark.job.bench;

import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.audio.AudioException;
import org.nestspark.audio.AudioSegment;
import org.nestspark.audio.ByteSource;
import org.nestspark.audio.DecodedAudio;
import org.nestspark.audio.FlacDecoder;
import org.nestspark.audio.FlacSeeker;

/**
 * {@code nest bench flac}: reading manifest segments ({@code offset}/{@code duration}) out of a 1-hour FLAC
 * recording, the old way (read and decode the whole file, cut) against {@link org.nestspark.audio.FlacSeeker}
 * (through {@link AudioSegment#load}, the path every job uses), on a file with the flac CLI's default
 * SEEKTABLE (a point every 10 s) and on the same audio without one (frame-sync search). Every seeking result
 * is compared with the whole-file decode cut, sample for sample. The whole-file way costs the same for every
 * segment, so it is timed on fewer segments ({@code --whole-segments}, default 5) and reported per segment. Figures are printed, never asserted.
 *
 * <p>The recording is made at bench time with sox (16 kHz mono 16-bit, a 100-4000 Hz sweep with pink noise,
 * {@code -R} for repeatability) and flac ({@code -5}, with and without {@code --no-seektable}) in a temporary
 * folder, unless {@code --file} names an existing FLAC file.
 */
public final class FlacSeekBench {
  private FlacSeekBench() {}

  /**
   * @param file an existing FLAC file, or null to make the 1-hour recordings
   * @param segments segments read by seeking
   * @param wholeSegments segments read the old way (each decodes the whole file; the per-segment time is what 100
   *     segments cost each), at least 1
   * @param seconds segment duration
   */
  public static void run(
      String file, int segments, int wholeSegments, double seconds, PrintStream out)
      throws IOException, InterruptedException, AudioException {
    List<File> files = new ArrayList<>();
    File tmp = null;
    if (file != null) {
      files.add(new File(file));
    } else {
      tmp = Files.createTempDirectory("nest-bench-flac").toFile();
      File wav = new File(tmp, "hour.wav");
      long t0 = System.nanoTime();
      exec(
          "sox",
          "-R",
          "-n",
          "-r",
          "16000",
          "-b",
          "16",
          "-c",
          "1",
          wav.getPath(),
          "synth",
          "3600",
          "sine",
          "100-4000",
          "synth",
          "3600",
          "pinknoise",
          "mix",
          "vol",
          "0.3");
      File st = new File(tmp, "hour_seektable.flac");
      File no = new File(tmp, "hour_noseektable.flac");
      exec("flac", "-s", "-5", "-f", "-o", st.getPath(), wav.getPath());
      exec("flac", "-s", "-5", "--no-seektable", "-f", "-o", no.getPath(), wav.getPath());
      Files.delete(wav.toPath());
      out.printf(
          Locale.ROOT,
          "made the 1-hour recordings with sox and flac in %.1f s%n",
          (System.nanoTime() - t0) / 1e9);
      files.add(st);
      files.add(no);
    }
    Configuration conf = new Configuration();
    try {
      for (File f : files) {
        bench(f, conf, segments, wholeSegments, seconds, out);
      }
    } finally {
      if (tmp != null) {
        for (File f : files) {
          Files.deleteIfExists(f.toPath());
        }
        Files.deleteIfExists(tmp.toPath());
      }
    }
  }

  private static void bench(
      File f, Configuration conf, int segments, int wholeSegments, double seconds, PrintStream out)
      throws IOException, AudioException {
    Path path = new Path(f.toURI());
    FileSystem fs = path.getFileSystem(conf);
    long len = fs.getFileStatus(path).getLen();
    FlacDecoder.StreamInfo si;
    try (FSDataInputStream in = fs.open(path)) {
      si = new FlacSeeker(source(in, len), f.getName()).streamInfo();
    }
    double fileSeconds = si.totalSamples / (double) si.sampleRate;
    Random rng = new Random(42);
    double[] offsets = new double[Math.max(segments, wholeSegments)];
    for (int i = 0; i < offsets.length; i++) {
      offsets[i] = Math.floor(rng.nextDouble() * (fileSeconds - seconds) * 100) / 100;
    }
    out.printf(
        Locale.ROOT,
        "%s: %.0f s, %d Hz, %.1f MB, %d segments of %.1f s at random offsets%n",
        f.getName(),
        fileSeconds,
        si.sampleRate,
        len / 1e6,
        segments,
        seconds);

    // seeking, the path every job takes
    for (int i = 0; i < Math.min(10, segments); i++) {
      AudioSegment.load(
          path, conf, offsets[offsets.length - 1 - i], seconds, -1); // warm-up (class loading, JIT)
    }
    long t0 = System.nanoTime();
    float[][] seek = new float[segments][];
    for (int i = 0; i < segments; i++) {
      seek[i] = AudioSegment.load(path, conf, offsets[i], seconds, -1).samples();
    }
    double seekS = (System.nanoTime() - t0) / 1e9;

    // the same segments again (untimed) for what the seeker read and how it found the first frame
    long bytes = 0;
    long probes = 0;
    int tableUsed = 0;
    try (FSDataInputStream in = fs.open(path)) {
      ByteSource src = source(in, len);
      for (int i = 0; i < segments; i++) {
        FlacSeeker.Segment sg =
            new FlacSeeker(src, f.getName())
                .decode((long) (offsets[i] * si.sampleRate), (long) (seconds * si.sampleRate));
        bytes += sg.bytesRead();
        probes += sg.searchProbes();
        tableUsed += sg.usedSeekTable() ? 1 : 0;
      }
    }

    // the old way: read the whole file, decode it all, cut
    t0 = System.nanoTime();
    FlacDecoder.Result r = null;
    for (int i = 0; i < Math.max(1, wholeSegments); i++) {
      byte[] all = new byte[(int) len];
      try (FSDataInputStream in = fs.open(path)) {
        in.readFully(0, all);
      }
      r = FlacDecoder.decodeIntegers(all, f.getName());
      long start = (long) (offsets[i] * si.sampleRate);
      r.toFloat(start, Math.min((long) (seconds * si.sampleRate), r.frames() - start));
    }
    double wholeS = (System.nanoTime() - t0) / 1e9;
    double wholePer = wholeS / Math.max(1, wholeSegments);
    int mismatches = 0;
    for (int i = 0; i < segments; i++) {
      long start = (long) (offsets[i] * si.sampleRate);
      DecodedAudio d =
          r.toFloat(start, Math.min((long) (seconds * si.sampleRate), r.frames() - start));
      if (!Arrays.equals(d.channel(0), seek[i])) {
        mismatches++;
      }
    }
    double seekPer = seekS / segments;
    out.printf(
        Locale.ROOT,
        "  whole-file decode + cut: %d segments in %.2f s = %.1f ms/segment (%.1f MB read each)%n",
        Math.max(1, wholeSegments),
        wholeS,
        1000 * wholePer,
        len / 1e6);
    out.printf(
        Locale.ROOT,
        "  seek (FlacSeeker):       %d segments in %.2f s = %.1f ms/segment, %.0fx faster; %.1f s of audio/s%n",
        segments,
        seekS,
        1000 * seekPer,
        wholePer / seekPer,
        segments * seconds / seekS);
    out.printf(
        Locale.ROOT,
        "  seek reads %.1f kB/segment, %.1f search probes/segment, SEEKTABLE point used for %d of %d%n",
        bytes / 1e3 / segments,
        probes / (double) segments,
        tableUsed,
        segments);
    out.printf(
        Locale.ROOT,
        "  bit-identical to the whole-file decode cut: %d of %d segments%n",
        segments - mismatches,
        segments);
  }

  private static ByteSource source(FSDataInputStream in, long len) {
    return new ByteSource() {
      @Override
      public long length() {
        return len;
      }

      @Override
      public void readFully(long position, byte[] buffer, int offset, int length)
          throws IOException {
        in.readFully(position, buffer, offset, length);
      }
    };
  }

  private static void exec(String... cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output =
        new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (p.waitFor() != 0) {
      throw new IOException(String.join(" ", cmd) + " failed: " + output.strip());
    }
  }
}
