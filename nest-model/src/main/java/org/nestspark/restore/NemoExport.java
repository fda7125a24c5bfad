package org.nestspark.restore;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.NemoConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.MelFilterbank;
import org.nestspark.io.NpyArray;
import org.nestspark.model.NemoStateDict;
import org.nestspark.nemo.NemoArchive;
import org.nestspark.nemo.NemoModel;
import org.nestspark.nemo.NemoTensor;
import org.nestspark.ssl.FrozenModules;

/**
 * Writes a nest-spark model as a {@code .nemo} that NeMo's {@code restore_from} loads (docs/nest-numerics.md §11): the
 * archive layout of NeMo ≥ 1.7 ({@link NemoArchive#write}), {@code model_config.yaml} from
 * {@link NemoConfigs#fromConfig} (NeMo's structure and {@code _target_}s, our resolved values) and
 * {@code model_weights.ckpt} with the full state dict in NeMo's order: {@code preprocessor.featurizer.window}
 * and {@code fb} (computed by {@link FilterbankFeatures}), {@code encoder.*}, {@code quantizer.codebooks}
 * (float64) and {@code quantizer.proj.weight}, {@code mask_processor.mask_embedding}, {@code decoder.*}.
 *
 * <p>The quantizer and mask embedding are the model's {@link FrozenModules} (NeMo's own after an import,
 * stored in every checkpoint). The preprocessor's window and filterbank are an archive's own where given,
 * otherwise computed; both equal torch's bit for bit ({@link org.nestspark.features.Windows}, {@link MelFilterbank}).
 */
public final class NemoExport {
  /** NeMo's key of the STFT window. */
  public static final String WINDOW = "preprocessor.featurizer.window";

  /** NeMo's key of the mel filterbank. */
  public static final String FB = "preprocessor.featurizer.fb";

  private NemoExport() {}

  /**
   * The model as a {@link NemoModel}.
   *
   * @param modules the model's quantizer and mask embedding
   * @param preprocessor {@code preprocessor.featurizer.window} / {@code fb} to write instead of the computed
   *     ones (e.g. an imported archive's); may be empty, other keys are ignored
   */
  public static NemoModel toNemo(
      NestConfig c,
      ComputationGraph graph,
      FrozenModules modules,
      Map<String, NemoTensor> preprocessor) {
    Map<String, NemoTensor> own = preprocessorTensors(c);
    Map<String, NemoTensor> sd = new LinkedHashMap<>();
    for (String k : List.of(WINDOW, FB)) {
      sd.put(k, preprocessor.getOrDefault(k, own.get(k)));
    }
    NemoStateDict g = NemoStateDict.fromGraph(graph);
    for (String k : g.keys()) {
      if (k.startsWith("decoder.")) {
        continue;
      }
      sd.put(k, NemoTensor.fromNpy(k, g.get(k)));
    }
    modules.quantizer(c.settings()); // the modules fit this configuration
    for (Map.Entry<String, NpyArray> e : modules.tensors().entrySet()) {
      sd.put(e.getKey(), NemoTensor.fromNpy(e.getKey(), e.getValue()));
    }
    for (String k : g.keys()) {
      if (k.startsWith("decoder.")) {
        sd.put(k, NemoTensor.fromNpy(k, g.get(k)));
      }
    }
    return NemoModel.of(NemoConfigs.fromConfig(c), sd);
  }

  /** Writes {@link #toNemo} to a path (any Hadoop file system; temporary name, then rename). */
  public static void write(
      NestConfig c,
      ComputationGraph graph,
      FrozenModules modules,
      Map<String, NemoTensor> preprocessor,
      Path out,
      Configuration conf)
      throws IOException {
    NemoArchive.write(toNemo(c, graph, modules, preprocessor), out, conf);
  }

  /** The preprocessor's window and filterbank as nest-spark computes them for a configuration (torch's values bit for bit). */
  public static Map<String, NemoTensor> preprocessorTensors(NestConfig c) {
    Map<String, NemoTensor> m = new LinkedHashMap<>();
    FilterbankFeatures f = new FilterbankFeatures(c.settings().preprocessor());
    float[] w = f.window();
    m.put(WINDOW, NemoTensor.of(WINDOW, new int[] {w.length}, w));
    MelFilterbank fb = f.filterbank();
    int nf = fb.numFilters();
    int nb = fb.numBins();
    float[] fbData = new float[nf * nb];
    float[][] rows = fb.weights();
    for (int i = 0; i < nf; i++) {
      System.arraycopy(rows[i], 0, fbData, i * nb, nb);
    }
    m.put(FB, NemoTensor.of(FB, new int[] {1, nf, nb}, fbData));
    return m;
  }
}
