package org.nestspark.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The arguments of one {@code nest} command: {@code --option value} (or {@code --option=value}) pairs,
 * {@code --flag}s, and {@code key=value} config overrides, in any order.
 */
final class CommandLine {
  final String command;
  final Map<String, List<String>> options = new LinkedHashMap<>();
  final List<String> overrides = new ArrayList<>();
  final List<String> positional = new ArrayList<>();

  private CommandLine(String command) {
    this.command = command;
  }

  /**
   * @param withValue options that take a value
   * @param flags options that take none
   */
  static CommandLine parse(String command, List<String> args, Set<String> withValue, Set<String> flags) throws UsageException {
    CommandLine cl = new CommandLine(command);
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (a.startsWith("--")) {
        String name = a.substring(2);
        String value = null;
        int eq = name.indexOf('=');
        if (eq >= 0) {
          value = name.substring(eq + 1);
          name = name.substring(0, eq);
        }
        if (flags.contains(name)) {
          if (value != null) {
            throw new UsageException("--" + name + " takes no value");
          }
          cl.options.computeIfAbsent(name, k -> new ArrayList<>()).add("true");
        } else if (withValue.contains(name)) {
          if (value == null) {
            if (i + 1 >= args.size()) {
              throw new UsageException("--" + name + " needs a value");
            }
            value = args.get(++i);
          }
          cl.options.computeIfAbsent(name, k -> new ArrayList<>()).add(value);
        } else {
          throw new UsageException("unknown option --" + name + " for '" + command + "'");
        }
      } else if (a.contains("=") && !a.startsWith("=")) {
        cl.overrides.add(a);
      } else {
        cl.positional.add(a);
      }
    }
    return cl;
  }

  String required(String name) throws UsageException {
    String v = optional(name);
    if (v == null) {
      throw new UsageException("--" + name + " is required");
    }
    return v;
  }

  String optional(String name) {
    List<String> v = options.get(name);
    return v == null ? null : v.get(v.size() - 1);
  }

  List<String> all(String name) {
    return options.getOrDefault(name, List.of());
  }

  boolean flag(String name) {
    return options.containsKey(name);
  }

  /** Thrown for arguments that do not make a valid command. */
  static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }
}
