package org.nestspark.job.pretrain;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nestspark.batch.NestBatch;
import org.nestspark.batch.NestBatchBuilder;
import org.nestspark.batch.NestGraphInputs;
import org.nestspark.config.NestConfig;
import org.nestspark.io.SerializableHadoopConf;
import org.nestspark.manifest.ManifestEntry;
import org.nestspark.ssl.FrozenModules;

/**
 * Executor side of the data path (docs/nest-numerics.md §2–§5, §8 steps 1–4): turns {@link BatchSpec}s into the
 * {@link MultiDataSet}s the graph trains or validates on. Audio is decoded, mixed with noise from the noise
 * corpus, augmented, featurized, quantized and masked here, lazily, one batch at a time, so an executor
 * holds one batch (plus what the training master caches), never the corpus.
 *
 * <p>A batch whose utterances cannot all be loaded is built from the rest; one with no loadable utterance,
 * or with no selected token (NeMo's NaN loss, docs/nest-numerics.md §14.6), is left out. All of it is counted in
 * {@link DataCounters}. The {@link NestBatchBuilder} (filterbank, quantizer codebooks, noise corpus index)
 * is built once per configuration, frozen modules and concurrent user on an executor and reused by later tasks.
 */
public final class BatchSource implements FlatMapFunction<Iterator<BatchSpec>, MultiDataSet> {
  private static final long serialVersionUID = 1L;

  /** Idle builders per configuration; a thread borrows one while it builds, so none is shared at once. */
  private static final Map<String, Queue<NestBatchBuilder>> IDLE = new ConcurrentHashMap<>();

  private final NestConfig config;
  private final String dataset;
  private final List<ManifestEntry> noise;
  private final SerializableHadoopConf hadoopConf;
  private final boolean training;
  private final DataCounters counters;
  private final FrozenModules frozen;
  private final String frozenKey;

  /**
   * @param dataset {@code model.train_ds} or {@code model.validation_ds}
   * @param noise the dataset's noise corpus entries (metadata)
   * @param training training mode (dither on; validation: off)
   * @param counters Spark accumulators counting what {@link #call} builds and skips; null when the caller
   *     counts {@link #buildOne}'s results itself (the training workers)
   * @param frozen the model's quantizer and mask embedding (the targets and the masking of every batch)
   */
  public BatchSource(
      NestConfig config,
      String dataset,
      List<ManifestEntry> noise,
      Configuration hadoopConf,
      boolean training,
      DataCounters counters,
      FrozenModules frozen) {
    this.frozen = java.util.Objects.requireNonNull(frozen, "frozen");
    this.frozenKey = frozen.sha256();
    this.config = config;
    this.dataset = dataset;
    this.noise = List.copyOf(noise);
    this.hadoopConf = new SerializableHadoopConf(hadoopConf);
    this.training = training;
    this.counters = counters;
  }

  @Override
  public Iterator<MultiDataSet> call(Iterator<BatchSpec> specs) {
    NestBatchBuilder builder = borrow();
    Configuration conf = hadoopConf.get();
    return new Iterator<>() {
      private MultiDataSet next;
      private boolean returned;

      @Override
      public boolean hasNext() {
        while (next == null && specs.hasNext()) {
          next = build(builder, conf, specs.next());
        }
        if (next == null && !returned) {
          returned = true;
          giveBack(builder);
        }
        return next != null;
      }

      @Override
      public MultiDataSet next() {
        if (!hasNext()) {
          throw new NoSuchElementException();
        }
        MultiDataSet out = next;
        next = null;
        return out;
      }
    };
  }

  /**
   * One batch as built, with what happened to it (the training workers return these counts with their
   * round result instead of Spark accumulators, so a re-run task never counts twice).
   *
   * @param batch the batch, or null when it has no loadable audio ({@code failed}) or no selected token ({@code empty})
   * @param skipped "epoch E batch B: path: reason" for each utterance left out
   * @param audioSeconds seconds of audio in the batch (each utterance's own length after NeMo's 1 s minimum padding, batch padding excluded)
   * @param buildSeconds time spent building it
   */
  public record Built(
      MultiDataSet batch,
      List<String> skipped,
      boolean failed,
      boolean empty,
      double audioSeconds,
      double buildSeconds) {}

  /** Builds one batch on this thread, reporting to no accumulator. */
  public Built buildOne(BatchSpec spec) {
    NestBatchBuilder builder = borrow();
    try {
      return buildOne(builder, hadoopConf.get(), spec);
    } finally {
      giveBack(builder);
    }
  }

  private Built buildOne(NestBatchBuilder builder, Configuration conf, BatchSpec spec) {
    long t0 = System.nanoTime();
    NestBatchBuilder.Result r = builder.build(spec.entries(), conf, training, spec.seed());
    List<String> skipped = new ArrayList<>(r.skipped().size());
    for (String reason : r.skipped()) {
      skipped.add(spec.where() + ": " + reason);
    }
    NestBatch b = r.batch();
    MultiDataSet out = b == null || b.isEmpty() ? null : NestGraphInputs.toMultiDataSet(b);
    return new Built(
        out,
        skipped,
        b == null,
        b != null && b.isEmpty(),
        out == null ? 0 : r.audioSeconds(),
        (System.nanoTime() - t0) / 1e9);
  }

  /** Builds one batch, or null when it has no loadable audio or no selected token (counted). */
  MultiDataSet build(NestBatchBuilder builder, Configuration conf, BatchSpec spec) {
    Built built = buildOne(builder, conf, spec);
    if (counters == null) {
      return built.batch();
    }
    for (String reason : built.skipped()) {
      counters.skippedUtterances.add(1);
      counters.reasons.add(reason);
    }
    if (built.failed()) {
      counters.failedBatches.add(1);
    } else if (built.empty()) {
      counters.emptyBatches.add(1);
    } else {
      counters.batches.add(1);
      counters.audioSeconds.add(built.audioSeconds());
    }
    counters.buildSeconds.add(built.buildSeconds());
    return built.batch();
  }

  /** Builds all batches of {@code specs} in this JVM (tests, single-process use). */
  public List<MultiDataSet> buildAll(List<BatchSpec> specs) {
    List<MultiDataSet> out = new ArrayList<>();
    call(specs.iterator()).forEachRemaining(out::add);
    return out;
  }

  private String key() {
    return config.sha256()
        + "|"
        + dataset
        + "|"
        + noise.hashCode()
        + "|"
        + noise.size()
        + "|"
        + training
        + "|"
        + frozenKey;
  }

  /** An idle builder of this configuration, or a new one (the builder's scratch buffers are not thread-safe). */
  private NestBatchBuilder borrow() {
    NestBatchBuilder b = IDLE.computeIfAbsent(key(), k -> new ConcurrentLinkedQueue<>()).poll();
    return b != null
        ? b
        : NestBatchBuilder.of(config.settings(), dataset, noise, hadoopConf.get(), frozen);
  }

  private void giveBack(NestBatchBuilder b) {
    IDLE.computeIfAbsent(key(), k -> new ConcurrentLinkedQueue<>()).offer(b);
  }
}
