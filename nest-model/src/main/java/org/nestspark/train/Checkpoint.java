package org.nestspark.train;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nestspark.config.NestConfig;
import org.nestspark.ssl.FrozenModules;

/**
 * Everything needed to continue a pretraining run exactly where it stopped (written and read by
 * {@link CheckpointIO}): the graph with its updater state (Adam m, v; iteration and epoch counts live in its
 * configuration), the step and epoch, the data layer's position, the RNG seed, the {@link TrainStep}
 * counters, the resolved configuration text, the {@link Provenance} and the model's frozen modules (quantizer
 * and mask embedding, {@link FrozenModules}: the targets the decoder learns to predict).
 *
 * <p><b>RNG state.</b> {@link TrainStep} reseeds ND4J's RNG before every step from {@code (seed, iteration)},
 * so the seed and the step are the complete RNG state of the training loop; the data layer keeps its own
 * randomness (shuffling, masking, augmentation) inside {@code dataPosition}.
 *
 * @param model the graph, with updater state
 * @param step optimiser steps done (= the graph's DL4J iteration count)
 * @param epoch epochs done (= the graph's epoch count)
 * @param dataPosition opaque position of the data layer as JSON text (a number, e.g. {@code "1234"}, or any
 *     JSON value); stored normalised (compact)
 * @param seed the base seed of {@link TrainStep#stepSeed}
 * @param counters the {@link TrainStep} counters
 * @param config the resolved configuration, {@link NestConfig#render()}
 * @param provenance versions, hashes and time of writing
 * @param frozen the quantizer and mask embedding; null only for a checkpoint read from a schema-1 file, which
 *     does not hold them (see {@link #frozenModules})
 */
public record Checkpoint(
    ComputationGraph model,
    long step,
    long epoch,
    String dataPosition,
    long seed,
    TrainStep.Counters counters,
    String config,
    Provenance provenance,
    FrozenModules frozen) {
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

  public Checkpoint {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(counters, "counters");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(provenance, "provenance");
    if (step < 0 || epoch < 0) {
      throw new IllegalArgumentException("negative step or epoch: " + step + ", " + epoch);
    }
    dataPosition = normaliseJson(dataPosition);
  }

  /**
   * A checkpoint of the current state of a training loop.
   *
   * @param trainStep the loop's step helper (its graph, seed and counters are saved)
   * @param dataPosition the data layer's position as JSON text
   * @param config the resolved configuration
   * @param manifestSha256 manifest → SHA-256, as the data layer computed them
   * @param frozen the run's quantizer and mask embedding
   */
  public static Checkpoint of(
      TrainStep trainStep,
      String dataPosition,
      NestConfig config,
      Map<String, String> manifestSha256,
      FrozenModules frozen) {
    ComputationGraph g = trainStep.graph();
    return new Checkpoint(
        g,
        g.getIterationCount(),
        g.getEpochCount(),
        dataPosition,
        trainStep.seed(),
        trainStep.counters(),
        config.render(),
        Provenance.capture(config, manifestSha256),
        Objects.requireNonNull(frozen, "frozen"));
  }

  /**
   * The model's frozen modules: the stored ones, or, for a schema-1 checkpoint (written before checkpoints
   * held them), the ones a run configured by {@code c} draws from {@code data.seed}, reported to
   * {@code warnings} by name (a model trained on other codebooks predicts tokens of a codebook it never saw).
   */
  public FrozenModules frozenModules(NestConfig c, Consumer<String> warnings) {
    if (frozen != null) {
      return frozen;
    }
    FrozenModules drawn = FrozenModules.drawn(c.settings());
    warnings.accept(
        "this checkpoint (schema 1) holds no quantizer or mask embedding: "
            + String.join(", ", FrozenModules.KEYS)
            + " were "
            + drawn.origin()
            + ", not the ones its model was trained with");
    return drawn;
  }

  /** The data position as a number (when the data layer stored one). */
  public long dataPositionAsLong() {
    try {
      JsonNode n = JSON.readTree(dataPosition);
      if (!n.canConvertToExactIntegral() || !n.canConvertToLong()) {
        throw new IllegalStateException("data position is not an integer: " + dataPosition);
      }
      return n.longValue();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static String normaliseJson(String text) {
    Objects.requireNonNull(text, "dataPosition");
    try {
      JsonNode n = JSON.readTree(text);
      if (n == null || n.isMissingNode()) {
        throw new IllegalArgumentException("data position is not JSON: '" + text + "'");
      }
      return JSON.writeValueAsString(n);
    } catch (IOException e) {
      throw new IllegalArgumentException(
          "data position is not JSON: '" + text + "': " + e.getMessage(), e);
    }
  }
}
