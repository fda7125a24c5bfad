package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.NestPaths;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.model.NestGraph;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;
import org.nestspark.train.CheckpointIO;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest import-nemo --model X.nemo --out DIR|FILE.ckpt [--config F] [key=value ...]}: a NeMo NEST
 * model ({@link NemoImport}: config from the archive, every tensor by NeMo key, NeMo's quantizer and mask
 * embedding kept) written as one of nest-spark's checkpoints ({@link CheckpointIO}; a folder gets {@code step-000000.ckpt}). Exit 0 done,
 * 1 unreadable archive or tensors that do not fit, 2 bad usage or an unsupported NeMo setting.
 */
@Command(
    name = "import-nemo",
    description = {
      "a NeMo NEST .nemo as a nest-spark checkpoint",
      "The archive's config and every tensor by NeMo key, written as a nest-spark checkpoint (a folder "
          + "gets step-000000.ckpt). Exit 0 done, 1 unreadable archive or tensors that do not fit, 2 bad "
          + "usage or an unsupported NeMo setting."
    })
final class ImportNemoCommand extends NestCommand {
  @Option(names = "--model", paramLabel = "X.nemo", description = "the .nemo archive")
  String modelArg;

  @Option(
      names = "--out",
      paramLabel = "DIR|F.ckpt",
      description = "a checkpoint folder or a .ckpt file")
  String outOption;

  @Mixin ConfigArgs cl;

  /** Notes of an import: ignored NeMo settings on one line, the others one per line. */
  static void printNotes(List<String> notes, PrintStream out) {
    List<String> ignored = new java.util.ArrayList<>();
    for (String n : notes) {
      if (n.startsWith("ignored ")) {
        ignored.add(n.substring("ignored ".length()).replaceFirst(" = .*", ""));
      } else {
        out.println("  note: " + n);
      }
    }
    if (!ignored.isEmpty()) {
      out.println(
          "  note: "
              + ignored.size()
              + " NeMo setting(s) nest-spark does not use were ignored: "
              + String.join(", ", ignored));
    }
  }

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    if (modelArg == null || outOption == null) {
      throw new UsageException((modelArg == null ? "--model" : "--out") + " is required");
    }
    String model = modelArg;
    String outArg = outOption;
    if (!NemoImport.isNemoPath(model)) {
      throw new UsageException("--model " + model + ": expected a .nemo file");
    }
    Configuration conf = new Configuration();
    try {
      NemoImport.Imported m = Restore.load(model, conf, cl.configFiles(), cl.overrides());
      ConfigArgs.warnIgnored(m.config(), err);
      printNotes(m.notes(), out);
      Path target = NestPaths.fromUserString(outArg);
      FileSystem fs = target.getFileSystem(conf);
      Path written;
      if (outArg.endsWith(".ckpt")) {
        if (target.getParent() != null) {
          fs.mkdirs(target.getParent());
        }
        CheckpointIO.write(fs, target, Restore.checkpointOf(m));
        written = target;
      } else {
        written = CheckpointIO.save(target, Restore.checkpointOf(m), conf);
      }
      out.printf(
          "imported %s: %d layers, d_model %d, %d heads, %,d trainable parameters%n",
          model,
          m.config().getInt("model.encoder.n_layers"),
          m.config().getInt("model.encoder.d_model"),
          m.config().getInt("model.encoder.n_heads"),
          NestGraph.numTrainableParams(m.graph()));
      out.println(
          "  quantizer and mask embedding: "
              + m.frozenModules().origin()
              + " (kept in the checkpoint)");
      out.println("checkpoint: " + NestPaths.display(written));
      return 0;
    } catch (NemoStateDictException | IOException e) {
      err.println("nest import-nemo: " + e.getMessage());
      return 1;
    }
  }
}
