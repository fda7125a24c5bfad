package org.nestspark.nemo;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.ModelConfigs;
import org.nestspark.config.NestConfig;
import org.nestspark.features.FilterbankFeatures;
import org.nestspark.features.MelFilterbank;
import org.nestspark.model.NemoStateDict;
import org.nestspark.ssl.RandomBlockMasking;
import org.nestspark.ssl.RandomProjectionVectorQuantizer;
import org.nestspark.ssl.SslModules;

/**
 * Writes a nest-spark model as a {@code .nemo} that NeMo's {@code restore_from} loads (spec §11): the
 * archive layout of NeMo ≥ 1.7 ({@link NemoArchive#write}), {@code model_config.yaml} from
 * {@link NemoConfigs#fromConfig} (NeMo's structure and {@code _target_}s, our resolved values) and
 * {@code model_weights.ckpt} with the full state dict in NeMo's order: {@code preprocessor.featurizer.window}
 * and {@code fb} (computed by {@link FilterbankFeatures}), {@code encoder.*}, {@code quantizer.codebooks}
 * (float64) and {@code quantizer.proj.weight}, {@code mask_processor.mask_embedding}, {@code decoder.*}.
 *
 * <p>The frozen tensors are taken from {@code frozen} where given (a model imported from a {@code .nemo}
 * keeps NeMo's own); otherwise they are the run's, drawn from {@code data.seed} by {@link SslModules}.
 */
public final class NemoExport {
  private NemoExport() {}

  /** The model as a {@link NemoModel}; {@code frozen} may be empty. */
  public static NemoModel toNemo(NestConfig c, ComputationGraph graph, Map<String, NemoTensor> frozen) {
    Map<String, NemoTensor> own = ownFrozen(c);
    Map<String, NemoTensor> sd = new LinkedHashMap<>();
    for (String k : List.of("preprocessor.featurizer.window", "preprocessor.featurizer.fb")) {
      sd.put(k, frozen.getOrDefault(k, own.get(k)));
    }
    NemoStateDict g = NemoStateDict.fromGraph(graph);
    for (String k : g.keys()) {
      if (k.startsWith("decoder.")) {
        continue;
      }
      sd.put(k, NemoTensor.fromNpy(k, g.get(k)));
    }
    for (String k : List.of("quantizer.codebooks", "quantizer.proj.weight", "mask_processor.mask_embedding")) {
      sd.put(k, frozen.getOrDefault(k, own.get(k)));
    }
    for (String k : g.keys()) {
      if (k.startsWith("decoder.")) {
        sd.put(k, NemoTensor.fromNpy(k, g.get(k)));
      }
    }
    return NemoModel.of(NemoConfigs.fromConfig(c), sd);
  }

  /** Writes {@link #toNemo} to a path (any Hadoop file system; temporary name, then rename). */
  public static void write(NestConfig c, ComputationGraph graph, Map<String, NemoTensor> frozen, Path out, Configuration conf)
      throws IOException {
    NemoArchive.write(toNemo(c, graph, frozen), out, conf);
  }

  /** The frozen tensors nest-spark itself uses for a configuration (window, filterbank, quantizer, mask embedding). */
  public static Map<String, NemoTensor> ownFrozen(NestConfig c) {
    Map<String, NemoTensor> m = new LinkedHashMap<>();
    FilterbankFeatures f = new FilterbankFeatures(ModelConfigs.preprocessor(c));
    float[] w = f.window();
    m.put("preprocessor.featurizer.window", NemoTensor.of("preprocessor.featurizer.window", new int[] {w.length}, w));
    MelFilterbank fb = f.filterbank();
    int nf = fb.numFilters();
    int nb = fb.numBins();
    float[] fbData = new float[nf * nb];
    float[][] rows = fb.weights();
    for (int i = 0; i < nf; i++) {
      System.arraycopy(rows[i], 0, fbData, i * nb, nb);
    }
    m.put("preprocessor.featurizer.fb", NemoTensor.of("preprocessor.featurizer.fb", new int[] {1, nf, nb}, fbData));
    RandomProjectionVectorQuantizer q = SslModules.quantizer(c);
    m.put("quantizer.codebooks", NemoTensor.of("quantizer.codebooks", new int[] {q.numBooks(), q.numClasses(), q.codeDim()}, q.codebooks()));
    m.put("quantizer.proj.weight", NemoTensor.of("quantizer.proj.weight",
        new int[] {q.numBooks() * q.codeDim(), q.featIn() * q.combineTimeSteps()}, q.projWeight()));
    RandomBlockMasking mask = SslModules.masking(c);
    float[] e = mask.maskEmbedding();
    m.put("mask_processor.mask_embedding", NemoTensor.of("mask_processor.mask_embedding", new int[] {e.length}, e));
    return m;
  }
}
