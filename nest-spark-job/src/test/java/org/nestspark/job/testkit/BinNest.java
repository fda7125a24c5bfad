package org.nestspark.job.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code bin/nest} as users run it, in a JVM of its own, on this build's classes ({@code NEST_CLASSPATH}:
 * the test class path, so no package phase is needed) with a 1 GB driver. For the integration tests
 * ({@code *IT}) that need a separate process.
 */
public final class BinNest {
  private BinNest() {}

  /** The class path of this test JVM (surefire's or failsafe's test class path). */
  public static String classpath() {
    String cp = System.getProperty("surefire.test.class.path");
    return cp != null && !cp.isEmpty() ? cp : System.getProperty("java.class.path");
  }

  /** Starts {@code bin/nest args...} with {@code env} added to the environment; stderr into stdout. */
  public static Process start(Map<String, String> env, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(StandaloneCluster.REPO.resolve("bin/nest").toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("NEST_CLASSPATH", classpath());
    pb.environment().put("NEST_DRIVER_MEMORY", "1g");
    pb.environment().putAll(env);
    return pb.start();
  }

  /** The process's output once it has ended (at most 5 minutes). */
  public static String waitFor(Process p) throws IOException, InterruptedException {
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(5, TimeUnit.MINUTES)) {
      p.destroyForcibly();
      throw new AssertionError("bin/nest did not end in 5 minutes:\n" + out);
    }
    return out;
  }

  /** The repository root. */
  public static Path repo() {
    return StandaloneCluster.REPO;
  }
}
