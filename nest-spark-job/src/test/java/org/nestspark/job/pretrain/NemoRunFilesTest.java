package org.nestspark.job.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nestspark.config.NestConfig;

/**
 * NeMo's run-folder files: {@code hparams.yaml} reads back (with PyYAML, as NeMo's tools would) as the
 * resolved model/trainer/exp_manager sections; {@code cmd-args.log} gets a line per attempt.
 */
class NemoRunFilesTest {
  @TempDir Path dir;

  @Test
  void hparamsYamlReadsBackAsTheResolvedSections() throws Exception {
    Path python = Path.of("/usr/bin/python3");
    Assumptions.assumeTrue(
        Files.isExecutable(python)
            && new ProcessBuilder(python.toString(), "-c", "import yaml").start().waitFor() == 0,
        "needs Debian's python3-yaml");
    NestConfig cfg =
        NestConfig.load(
            List.of(),
            List.of(
                "exp_manager.exp_dir=hdfs://nn:8020/runs/a b",
                "exp_manager.name=yes",
                "exp_manager.max_time_per_run=00:03:55:00",
                "model.optim.sched.min_lr=1e-5",
                "init_from_pretrained.path=x.nemo"),
            new Configuration(false));
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    NemoRunFiles.writeHparams(fs, new org.apache.hadoop.fs.Path(dir.toUri()), cfg);
    String yaml = Files.readString(dir.resolve("hparams.yaml"));
    assertTrue(
        yaml.startsWith("cfg:\n  exp_manager:\n") || yaml.startsWith("cfg:\n  model:\n"), yaml);
    Files.writeString(dir.resolve("config.json"), cfg.renderJson());
    String check =
        String.join(
            "\n",
            "import json, sys, yaml",
            "h = yaml.safe_load(open(sys.argv[1]))['cfg']",
            "c = json.load(open(sys.argv[2]))",
            "want = {k: c[k] for k in ('model', 'trainer', 'exp_manager')}",
            "print('same' if h == want else 'different: %s' % [k for k in want if h.get(k) != want[k]])");
    Process p =
        new ProcessBuilder(
                python.toString(),
                "-c",
                check,
                dir.resolve("hparams.yaml").toString(),
                dir.resolve("config.json").toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertEquals(0, p.waitFor(), out);
    assertEquals("same", out, yaml);
    assertTrue(
        yaml.contains("    name: \"yes\"\n")
            && yaml.contains("    max_time_per_run: \"00:03:55:00\"\n"),
        yaml);
    assertTrue(
        !yaml.contains("init_from_pretrained"), "nest-spark's own sections stay in config.conf");
  }

  @Test
  void cmdArgsLogGetsALinePerAttempt() throws Exception {
    FileSystem fs = FileSystem.getLocal(new Configuration(false)).getRawFileSystem();
    org.apache.hadoop.fs.Path run = new org.apache.hadoop.fs.Path(dir.toUri());
    NemoRunFiles.appendCmdArgs(
        fs,
        run,
        List.of(
            "nest", "pretrain", "--config", "conf/nest-tiny.conf", "exp_manager.exp_dir=/runs/x"));
    NemoRunFiles.appendCmdArgs(
        fs,
        run,
        List.of(
            "nest",
            "pretrain",
            "trainer.max_steps=100",
            "model.train_ds.manifest_filepath=a b.json",
            "spark.master=local[2]"));
    assertEquals(
        List.of(
            "nest pretrain --config conf/nest-tiny.conf exp_manager.exp_dir=/runs/x",
            "nest pretrain trainer.max_steps=100 'model.train_ds.manifest_filepath=a b.json' 'spark.master=local[2]'"),
        Files.readAllLines(dir.resolve("cmd-args.log")));
  }
}
