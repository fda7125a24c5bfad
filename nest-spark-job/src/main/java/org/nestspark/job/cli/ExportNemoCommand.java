package org.nestspark.job.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.nestspark.io.NestPaths;
import org.nestspark.io.NpyArray;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.restore.NemoExport;
import org.nestspark.restore.NemoImport;
import org.nestspark.restore.Restore;
import org.nestspark.ssl.FrozenModules;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code nest export-nemo --checkpoint C --out model.nemo [--frozen-from X.nemo] [--config F] [key=value ...]}:
 * a nest-spark checkpoint (or a folder of them: the newest valid; or a {@code .nemo}) written as a
 * {@code .nemo} that NeMo's {@code restore_from} loads ({@link NemoExport}). The quantizer and mask
 * embedding are the model's own (stored in the checkpoint: NeMo's after an import). {@code --frozen-from}
 * takes them (and the preprocessor's window and filterbank) from a {@code .nemo} instead: for checkpoints of
 * schema 1, which do not hold them (a warning names what was drawn from {@code data.seed}). Exit 0 done, 1
 * unreadable input, unfit tensors or write error, 2 bad usage or configuration.
 */
@Command(
    name = "export-nemo",
    description = {
      "a nest-spark checkpoint as a .nemo for NeMo's restore_from",
      "C is a checkpoint, a folder of them (the newest valid) or a .nemo. The quantizer and mask "
          + "embedding are the model's own (stored in the checkpoint: NeMo's after an import); --frozen-from takes "
          + "them (and the preprocessor's window and filterbank) from a .nemo, for checkpoints of schema 1 that do "
          + "not hold them. Exit 0 done, 1 unreadable input, unfit tensors or write error, 2 bad usage or configuration."
    })
final class ExportNemoCommand extends NestCommand {
  @Option(
      names = "--checkpoint",
      paramLabel = "C",
      description = "a checkpoint (.ckpt), a run's checkpoint folder or a .nemo")
  String checkpoint;

  @Option(names = "--out", paramLabel = "X.nemo", description = "the .nemo to write")
  String outOption;

  @Option(
      names = "--frozen-from",
      paramLabel = "Y.nemo",
      description =
          "take the frozen quantizer and mask embedding from this .nemo (schema-1 checkpoints)")
  String frozenFrom;

  @Mixin ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    if (checkpoint == null || outOption == null) {
      throw new UsageException((checkpoint == null ? "--checkpoint" : "--out") + " is required");
    }
    String ckpt = checkpoint;
    String outArg = outOption;
    Configuration conf = new Configuration();
    try {
      NemoImport.Imported m = Restore.load(ckpt, conf, cl.configFiles(), cl.overrides());
      ConfigArgs.warnIgnored(m.config(), err);
      for (String note : m.notes()) {
        err.println("nest export-nemo: warning: " + note);
      }
      FrozenModules modules = m.frozenModules();
      Map<String, NemoTensor> preprocessor = new LinkedHashMap<>(m.frozen());
      String from = frozenFrom;
      if (from != null) {
        // for checkpoints written before they held the frozen modules (schema 1): put a .nemo's
        // back
        NemoModel src = NemoArchive.read(NestPaths.fromUserString(from), conf);
        Map<String, int[]> shapes = NemoImport.frozenShapes(m.config());
        Map<String, NpyArray> taken = new LinkedHashMap<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
          NemoTensor t = src.stateDict().get(e.getKey());
          if (t == null) {
            continue;
          }
          if (!java.util.Arrays.equals(t.shape(), e.getValue())) {
            err.println(
                "nest export-nemo: --frozen-from "
                    + from
                    + ": "
                    + e.getKey()
                    + " has shape "
                    + java.util.Arrays.toString(t.shape())
                    + ", the model needs "
                    + java.util.Arrays.toString(e.getValue()));
            return 1;
          }
          if (FrozenModules.KEYS.contains(e.getKey())) {
            taken.put(e.getKey(), t.toNpy());
          } else {
            preprocessor.put(e.getKey(), t);
          }
        }
        if (!taken.isEmpty()) {
          modules = FrozenModules.of(m.config().settings(), taken, modules, from);
        }
      }
      NemoExport.write(
          m.config(), m.graph(), modules, preprocessor, NestPaths.fromUserString(outArg), conf);
      out.printf(
          "exported %s -> %s (%d layers, d_model %d; quantizer and mask embedding: %s)%n",
          ckpt,
          outArg,
          m.config().getInt("model.encoder.n_layers"),
          m.config().getInt("model.encoder.d_model"),
          modules.origin());
      return 0;
    } catch (NemoStateDictException | IOException | IllegalArgumentException e) {
      err.println("nest export-nemo: " + e.getMessage());
      return 1;
    }
  }
}
