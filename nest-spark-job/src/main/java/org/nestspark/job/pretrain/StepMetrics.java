package org.nestspark.job.pretrain;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.nestspark.train.NoamAnnealing;
import org.nestspark.train.TrainStep;

/**
 * Turns the workers' step records into the run's metrics: a {@code train} record and a progress line every
 * {@code trainer.log_every_n_steps} steps (loss = mean over the steps since the last record of the mean over
 * the workers that trained each step; masked accuracy token-weighted; the learning rate of the step), a
 * {@code timing} record per round (wall, data preparation, training and averaging shares, audio, bytes moved,
 * worker starts, and each step's batch hash per worker as {@code "step:worker": sha256}), {@code val} and {@code epoch} records, the same train and validation values as TensorBoard
 * scalars ({@link TensorBoardLog}), and the totals of the run's report.
 */
final class StepMetrics {
  private final MetricsLog metrics;
  private final TensorBoardLog tensorBoard;
  private final PrintStream out;
  private final NoamAnnealing schedule;
  private final int logEvery;
  private final long maxSteps;
  private final long startNanos;
  TrainStep.Counters counters;
  long lastLogged;
  double lastTrainLoss = Double.NaN;
  double firstTrainLoss = Double.NaN;
  double lastValLoss = Double.NaN;
  double lastValAccuracy = Double.NaN;
  double totalAudio;
  long skippedUtterances;
  private double trainWall;
  private long stepsThisAttempt;
  private double winLoss;
  private int winLossN;
  private double winCorrect;
  private long winSelected;
  private EpochTally tally = new EpochTally();

  StepMetrics(
      MetricsLog metrics,
      TensorBoardLog tensorBoard,
      PrintStream out,
      NoamAnnealing schedule,
      int logEvery,
      long maxSteps,
      TrainStep.Counters counters,
      long startNanos) {
    this.metrics = metrics;
    this.tensorBoard = tensorBoard;
    this.out = out;
    this.schedule = schedule;
    this.logEvery = logEvery;
    this.maxSteps = maxSteps;
    this.counters = counters;
    this.startNanos = startNanos;
  }

  /** Records a round that took {@code wall} seconds and ended at {@code step}. */
  void afterRound(RoundTrainer.Outcome o, double wall, long step, int epoch, int workers)
      throws IOException {
    for (String reason : o.reasons()) {
      out.println("[pretrain] skipped " + reason);
    }
    for (String note : o.notes()) {
      out.println("[pretrain] warning: " + note);
    }
    if (o.restarts() > 0) {
      out.printf(
          Locale.ROOT,
          "[pretrain] %d worker(s) lost their executor's state and started again from the round's weights with fresh AdamW "
              + "moments%n",
          o.restarts());
    }
    skippedUtterances += o.skippedUtterances();
    stepsThisAttempt += o.steps();
    trainWall += wall;
    Map<Long, double[]> bySteps = new TreeMap<>();
    long undone = 0;
    for (StepRecord r : o.records()) {
      double[] a = bySteps.computeIfAbsent(r.step(), k -> new double[4]);
      if (r.undone()) {
        undone++;
        continue;
      }
      a[0] += r.loss();
      a[1] += 1;
      a[2] += r.correct();
      a[3] += r.selected();
    }
    totalAudio += o.audioSeconds();
    counters =
        new TrainStep.Counters(
            counters.stepsDone() + o.records().size() - undone,
            counters.skippedEmpty() + o.emptyBatches(),
            counters.skippedNonFinite() + undone);
    if (undone > 0) {
      out.printf(
          Locale.ROOT,
          "[pretrain] %d worker steps gave a non-finite loss or gradients and were not taken%n",
          undone);
    }
    tally.add(o, undone);
    double prep = o.buildSeconds() / workers;
    double train = o.fitSeconds() / workers;
    ObjectNode timing = MetricsLog.record("timing");
    timing.put("step", step);
    timing.put("epoch", epoch);
    timing.put("batches", o.batches());
    timing.put("wall_s", wall);
    timing.put("data_prep_s", prep);
    timing.put("train_s", train);
    timing.put("averaging_s", Math.max(0, wall - prep - train));
    timing.put("audio_s", o.audioSeconds());
    timing.put("workers", o.participants());
    timing.put("bytes_down", o.bytesDown());
    timing.put("bytes_up", o.bytesUp());
    timing.put("worker_starts", o.starts());
    timing.put("worker_restarts", o.restarts());
    timing.put("task_reruns", o.reruns());
    ObjectNode hashes = timing.putObject("batch_sha256");
    for (StepRecord r : o.records()) {
      hashes.put(r.step() + ":" + r.worker(), r.batchSha256());
    }
    metrics.add(timing);

    double stepsPerSecond = o.steps() / wall;
    double audioPerSecond = o.audioSeconds() / wall;
    for (Map.Entry<Long, double[]> e : bySteps.entrySet()) {
      double[] a = e.getValue();
      if (a[1] > 0) {
        double loss = a[0] / a[1];
        winLoss += loss;
        winLossN++;
        if (Double.isNaN(firstTrainLoss)) {
          firstTrainLoss = loss;
        }
        lastTrainLoss = loss;
      }
      winCorrect += a[2];
      winSelected += (long) a[3];
      long s = e.getKey();
      if (s % logEvery == 0 && s > lastLogged) {
        logTrain(s, epoch, audioPerSecond, stepsPerSecond);
      }
    }
  }

  private void logTrain(long s, int epoch, double audioPerSecond, double stepsPerSecond)
      throws IOException {
    double loss = winLossN == 0 ? Double.NaN : winLoss / winLossN;
    double acc = winSelected == 0 ? Double.NaN : winCorrect / winSelected;
    double lr = schedule.valueAt((int) (s - 1), epoch);
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    ObjectNode r = MetricsLog.record("train");
    r.put("step", s);
    r.put("epoch", epoch);
    r.put("train_loss", loss);
    r.put("masked_accuracy", acc);
    r.put("lr", lr);
    r.put("audio_seconds", totalAudio);
    r.put("audio_seconds_per_second", audioPerSecond);
    r.put("steps_per_second", stepsPerSecond);
    r.put("elapsed_s", elapsed);
    metrics.add(r);
    tensorBoard.train(s, epoch, loss, lr, acc, audioPerSecond);
    String eta = "";
    if (maxSteps > 0 && stepsThisAttempt > 0) {
      eta = " | ETA " + duration((maxSteps - s) * trainWall / stepsThisAttempt);
    }
    out.printf(
        Locale.ROOT,
        "[pretrain] step %d%s | epoch %d | loss %.4f | acc %.4f | lr %.3e | %.1f audio-s/s | %.2f steps/s%s%n",
        s,
        maxSteps > 0 ? "/" + maxSteps : "",
        epoch,
        loss,
        acc,
        lr,
        audioPerSecond,
        stepsPerSecond,
        eta);
    lastLogged = s;
    winLoss = 0;
    winLossN = 0;
    winCorrect = 0;
    winSelected = 0;
  }

  void validation(Validator.Result v, DataCounters.Snapshot d, long step, int epoch, double seconds)
      throws IOException {
    for (String reason : d.reasons()) {
      out.println("[pretrain] validation skipped " + reason);
    }
    lastValLoss = v.valLoss();
    lastValAccuracy = v.valMaskedAccuracy();
    ObjectNode r = MetricsLog.record("val");
    r.put("step", step);
    r.put("epoch", epoch);
    r.put("val_loss", v.valLoss());
    r.put("val_masked_accuracy", v.valMaskedAccuracy());
    r.put("val_batches", v.batches());
    r.put("val_tokens", v.selectedTokens());
    r.put("val_skipped_utterances", d.skippedUtterances());
    r.put("val_batches_without_tokens", d.emptyBatches());
    r.put("val_s", seconds);
    metrics.add(r);
    tensorBoard.validation(step, epoch, v.valLoss(), v.valMaskedAccuracy());
    out.printf(
        Locale.ROOT,
        "[pretrain] validation at step %d: val_loss %.4f | val_masked_accuracy %.4f | %d batches, %d tokens%n",
        step,
        v.valLoss(),
        v.valMaskedAccuracy(),
        v.batches(),
        v.selectedTokens());
  }

  /** Writes the {@code epoch} record of the epoch that just ended (when it trained anything in this attempt). */
  void endEpoch(int epoch, long step) {
    if (tally.batches > 0) {
      ObjectNode r = MetricsLog.record("epoch");
      r.put("epoch", epoch);
      r.put("step", step);
      r.put("batches", tally.batches);
      r.put("skipped_utterances", tally.skippedUtterances);
      r.put("skipped_empty_batches", tally.empty);
      r.put("skipped_failed_batches", tally.failed);
      r.put("skipped_non_finite_steps", tally.undone);
      metrics.add(r);
    }
    tally = new EpochTally();
  }

  /** Per-epoch counts for the {@code epoch} record. */
  private static final class EpochTally {
    long skippedUtterances;
    long empty;
    long failed;
    long undone;
    long batches;

    void add(RoundTrainer.Outcome o, long undoneSteps) {
      skippedUtterances += o.skippedUtterances();
      empty += o.emptyBatches();
      failed += o.failedBatches();
      batches += o.batches();
      undone += undoneSteps;
    }
  }

  static String duration(double seconds) {
    long s = Math.max(0, Math.round(seconds));
    return s >= 3600
        ? String.format(Locale.ROOT, "%dh%02dm%02ds", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
  }
}
