package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.nestspark.job.testkit.BinNest;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;

/**
 * nest doctor on this (CPU) machine: the report, a real training step, and --expect-gpu refusing the CPU
 * backend. Through bin/nest in a JVM of its own: {@link DoctorCommandIT}.
 */
class DoctorCommandTest {
  static Run doctor(String... args) {
    List<String> all = new java.util.ArrayList<>(List.of("doctor"));
    all.addAll(List.of(args));
    return Nest.run(all);
  }

  private static double loss(String out, int step) {
    Matcher m =
        Pattern.compile("step " + step + "[^:]*:\\s+DONE, loss ([0-9.]+), lr [^,]+, (\\d+) ms")
            .matcher(out);
    assertTrue(m.find(), out);
    return Double.parseDouble(m.group(1));
  }

  @Test
  void reportsTheCpuRuntimeAndTrainsOneTinyStep() {
    Run r = doctor();
    assertEquals(0, r.code, r.out + r.err);
    String o = r.out;
    assertTrue(
        o.contains("backend:                     org.nd4j.linalg.cpu.nativecpu.CpuBackend (CPU)"),
        o);
    assertTrue(o.matches("(?s).*devices:\\s+1\n.*"), o);
    assertTrue(o.matches("(?s).*blas vendor:\\s+OPENBLAS\n.*"), o);
    assertTrue(o.contains("spark:                       3.5.9"), o);
    assertTrue(o.contains("hadoop:                      3.3.4"), o);
    assertTrue(o.contains("dl4j (deeplearning4j-nn):    1.0.0-M2.1"), o);
    assertTrue(o.contains("java:                        17."), o);
    assertTrue(o.contains("backends in the jar:         CPU (nd4j-native)\n"), o);
    assertTrue(o.matches("(?s).*javacpp maxbytes:\\s+\\d+\\.\\d\\d GiB.*"), o);
    assertTrue(o.matches("(?s).*env cores:\\s+\\d+.*"), o);
    // every pool's thread count, from the one setting
    assertTrue(
        o.matches(
            "(?s).*compute threads:\\s+configured \\d+ .*nd4j max threads \\d+, nd4j master threads \\d+, blas threads \\d+, "
                + "java kernel threads \\d+; OMP_WAIT_POLICY=.*"),
        o);
    // model.kernels and what it resolves to on this (CPU) backend
    assertTrue(o.contains("kernels:                     model.kernels=auto -> java\n"), o);
    assertTrue(o.matches("(?s).*batch slices:\\s+trainer.batch_slices=auto -> \\d+ .*"), o);
    // the tiny model (conf/nest-tiny.conf's shape): d_model 64, 2 layers, 256 classes
    assertTrue(
        o.contains(
            "model:                       d_model 64, 2 layers, 4 heads, 256 classes x 1 book(s)"),
        o);
    double l1 = loss(o, 1);
    double l2 = loss(o, 2);
    // random labels over 256 classes: the masked NLL starts near ln(256) = 5.55
    assertTrue(l1 > 4 && l1 < 8, o);
    assertTrue(Double.isFinite(l2), o);
    assertTrue(o.endsWith("doctor: OK\n"), o);
  }

  @Test
  void expectGpuFailsOnTheCpuBackend() {
    Run r = doctor("--expect-gpu", "--batch", "1", "--seconds", "1");
    assertEquals(1, r.code, r.out + r.err);
    assertTrue(
        r.err.contains(
            "--expect-gpu: the loaded ND4J backend is org.nd4j.linalg.cpu.nativecpu.CpuBackend, not the CUDA backend"),
        r.err);
    assertTrue(r.out.contains("backend:"), "the report is still printed: " + r.out);
    assertTrue(!r.out.contains("doctor: OK"), r.out);
  }

  @Test
  void usesTheGivenConfigAndRejectsBadOptions() {
    String tiny = BinNest.repo().resolve("conf/nest-tiny.conf").toString();
    Run r =
        doctor("--config", tiny, "model.encoder.n_layers=1", "--batch", "1", "--seconds", "1.5");
    assertEquals(0, r.code, r.out + r.err);
    assertTrue(r.out.contains("d_model 64, 1 layers, 4 heads, 256 classes"), r.out);
    assertTrue(r.out.contains("1 x 1.5 s of random features (160 frames)"), r.out);
    assertEquals(2, doctor("--batch", "0").code);
    assertEquals(2, doctor("model.encoder.d_modle=3").code);
  }
}
