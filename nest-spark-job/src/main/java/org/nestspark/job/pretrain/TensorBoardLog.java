package org.nestspark.job.pretrain;

import java.io.Closeable;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.io.RunLock;
import org.nestspark.job.tensorboard.EventFileWriter;

/**
 * The run's TensorBoard scalars, one event file per attempt in the run folder
 * ({@code tensorboard --logdir <exp_dir>}), as NeMo's exp_manager has Lightning's TensorBoardLogger write
 * them into its log folder. Tags and steps:
 *
 * <ul>
 *   <li>NeMo's tags (EncDecDenoiseMaskedTokenPredModel's {@code training_step} and validation, and the
 *       {@code epoch} Lightning adds to every logged row): {@code train_loss}, {@code learning_rate},
 *       {@code global_step}, {@code epoch}, {@code val_loss};</li>
 *   <li>nest-spark's own (NeMo logs no such scalar): {@code masked_accuracy}, {@code audio_seconds_per_second},
 *       {@code val_masked_accuracy}.</li>
 * </ul>
 * The step of every scalar is the optimizer step ({@code global_step}); train scalars are written every
 * {@code trainer.log_every_n_steps} steps with the same values as the {@code train} records of the metrics.
 *
 * <p>Each attempt's file starts with a SessionLog START at the resumed checkpoint's step + 1 (1 for a new
 * run): TensorBoard's reader then drops what earlier attempts logged past the checkpoint, as the metrics
 * reader does. Flushing and object stores: see {@link EventFileWriter} (a new file per checkpoint interval
 * where files only appear when closed).
 */
final class TensorBoardLog implements Closeable {
  private final EventFileWriter writer;

  TensorBoardLog(FileSystem fs, Path runDir, int attempt, long resumedFrom) throws IOException {
    this.writer =
        new EventFileWriter(fs, runDir, RunLock.hostName(), ProcessHandle.current().pid(), attempt);
    writer.sessionStart(
        resumedFrom + 1,
        resumedFrom >= 0
            ? "attempt " + attempt + " resumed from step " + resumedFrom
            : "attempt " + attempt);
  }

  Path file() {
    return writer.file();
  }

  void train(
      long step,
      int epoch,
      double trainLoss,
      double learningRate,
      double maskedAccuracy,
      double audioSecondsPerSecond)
      throws IOException {
    Map<String, Double> v = new LinkedHashMap<>();
    v.put("train_loss", trainLoss);
    v.put("learning_rate", learningRate);
    v.put("global_step", (double) step);
    v.put("epoch", (double) epoch);
    v.put("masked_accuracy", maskedAccuracy);
    v.put("audio_seconds_per_second", audioSecondsPerSecond);
    writer.scalars(step, v);
  }

  void validation(long step, int epoch, double valLoss, double valMaskedAccuracy)
      throws IOException {
    Map<String, Double> v = new LinkedHashMap<>();
    v.put("val_loss", valLoss);
    v.put("val_masked_accuracy", valMaskedAccuracy);
    v.put("epoch", (double) epoch);
    writer.scalars(step, v);
  }

  void flush() throws IOException {
    writer.flush();
  }

  /** Before a checkpoint: on object stores the current file is closed (it appears) and a new one started. */
  void beforeCheckpoint() throws IOException {
    writer.roll();
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }
}
