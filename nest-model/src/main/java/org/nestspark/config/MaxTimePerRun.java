package org.nestspark.config;

import java.time.Duration;

/**
 * NeMo's {@code exp_manager.max_time_per_run}: the wall-clock budget of one attempt as {@code "DD:HH:MM:SS"}
 * (days, hours, minutes, seconds; NeMo hands the string to Lightning's {@code Timer}, which reads the four
 * fields as whole numbers). Quote it in HOCON files ({@code max_time_per_run = "00:03:55:00"}); on the
 * command line {@code exp_manager.max_time_per_run=00:03:55:00} works as is.
 */
public final class MaxTimePerRun {
  private MaxTimePerRun() {}

  /**
   * Parses {@code "DD:HH:MM:SS"}.
   *
   * @throws IllegalArgumentException saying what is wrong (not four fields, not whole non-negative numbers,
   *     a zero budget)
   */
  public static Duration parse(String text) {
    String[] f = text.strip().split(":", -1);
    if (f.length != 4) {
      throw new IllegalArgumentException(
          "expected \"DD:HH:MM:SS\" (days:hours:minutes:seconds, NeMo's format), got '"
              + text
              + "'");
    }
    long[] v = new long[4];
    for (int i = 0; i < 4; i++) {
      try {
        v[i] = Long.parseLong(f[i].strip());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            "expected \"DD:HH:MM:SS\" with whole numbers, got '" + text + "'");
      }
      if (v[i] < 0) {
        throw new IllegalArgumentException("negative field in '" + text + "'");
      }
    }
    Duration d = Duration.ofDays(v[0]).plusHours(v[1]).plusMinutes(v[2]).plusSeconds(v[3]);
    if (d.isZero()) {
      throw new IllegalArgumentException(
          "a zero budget ('"
              + text
              + "') would stop before the first round; use null for no limit");
    }
    return d;
  }
}
