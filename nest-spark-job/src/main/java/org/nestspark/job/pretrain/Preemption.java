package org.nestspark.job.pretrain;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import org.nestspark.config.MaxTimePerRun;
import org.nestspark.config.NestConfig;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * When a pretraining attempt stops early, on purpose, with a checkpoint ({@link PretrainExit#STOPPED}):
 *
 * <ul>
 *   <li><b>SIGTERM</b>, what YARN, Kubernetes and SLURM send before they kill a job: the attempt finishes the
 *       round it is in, saves a checkpoint and exits 3. Further SIGTERMs are only logged: systemd
 *       ({@code KillMode=control-group}) and SLURM signal every process of the job, so the JVM may get one
 *       directly and another passed on by a wrapper script. To stop at once use SIGINT (Ctrl-C, the JVM's
 *       default: immediate exit) or SIGKILL.</li>
 *   <li><b>{@code exp_manager.max_time_per_run}</b> (NeMo's key and "DD:HH:MM:SS" format, where Lightning's
 *       {@code Timer} ends the fit and NeMo saves a checkpoint): once the attempt's wall time since
 *       {@code start} has passed the budget, the attempt stops after the round it is in, as for SIGTERM. The
 *       check is made between rounds, so an attempt overruns the budget by at most one round plus the
 *       checkpoint; leave that margin under the scheduler's hard limit.</li>
 * </ul>
 *
 * <p>The scheduler must give the process time to finish a round: Kubernetes' {@code terminationGracePeriodSeconds},
 * SLURM's {@code --signal=TERM@SECONDS} or {@code KillWait}, YARN's
 * {@code yarn.nodemanager.sleep-delay-before-sigkill.ms} (README "Exit codes").
 */
public final class Preemption {
  private final Duration budget;
  private final long startNanos;
  private final AtomicReference<String> requested = new AtomicReference<>();

  /**
   * @param budget the attempt's wall-clock budget, null for none
   * @param startNanos {@link System#nanoTime()} at the attempt's start
   */
  public Preemption(Duration budget, long startNanos) {
    this.budget = budget;
    this.startNanos = startNanos;
  }

  /** No budget; stops only when {@link #request asked}. */
  public static Preemption none() {
    return new Preemption(null, System.nanoTime());
  }

  /** The budget of {@code exp_manager.max_time_per_run} (null: none), counted from now. */
  public static Preemption fromConfig(NestConfig cfg) {
    String v =
        cfg.isSet("exp_manager.max_time_per_run")
            ? cfg.getString("exp_manager.max_time_per_run")
            : null;
    return new Preemption(v == null ? null : MaxTimePerRun.parse(v), System.nanoTime());
  }

  /** Asks the attempt to stop after its current round ({@code reason} is logged and recorded; the first one wins). */
  public void request(String reason) {
    requested.compareAndSet(null, reason);
  }

  /**
   * Why the attempt should stop now (between rounds), or null to go on: a {@link #request}, or the budget
   * passed.
   */
  public String reasonToStop() {
    String r = requested.get();
    if (r != null) {
      return r;
    }
    if (budget != null && elapsed().compareTo(budget) >= 0) {
      return String.format(
          Locale.ROOT,
          "exp_manager.max_time_per_run (%s) passed after %s",
          fmt(budget),
          fmt(elapsed()));
    }
    return null;
  }

  /** True when a round expected to take {@code roundSeconds} would end past the budget (DiLoCo then saves its workers' state with it). */
  public boolean budgetEndsWithin(double roundSeconds) {
    return budget != null
        && elapsed().plusMillis((long) (roundSeconds * 1000)).compareTo(budget) >= 0;
  }

  private Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  static String fmt(Duration d) {
    long s = d.toSeconds();
    return String.format(
        Locale.ROOT, "%02d:%02d:%02d:%02d", s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
  }

  /**
   * Routes SIGTERM to {@link #request} until the returned handle is closed (the previous handler is then put
   * back). Further SIGTERMs are logged and otherwise ignored.
   *
   * @param log where the "stopping after this round" line goes
   */
  public AutoCloseable onSigterm(PrintStream log) {
    Signal term = new Signal("TERM");
    SignalHandler previous =
        Signal.handle(
            term,
            sig -> {
              if ("SIGTERM".equals(requested.get())) {
                log.println(
                    "[pretrain] SIGTERM again: already stopping after the current round (SIGINT or SIGKILL stop at once)");
              } else {
                request("SIGTERM");
                log.println(
                    "[pretrain] SIGTERM: finishing the current round, then a checkpoint and exit "
                        + PretrainExit.STOPPED.code);
              }
              log.flush();
            });
    return () -> Signal.handle(term, previous);
  }
}
