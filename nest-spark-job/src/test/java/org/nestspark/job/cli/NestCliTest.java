package org.nestspark.job.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nestspark.job.testkit.Nest;
import org.nestspark.job.testkit.Nest.Run;
import picocli.CommandLine;

/** The picocli command line: help of every command, version, completion, and clean usage errors (exit 2). */
class NestCliTest {
  static Run nest(String... args) {
    return Nest.run(args);
  }

  /** Every command path of the tree ("pretrain", "bench pretrain", ...), help excluded. */
  private static List<List<String>> commands(CommandLine cl, List<String> prefix) {
    List<List<String>> out = new ArrayList<>();
    for (Map.Entry<String, CommandLine> e : cl.getSubcommands().entrySet()) {
      if (e.getKey().equals("help")) {
        continue;
      }
      List<String> path = new ArrayList<>(prefix);
      path.add(e.getKey());
      out.add(path);
      out.addAll(commands(e.getValue(), path));
    }
    return out;
  }

  @Test
  void everyCommandPrintsItsUsageWithHelpAndExitsZero() {
    List<List<String>> all = commands(NestCli.commandLine(System.out, System.err), List.of());
    assertEquals(18, all.size(), all.toString());
    for (List<String> path : all) {
      for (String flag : List.of("--help", "-h")) {
        List<String> args = new ArrayList<>(path);
        args.add(flag);
        Run r = nest(args.toArray(new String[0]));
        assertEquals(0, r.code, args + "\n" + r.out + r.err);
        assertTrue(r.out.startsWith("Usage: nest " + String.join(" ", path)), args + "\n" + r.out);
        assertTrue(r.out.contains("-h, --help"), r.out);
        assertEquals("", r.err, args.toString());
      }
    }
    Run help = nest("help", "extract");
    assertEquals(0, help.code);
    assertTrue(help.out.contains("--layers=all|last|i,j,k"), help.out);
  }

  @Test
  void oneUsageTableListsEveryCommandNestedOnesIncluded() {
    Run r = nest("--help");
    assertEquals(0, r.code, r.err);
    for (String c :
        List.of(
            "pretrain",
            "featurize",
            "extract",
            "kmeans",
            "import-nemo",
            "export-nemo",
            "bench featurize",
            "bench train",
            "bench pretrain",
            "bench quantizer",
            "bench extract",
            "bench flac",
            "config",
            "doctor",
            "completion",
            "help")) {
      assertTrue(r.out.contains("\n  " + c + " "), c + " missing from\n" + r.out);
    }
    Run bare = nest();
    assertEquals(2, bare.code);
    assertTrue(bare.err.contains("bench pretrain"), bare.err);
    assertEquals(0, nest("help").code);
  }

  @Test
  void versionNamesTheBuildAndItsLibraries() {
    Run r = nest("--version");
    assertEquals(0, r.code, r.err);
    assertTrue(
        r.out.matches(
            "(?s)nest-spark \\d+\\.\\d+\\.\\d+(-SNAPSHOT)? \\(git ([0-9a-f]{7,40}|unknown)\\)\n.*"),
        r.out);
    assertTrue(r.out.contains("DL4J 1.0.0-M2.1"), r.out);
    assertTrue(r.out.contains("Spark 3.5.9"), r.out);
    assertTrue(r.out.contains("Hadoop 3.3.4"), r.out);
    assertTrue(r.out.contains("running on: Spark 3.5.9, Hadoop 3.3.4, Java 17"), r.out);
  }

  @Test
  void malformedNumbersNameTheOptionAndValueAndExitTwo() {
    Run r = nest("doctor", "--batch", "two");
    assertEquals(2, r.code, r.out + r.err);
    assertTrue(
        r.err.startsWith("nest doctor: Invalid value for option '--batch': 'two' is not an int"),
        r.err);
    assertTrue(r.err.contains("Try 'nest doctor --help'"), r.err);
    assertEquals("", r.out);
    Run s = nest("bench", "pretrain", "--batches=1e3");
    assertEquals(2, s.code);
    assertTrue(
        s.err.contains(
            "nest bench pretrain: Invalid value for option '--batches': '1e3' is not an int"),
        s.err);
    Run t = nest("bench", "train", "3", "x");
    assertEquals(2, t.code);
    assertTrue(
        t.err.contains("nest bench train: THREADS x: expected comma-separated positive integers"),
        t.err);
    Run range = nest("doctor", "--seconds", "99");
    assertEquals(2, range.code);
    assertTrue(
        range.err.contains("nest doctor: --seconds must be between 0.2 and 60 seconds, got 99.0"),
        range.err);
  }

  @Test
  void unknownOptionsCommandsAndArgumentsExitTwo() {
    Run opt = nest("featurize", "--manfest", "m.json");
    assertEquals(2, opt.code);
    assertTrue(opt.err.contains("nest featurize: Unknown option: '--manfest'"), opt.err);
    Run cmd = nest("pretrian");
    assertEquals(2, cmd.code);
    assertTrue(
        cmd.err.contains("Unmatched argument at index 0: 'pretrian'")
            && cmd.err.contains("nest pretrain"),
        cmd.err);
    Run arg = nest("config", "stray");
    assertEquals(2, arg.code);
    assertTrue(
        arg.err.contains("nest config: unexpected argument 'stray' (settings are key=value)"),
        arg.err);
    Run missing = nest("extract", "--model", "m.nemo", "--output", "o");
    assertEquals(2, missing.code);
    assertTrue(missing.err.contains("nest extract: --input is required"), missing.err);
    Run noValue = nest("featurize", "--out");
    assertEquals(2, noValue.code);
    assertTrue(noValue.err.contains("Missing required parameter for option '--out'"), noValue.err);
  }

  @Test
  void completionScriptCoversCommandsAndOptions() {
    Run r = nest("completion");
    assertEquals(0, r.code, r.err);
    assertTrue(
        r.out.contains("complete -F _complete_nest"),
        r.out.substring(0, Math.min(2000, r.out.length())));
    for (String word :
        List.of(
            "pretrain",
            "import-nemo",
            "--manifest",
            "--frozen-from",
            "--expect-gpu",
            "--inner-steps")) {
      assertTrue(r.out.contains(word), word);
    }
  }

  @Test
  void laterOptionWinsAndSettingsMixWithOptions() {
    Run r =
        nest(
            "config",
            "--json",
            "model.encoder.n_heads=4",
            "--config",
            "../conf/nest-tiny.conf",
            "model.encoder.d_model=96");
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.contains("\"d_model\":96") && r.out.contains("\"n_heads\":4"), r.out);
  }

  @Test
  void aNemoYamlConfigWarnsOnceAboutIgnoredKeysAndRefusesBeforeSpark() {
    String yaml = "../conf/nemo/nest_fast-conformer-tiny.yaml";
    Run r =
        nest(
            "config",
            "--json",
            "--config",
            yaml,
            "++model.train_ds.manifest_filepath=/d/train.json",
            "~model.validation_ds.manifest_filepath",
            "~trainer.strategy");
    assertEquals(0, r.code, r.err);
    assertTrue(r.out.contains("\"name\":\"NEST-FastConformer-tiny\""), r.out);
    assertEquals(1, r.err.split("warning: ", -1).length - 1, r.err);
    assertTrue(
        r.err.contains(
            "warning: 31 NeMo config key(s) nest-spark does not use were ignored: name, model.train_ds.pin_memory, "),
        r.err);
    Run refused =
        nest(
            "pretrain",
            "--config",
            yaml,
            "model.train_ds.manifest_filepath=/d/train.json",
            "model.validation_ds.manifest_filepath=/d/dev.json",
            "exp_manager.exp_dir=/tmp/never",
            "exp_manager.create_wandb_logger=true");
    assertEquals(2, refused.code, refused.out + refused.err);
    assertTrue(
        refused.err.contains("nest pretrain: invalid configuration:")
            && refused.err.contains(
                "exp_manager.create_wandb_logger: true cannot be honoured: Weights & Biases logging is not supported"),
        refused.err);
    assertTrue(!refused.out.contains("[pretrain]"), "stopped before the job: " + refused.out);
  }
}
