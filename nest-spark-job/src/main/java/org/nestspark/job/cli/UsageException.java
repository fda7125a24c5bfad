package org.nestspark.job.cli;

/**
 * Arguments that parse but do not make a valid command (a required option missing, a value out of range):
 * {@link NestCli} prints {@code nest <command>: <message>} and exits 2.
 */
final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  UsageException(String message) {
    super(message);
  }
}
