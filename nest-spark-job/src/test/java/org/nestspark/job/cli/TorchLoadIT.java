package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.nestspark.io.Npy;
import org.nestspark.model.NestGraph;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.restore.NemoExport;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;
import org.nestspark.ssl.FrozenModules;
import org.nestspark.testkit.Golden;

/**
 * Our {@code .nemo} in real PyTorch: {@code src/test/python/torch_load_nemo.py} opens the archives with
 * Debian's {@code python3-torch} and reads {@code model_weights.ckpt} with {@code torch.load(weights_only=True)}
 * (the loader that refuses anything but tensors and plain containers):
 * <ul>
 *   <li>NeMo's golden tiny {@code .nemo} through {@code import-nemo} then {@code export-nemo} (no
 *       {@code --frozen-from}): every one of the 99 tensors equals NeMo's bit for bit, in NeMo's key order
 *       and dtypes, as torch reads both;</li>
 *   <li>a model nest-spark made itself (fresh weights, frozen modules drawn from {@code data.seed}): every
 *       tensor torch reads equals what nest-spark wrote, with NeMo's key order, dtypes and shapes;</li>
 *   <li>the {@code .nemo} NeMo wrote loads the same way (and its window is {@code torch.hann_window}).</li>
 * </ul>
 * Needs python3 with Debian's python3-torch and python3-numpy ({@code .ci/run} installs them); without them
 * the test fails and says so. {@code NEST_PYTHON} names another interpreter.
 */
class TorchLoadIT {
  static final Path REPO = Path.of(System.getProperty("user.dir")).getParent();
  static final Path SCRIPT = REPO.resolve("nest-spark-job/src/test/python/torch_load_nemo.py");

  private static String python() {
    String env = System.getenv("NEST_PYTHON");
    if (env != null && !env.isBlank()) {
      return env;
    }
    // Debian's python3-torch lives in /usr/lib/python3/dist-packages: prefer the system interpreter
    // to a pyenv shim
    return Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";
  }

  private static String run(long timeoutSeconds, String... cmd) throws Exception {
    Process p;
    try {
      p = new ProcessBuilder(cmd).directory(REPO.toFile()).redirectErrorStream(true).start();
    } catch (java.io.IOException e) {
      fail(
          cmd[0]
              + " cannot be started ("
              + e.getMessage()
              + "): this test needs python3 with Debian's python3-torch and python3-numpy"
              + " (apt-get install python3-torch python3-numpy; .ci/run installs them), or NEST_PYTHON naming such an interpreter");
      throw e;
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream in = p.getInputStream()) {
      in.transferTo(out);
    }
    assertTrue(p.waitFor(timeoutSeconds, TimeUnit.SECONDS), "timed out: " + String.join(" ", cmd));
    String text = out.toString(StandardCharsets.UTF_8);
    return p.exitValue() + "\n" + text;
  }

  private static String nest(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        NestCli.run(
            List.of(args),
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    assertEquals(
        0,
        code,
        String.join(" ", args)
            + "\n"
            + out.toString(StandardCharsets.UTF_8)
            + err.toString(StandardCharsets.UTF_8));
    return out.toString(StandardCharsets.UTF_8);
  }

  @Test
  void ourNemoLoadsInPyTorch() throws Exception {
    String py = python();
    String probe = run(120, py, "-c", "import numpy, torch; print('torch', torch.__version__)");
    if (!probe.startsWith("0\n")) {
      fail(
          py
              + " cannot import torch and numpy: this test needs Debian's python3-torch and python3-numpy (apt-get install python3-torch"
              + " python3-numpy; .ci/run installs them), or NEST_PYTHON naming such an interpreter. It said:\n"
              + probe);
    }
    System.out.println("TorchLoadIT: " + py + ": " + probe.substring(2).trim());

    Path dir = REPO.resolve("nest-spark-job/target/it-torch");
    if (Files.exists(dir)) {
      try (java.util.stream.Stream<Path> files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
      }
    }
    Files.createDirectories(dir);
    Path nemos = dir.resolve("tiny.nemo");
    try (InputStream in = Golden.open("nemo/tiny_gz.nemo")) {
      Files.copy(in, nemos);
    }

    // 1. NeMo's archive -> checkpoint -> .nemo, through the commands
    nest("import-nemo", "--model", nemos.toString(), "--out", dir.resolve("ckpt").toString());
    nest(
        "export-nemo",
        "--checkpoint",
        dir.resolve("ckpt").toString(),
        "--out",
        dir.resolve("roundtrip.nemo").toString());
    String same =
        run(
            300,
            py,
            SCRIPT.toString(),
            dir.resolve("roundtrip.nemo").toString(),
            nemos.toString(),
            "same");
    assertTrue(same.startsWith("0\n"), same);
    assertTrue(
        same.contains(
            "99 of 99 tensors equal, NeMo's key order and dtypes, window = torch.hann_window"),
        same);

    // 2. NeMo's own archive reads the same way
    String own = run(300, py, SCRIPT.toString(), nemos.toString(), nemos.toString(), "same");
    assertTrue(own.startsWith("0\n") && own.contains("99 of 99 tensors equal"), own);

    // 3. a model nest-spark made: fresh weights, frozen modules drawn from data.seed, NeMo's
    // architecture
    Configuration conf = new Configuration(false);
    NemoImport.Imported imp =
        Restore.load(nemos.toString(), conf, List.of(), List.of("data.seed=21"));
    Nd4j.getRandom().setSeed(21);
    ComputationGraph fresh = NestGraph.build(imp.config().settings());
    NemoModel ours =
        NemoExport.toNemo(
            imp.config(), fresh, FrozenModules.drawn(imp.config().settings()), Map.of());
    Path oursFile = dir.resolve("ours.nemo");
    try (OutputStream o = Files.newOutputStream(oursFile)) {
      NemoArchive.write(ours, o);
    }
    Path expected = Files.createDirectories(dir.resolve("expected"));
    List<String> keys = new ArrayList<>(ours.stateDict().keySet());
    for (int i = 0; i < keys.size(); i++) {
      NemoTensor t = ours.tensor(keys.get(i));
      try (OutputStream o = Files.newOutputStream(expected.resolve(i + ".npy"))) {
        Npy.write(o, t.toNpy());
      }
    }
    Files.writeString(expected.resolve("keys.txt"), String.join("\n", keys) + "\n");
    String mine =
        run(300, py, SCRIPT.toString(), oursFile.toString(), nemos.toString(), expected.toString());
    assertTrue(mine.startsWith("0\n"), mine);
    assertTrue(
        mine.contains(
            "99 of 99 tensors equal, NeMo's key order and dtypes, window = torch.hann_window"),
        mine);
    // and the comparison does fail: a different model is not NeMo's
    String differs = run(300, py, SCRIPT.toString(), oursFile.toString(), nemos.toString(), "same");
    assertTrue(
        differs.startsWith("1\n")
            && differs.contains("encoder.pre_encode.conv.0.weight: values differ")
            && differs.contains("quantizer.codebooks: values differ"),
        differs);
    System.out.print("TorchLoadIT:\n" + same.substring(2) + own.substring(2) + mine.substring(2));
  }
}
