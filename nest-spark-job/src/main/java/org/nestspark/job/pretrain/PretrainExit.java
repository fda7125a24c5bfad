package org.nestspark.job.pretrain;

import java.util.Locale;

/**
 * The exit codes of {@code nest pretrain} (README "Exit codes"; the scheduler script
 * {@code deploy/schedule/nest-scheduled-pretrain.sh} acts on them): what a scheduler should do next.
 */
public enum PretrainExit {
  /** trainer.max_steps / max_epochs reached: the run is complete. */
  FINISHED(0, "finished: max_steps/max_epochs reached"),
  /** The job could not run or failed (unreadable manifest, I/O error): see the log; a retry resumes from the last checkpoint. */
  FAILED(1, "failed: see the log; a retry resumes from the last checkpoint"),
  /** Bad usage or configuration: retrying does not help. */
  USAGE(2, "usage or configuration error: fix the settings"),
  /**
   * Stopped early on purpose (SIGTERM, or exp_manager.max_time_per_run passed) after finishing the round and
   * saving a checkpoint: start it again to continue.
   */
  STOPPED(
      3,
      "stopped early (SIGTERM or exp_manager.max_time_per_run) with a checkpoint: run again to resume"),
  /** The run folder's lock is held by a live attempt: nothing was done. */
  LOCKED(75, "refused: another live attempt holds the run folder's lock; nothing done");

  public final int code;
  public final String meaning;

  PretrainExit(int code, String meaning) {
    this.code = code;
    this.meaning = meaning;
  }

  /** The table of codes for help texts, one line each. */
  public static String table() {
    StringBuilder sb = new StringBuilder();
    for (PretrainExit e : values()) {
      sb.append(String.format(Locale.ROOT, "  %3d  %s%n", e.code, e.meaning));
    }
    return sb.toString();
  }
}
