package org.nestspark.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import org.nestspark.io.NestPaths;
import org.nestspark.model.NemoStateDictException;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoExport;
import org.nestspark.nemo.NemoImport;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.nemo.NestModels;

/**
 * {@code nest export-nemo --checkpoint C --out model.nemo [--frozen-from X.nemo] [--config F] [key=value ...]}:
 * a nest-spark checkpoint (or a folder of them: the newest valid; or a {@code .nemo}) written as a
 * {@code .nemo} that NeMo's {@code restore_from} loads ({@link NemoExport}). The quantizer and mask
 * embedding are the run's own (drawn from {@code data.seed}), or NeMo's from {@code --frozen-from}
 * (e.g. the archive a checkpoint was imported from). Exit 0 done, 1 unreadable input or write error, 2 bad
 * usage or configuration.
 */
@Command(name = "export-nemo", description = {
    "a nest-spark checkpoint as a .nemo for NeMo's restore_from",
    "C is a checkpoint, a folder of them (the newest valid) or a .nemo. The quantizer and mask "
        + "embedding are the run's own (drawn from data.seed), or NeMo's from --frozen-from. Exit 0 done, 1 "
        + "unreadable input or write error, 2 bad usage or configuration."})
final class ExportNemoCommand extends NestCommand {
  @Option(names = "--checkpoint", paramLabel = "C", description = "a checkpoint (.ckpt), a run's checkpoint folder or a .nemo")
  String checkpoint;

  @Option(names = "--out", paramLabel = "X.nemo", description = "the .nemo to write")
  String outOption;

  @Option(names = "--frozen-from", paramLabel = "Y.nemo", description = "take the frozen quantizer and mask embedding from this .nemo")
  String frozenFrom;

  @Mixin
  ConfigArgs cl;

  @Override
  int run(PrintStream out, PrintStream err) throws UsageException {
    if (checkpoint == null || outOption == null) {
      throw new UsageException((checkpoint == null ? "--checkpoint" : "--out") + " is required");
    }
    String ckpt = checkpoint;
    String outArg = outOption;
    Configuration conf = new Configuration();
    try {
      NemoImport.Imported m = NestModels.load(ckpt, conf, cl.configFiles(), cl.overrides());
      ConfigArgs.warnIgnored(m.config(), err);
      Map<String, NemoTensor> frozen = new LinkedHashMap<>(m.frozen());
      String from = frozenFrom;
      if (from != null) {
        NemoModel src = NemoArchive.read(NestPaths.fromUserString(from), conf);
        Map<String, int[]> shapes = NemoImport.frozenShapes(m.config());
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
          NemoTensor t = src.stateDict().get(e.getKey());
          if (t == null) {
            continue;
          }
          if (!java.util.Arrays.equals(t.shape(), e.getValue())) {
            err.println("nest export-nemo: --frozen-from " + from + ": " + e.getKey() + " has shape " + java.util.Arrays.toString(t.shape())
                + ", the model needs " + java.util.Arrays.toString(e.getValue()));
            return 1;
          }
          frozen.put(e.getKey(), t);
        }
      }
      NemoExport.write(m.config(), m.graph(), frozen, NestPaths.fromUserString(outArg), conf);
      out.printf("exported %s -> %s (%d layers, d_model %d; quantizer and mask embedding: %s)%n", ckpt, outArg,
          m.config().getInt("model.encoder.n_layers"), m.config().getInt("model.encoder.d_model"),
          frozen.containsKey("quantizer.codebooks") ? "NeMo's, kept" : "drawn from data.seed=" + m.config().getLong("data.seed"));
      return 0;
    } catch (NemoStateDictException | IOException e) {
      err.println("nest export-nemo: " + e.getMessage());
      return 1;
    }
  }
}
