package org.nestspark.job.featurize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.io.Npy;
import org.nestspark.io.NpyArray;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;
import org.nestspark.testkit.Golden;

/** {@code nest featurize} end to end on Spark local[2]: real audio, real files, bad inputs, reruns. */
class FeaturizeCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();

  @TempDir Path dir;

  static Run nest(String... args) {
    return Nest.local2(args);
  }

  static List<JsonNode> readJsonLines(Path p) throws IOException {
    List<JsonNode> out = new ArrayList<>();
    for (String line : Files.readAllLines(p)) {
      out.add(JSON.readTree(line));
    }
    return out;
  }

  /** {@code golden/<rel>} copied to {@code target} ({@link Golden#copy}). */
  static Path copyResource(String rel, Path target) {
    return Golden.copy(rel, target);
  }

  @Test
  void featurizesTheBundledSampleCorpus() throws Exception {
    Path out = dir.resolve("features");
    Path manifest = REPO.resolve("deploy/sample/val_manifest.json");
    Run r = nest("featurize", "--manifest", manifest.toString(), "--out", out.toString());
    assertEquals(0, r.code, r.err);
    List<JsonNode> in = readJsonLines(manifest);
    // the progress lines go to stderr (every featurize.progress_interval_seconds, then a last one
    // when done)
    assertTrue(
        r.err.contains("[featurize] " + in.size() + "/" + in.size() + " utterances (100.0 %) | "),
        r.err);
    assertTrue(!r.out.contains("[featurize]"), r.out);
    List<JsonNode> feats = readJsonLines(out.resolve("features.json"));
    assertEquals(in.size(), feats.size());
    assertTrue(
        r.out.startsWith(
            "featurized "
                + in.size()
                + " utterance(s) ("
                + in.size()
                + " written, 0 already complete), skipped 0"),
        r.out);
    for (int i = 0; i < in.size(); i++) {
      JsonNode f = feats.get(i);
      assertEquals(in.get(i).get("text"), f.get("text"), "input fields are kept");
      assertEquals(in.get(i).get("duration"), f.get("duration"));
      Path audio = manifest.getParent().resolve(in.get(i).get("audio_filepath").asText());
      String expectedName = audio.toString().replace('/', '_').replace('.', '_') + ".npy";
      assertEquals(
          out.resolve(expectedName).toString(),
          f.get("feature_path").asText(),
          "NeMo's extract_features naming");
      NpyArray a = Npy.read(Path.of(f.get("feature_path").asText()));
      int samples = (int) Math.round(in.get(i).get("duration").asDouble() * 16000);
      assertEquals(2, a.rank());
      assertEquals(80, a.dim(0));
      assertEquals(samples / 160, a.dim(1), "floor(N/160) valid frames");
      assertEquals(a.dim(1), f.get("num_frames").asInt());
      for (float v : a.floatData()) {
        assertTrue(Float.isFinite(v));
      }
    }
  }

  @Test
  void badInputsAreSkippedWithTheirReasonAndRerunsOnlyDoWhatIsMissing() throws Exception {
    Path data = dir.resolve("data");
    Path good = copyResource("features/wav/speech_1s.wav", data.resolve("good one #1.wav"));
    copyResource("features/wav/tone440_1p5s.wav", data.resolve("tone.wav"));
    byte[] bytes = Files.readAllBytes(good);
    Files.write(
        data.resolve("truncated.wav"), java.util.Arrays.copyOf(bytes, 30)); // header cut short
    Files.createDirectories(data.resolve("a_directory.wav"));
    Files.writeString(data.resolve("text.wav"), "this is not audio at all, just text\n");
    Path manifest = data.resolve("manifest.json");
    Files.writeString(
        manifest,
        String.join(
            "\n",
            "{\"audio_filepath\": \"good one #1.wav\", \"duration\": 1.0, \"spk\": \"a\"}",
            "{\"audio_filepath\": \"missing.wav\", \"duration\": 1.0}",
            "{\"audio_filepath\": \"truncated.wav\"}",
            "{\"audio_filepath\": \"a_directory.wav\"}",
            "{\"audio_filepath\": \"text.wav\"}",
            "{\"audio_filepath\": \"tone.wav\", \"offset\": 5.0}",
            "{\"audio_filepath\": \"tone.wav\", \"offset\": 0.5, \"duration\": 0.5}",
            "{not json",
            ""));
    Path out = dir.resolve("out");
    Run r = nest("featurize", "--manifest", manifest.toString(), "--out", out.toString());
    assertEquals(0, r.code, r.err);
    assertTrue(
        r.out.startsWith("featurized 2 utterance(s) (2 written, 0 already complete), skipped 6"),
        r.out);
    String m = manifest.toString();
    assertTrue(r.out.contains("skipped " + m + ":8: invalid JSON"), r.out);
    for (String line : List.of(":2: ", ":3: ", ":4: ", ":5: ", ":6: ")) {
      assertTrue(
          r.out.contains("skipped " + m + line), "no report for line " + line + " in\n" + r.out);
    }
    assertTrue(r.out.contains("missing.wav"), r.out);
    assertTrue(r.out.toLowerCase().contains("no such file"), r.out);
    assertTrue(r.out.toLowerCase().contains("directory"), r.out);
    assertTrue(r.out.toLowerCase().contains("unsupported format"), r.out);
    assertTrue(r.out.contains("beyond the end"), r.out);

    List<JsonNode> feats = readJsonLines(out.resolve("features.json"));
    assertEquals(2, feats.size());
    assertEquals("a", feats.get(0).get("spk").asText());
    assertEquals(100, feats.get(0).get("num_frames").asInt());
    assertEquals(
        50, feats.get(1).get("num_frames").asInt(), "[offset, offset+duration) = 8000 samples");
    assertTrue(
        feats.get(1).get("feature_path").asText().endsWith("tone_wav__2.npy"),
        "the second entry of the same file gets a suffix");

    // rerun: nothing to do; a stray temporary file (a writer killed before its rename) is removed
    Files.writeString(out.resolve(".x.npy.tmp-123"), "partial");
    Files.writeString(out.resolve(".notes"), "not ours");
    Run again = nest("featurize", "--manifest", manifest.toString(), "--out", out.toString());
    assertEquals(0, again.code, again.err);
    assertFalse(Files.exists(out.resolve(".x.npy.tmp-123")));
    assertTrue(Files.exists(out.resolve(".notes")), "only our temporary names are removed");
    assertTrue(
        again.err.contains("featurize: removed 1 temporary file(s) left by writers that died"),
        again.err);
    assertTrue(
        again.out.startsWith(
            "featurized 2 utterance(s) (0 written, 2 already complete), skipped 6"),
        again.out);
    // a deleted or damaged output is computed again
    Path first = Path.of(feats.get(0).get("feature_path").asText());
    float[] before = Npy.read(first).floatData();
    Files.write(first, new byte[] {1, 2, 3});
    Run third = nest("featurize", "--manifest", manifest.toString(), "--out", out.toString());
    assertTrue(
        third.out.startsWith("featurized 2 utterance(s) (1 written, 1 already complete)"),
        third.out);
    assertTrue(
        java.util.Arrays.equals(before, Npy.read(first).floatData()), "eval mode: deterministic");
    try (Stream<Path> files = Files.list(out)) {
      List<String> tmp =
          files
              .map(p -> p.getFileName().toString())
              .filter(n -> n.contains(".tmp-") && !n.equals(".x.npy.tmp-123"))
              .collect(Collectors.toList());
      assertEquals(List.of(), tmp, "no temporary files left behind");
    }
  }

  @Test
  void matchesNemoFeaturesComputedByNemoItself() throws Exception {
    String[] names = {"speech_0p37s", "speech_1s", "speech_4p2s", "speech_11s", "tone440_1p5s"};
    StringBuilder manifest = new StringBuilder();
    for (String n : names) {
      copyResource("features/wav/" + n + ".wav", dir.resolve("wav/" + n + ".wav"));
      manifest.append("{\"audio_filepath\": \"wav/").append(n).append(".wav\"}\n");
    }
    Files.writeString(dir.resolve("golden.json"), manifest);
    Run r =
        nest(
            "featurize",
            "--manifest",
            dir.resolve("golden.json").toString(),
            "--out",
            dir.resolve("out").toString());
    assertEquals(0, r.code, r.err);
    List<JsonNode> feats = readJsonLines(dir.resolve("out/features.json"));
    for (int i = 0; i < names.length; i++) {
      NpyArray ours = Npy.read(Path.of(feats.get(i).get("feature_path").asText()));
      NpyArray nemo;
      try (InputStream in = Golden.open("features/single/" + names[i] + "_norm.npy.gz")) {
        nemo = Npy.read(in);
      }
      int valid = ours.dim(1);
      int padded = nemo.dim(2);
      assertEquals(readLengths(names[i])[0], valid, names[i]);
      double max = 0;
      for (int f = 0; f < 80; f++) {
        for (int t = 0; t < valid; t++) {
          max =
              Math.max(
                  max,
                  Math.abs(ours.floatData()[f * valid + t] - nemo.floatData()[f * padded + t]));
        }
      }
      // NeMo's float32 FFT rounding bounds the agreement (see FilterbankFeaturesGoldenTest)
      assertTrue(max < 1.5e-4, names[i] + ": max abs diff " + max);
    }
  }

  private long[] readLengths(String name) throws IOException {
    try (InputStream in = Golden.open("features/single/" + name + "_length.npy")) {
      return Npy.read(in).toLongArray();
    }
  }

  @Test
  void onErrorFailStopsBeforeAnyAudioIsRead() throws Exception {
    Path manifest = dir.resolve("m.json");
    copyResource("features/wav/speech_1s.wav", dir.resolve("a.wav"));
    Files.writeString(manifest, "{\"audio_filepath\": \"a.wav\"}\n{\"audio_filepath\": 3}\n");
    Path out = dir.resolve("out");
    Run r =
        nest(
            "featurize",
            "--manifest",
            manifest.toString(),
            "--out",
            out.toString(),
            "data.on_error=fail");
    assertEquals(1, r.code);
    assertTrue(
        r.err.contains(manifest + ":2: audio_filepath must be a string, got the number 3"), r.err);
    assertFalse(Files.exists(out));
  }

  @Test
  void unreadableManifestAndBadConfigStopWithTheirReason() {
    Run missing =
        nest(
            "featurize",
            "--manifest",
            dir.resolve("none.json").toString(),
            "--out",
            dir.resolve("o").toString());
    assertEquals(1, missing.code);
    assertTrue(missing.err.contains("none.json: no such manifest"), missing.err);
    Run badKey =
        nest("featurize", "--manifest", "x.json", "--out", "o", "model.preprocessor.nfft=512");
    assertEquals(2, badKey.code);
    assertTrue(
        badKey.err.contains(
            "model.preprocessor.nfft: unknown key (did you mean model.preprocessor.n_fft?)"),
        badKey.err);
    Run noOut = nest("featurize", "--manifest", "x.json");
    assertEquals(2, noOut.code);
    assertTrue(noOut.err.contains("--out is required"), noOut.err);
  }
}
