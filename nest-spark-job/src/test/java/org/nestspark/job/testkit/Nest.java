package org.nestspark.job.testkit;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.nestspark.job.cli.NestCli;

/**
 * The {@code nest} command line run inside the test JVM ({@link NestCli#run}), its output captured: how the
 * unit tests run the jobs, on Spark {@code local[*]} (a {@code spark.master=...} argument; {@link
 * #local2} adds {@code local[2]}). A separate JVM: {@link BinNest}; a real cluster: {@link
 * StandaloneCluster}.
 */
public final class Nest {
  private Nest() {}

  /** The exit code and the two outputs of one command. */
  public static final class Run {
    public final int code;
    public final String out;
    public final String err;

    public Run(int code, String out, String err) {
      this.code = code;
      this.out = out;
      this.err = err;
    }

    public int code() {
      return code;
    }

    public String out() {
      return out;
    }

    public String err() {
      return err;
    }

    @Override
    public String toString() {
      return "exit " + code + "\n" + out + err;
    }
  }

  /** {@code nest args...} in this JVM. */
  public static Run run(List<String> args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code =
        NestCli.run(
            args,
            new PrintStream(out, true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));
    return new Run(
        code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
  }

  /** {@code nest args...} in this JVM. */
  public static Run run(String... args) {
    return run(List.of(args));
  }

  /** {@code nest args... spark.master=local[2]} in this JVM. */
  public static Run local2(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    all.add("spark.master=local[2]");
    return run(all);
  }
}
