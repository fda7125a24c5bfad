package org.nestspark.tarred;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NeMo's sharded paths (docs/nest-numerics.md §2, "Other loaders": {@code expand_sharded_filepaths}): the opening tokens
 * {@code (}, {@code [}, {@code <} and {@code _OP_} become {@code {}, the closing tokens {@code )}, {@code ]},
 * {@code >} and {@code _CL_} become {@code }}, then the string is brace-expanded as Python's
 * {@code braceexpand} does: {@code {a,b,c}} alternatives, integer ranges {@code {0..127}} (zero-padded to the
 * wider bound when a bound has a leading zero, {@code {00..10}}), an optional step {@code {0..10..2}},
 * descending ranges, letter ranges {@code {a..e}}, nesting, several groups (their product, left to right). A
 * group with neither a comma nor a range ({@code {x}}) stays as written, braces included. Like NeMo, the token
 * replacement applies to the whole string, so a path that itself contains {@code (} or {@code [} is changed.
 */
public final class ShardPaths {
  private static final Pattern INT_RANGE =
      Pattern.compile("(-?\\d+)\\.\\.(-?\\d+)(?:\\.\\.(-?\\d+))?");
  private static final Pattern CHAR_RANGE =
      Pattern.compile("([A-Za-z])\\.\\.([A-Za-z])(?:\\.\\.(-?\\d+))?");

  private ShardPaths() {}

  /** Every path {@code pattern} stands for, in order. */
  public static List<String> expand(String pattern) {
    String s = pattern;
    for (String open : new String[] {"(", "[", "<", "_OP_"}) {
      s = s.replace(open, "{");
    }
    for (String close : new String[] {")", "]", ">", "_CL_"}) {
      s = s.replace(close, "}");
    }
    return braces(s);
  }

  /** {@code expand} over each pattern of a list, concatenated. */
  public static List<String> expandAll(List<String> patterns) {
    List<String> out = new ArrayList<>();
    for (String p : patterns) {
      out.addAll(expand(p));
    }
    return out;
  }

  /**
   * The patterns of a configuration value: each item of a list, or the parts of a string separated by commas
   * outside braces (NeMo splits such strings on commas; here {@code audio_{a,b}.tar} stays one pattern). Empty
   * when the key is unset or null.
   */
  public static List<String> configured(org.nestspark.config.NestConfig cfg, String key) {
    if (!cfg.isSet(key)) {
      return List.of();
    }
    com.typesafe.config.Config c = cfg.config();
    List<String> items =
        c.getValue(key).valueType() == com.typesafe.config.ConfigValueType.LIST
            ? c.getStringList(key)
            : List.of(c.getString(key));
    List<String> out = new ArrayList<>();
    for (String item : items) {
      int depth = 0;
      int start = 0;
      String s = item.replace("_OP_", "{").replace("_CL_", "}");
      for (int i = 0; i <= s.length(); i++) {
        char ch = i < s.length() ? s.charAt(i) : ',';
        if (ch == '{') {
          depth++;
        } else if (ch == '}') {
          depth--;
        } else if (ch == ',' && depth <= 0) {
          String part = s.substring(start, i).strip();
          if (!part.isEmpty()) {
            out.add(part);
          }
          start = i + 1;
        }
      }
    }
    return out;
  }

  /** True when {@link #expand} would change the string (it holds a brace or one of NeMo's tokens). */
  public static boolean isPattern(String s) {
    return s.contains("{")
        || s.contains("_OP_")
        || s.contains("(")
        || s.contains("[")
        || s.contains("<");
  }

  /** Brace expansion of a string that uses only {@code { , }}. */
  static List<String> braces(String s) {
    int from = 0;
    while (true) {
      int open = s.indexOf('{', from);
      if (open < 0) {
        return List.of(s);
      }
      int close = matching(s, open);
      if (close < 0) {
        return List.of(s);
      }
      List<String> alternatives = alternatives(s.substring(open + 1, close));
      if (alternatives == null) {
        from = open + 1; // {x}: literal, look further
        continue;
      }
      String prefix = s.substring(0, open);
      List<String> tails = braces(s.substring(close + 1));
      List<String> out = new ArrayList<>();
      for (String alt : alternatives) {
        for (String a : braces(alt)) {
          for (String t : tails) {
            out.add(prefix + a + t);
          }
        }
      }
      return out;
    }
  }

  private static int matching(String s, int open) {
    int depth = 0;
    for (int i = open; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '{') {
        depth++;
      } else if (c == '}' && --depth == 0) {
        return i;
      }
    }
    return -1;
  }

  /** The items of a group body, or null when it is not an expansion (no top-level comma, no range). */
  private static List<String> alternatives(String body) {
    Matcher m = INT_RANGE.matcher(body);
    if (m.matches()) {
      return intRange(m.group(1), m.group(2), m.group(3));
    }
    m = CHAR_RANGE.matcher(body);
    if (m.matches()) {
      char a = m.group(1).charAt(0);
      char b = m.group(2).charAt(0);
      int step = Math.max(1, Math.abs(m.group(3) == null ? 1 : Integer.parseInt(m.group(3))));
      List<String> out = new ArrayList<>();
      if (a <= b) {
        for (int c = a; c <= b; c += step) {
          out.add(String.valueOf((char) c));
        }
      } else {
        for (int c = a; c >= b; c -= step) {
          out.add(String.valueOf((char) c));
        }
      }
      return out;
    }
    List<String> items = new ArrayList<>();
    int depth = 0;
    int start = 0;
    for (int i = 0; i < body.length(); i++) {
      char c = body.charAt(i);
      if (c == '{') {
        depth++;
      } else if (c == '}') {
        depth--;
      } else if (c == ',' && depth == 0) {
        items.add(body.substring(start, i));
        start = i + 1;
      }
    }
    if (items.isEmpty()) {
      return null;
    }
    items.add(body.substring(start));
    return items;
  }

  private static List<String> intRange(String from, String to, String stepText) {
    long a = Long.parseLong(from);
    long b = Long.parseLong(to);
    long step = Math.max(1, Math.abs(stepText == null ? 1 : Long.parseLong(stepText)));
    int width = padded(from) || padded(to) ? Math.max(from.length(), to.length()) : 0;
    List<String> out = new ArrayList<>();
    if (a <= b) {
      for (long v = a; v <= b; v += step) {
        out.add(format(v, width));
      }
    } else {
      for (long v = a; v >= b; v -= step) {
        out.add(format(v, width));
      }
    }
    return out;
  }

  private static boolean padded(String n) {
    String digits = n.startsWith("-") ? n.substring(1) : n;
    return digits.length() > 1 && digits.charAt(0) == '0';
  }

  private static String format(long v, int width) {
    if (width == 0) {
      return Long.toString(v);
    }
    String digits = Long.toString(Math.abs(v));
    int w = v < 0 ? width - 1 : width;
    return (v < 0 ? "-" : "") + "0".repeat(Math.max(0, w - digits.length())) + digits;
  }

  /** For messages: the first and last of a long list. */
  static String summary(List<String> paths) {
    return paths.size() <= 2
        ? String.join(", ", paths)
        : String.format(
            Locale.ROOT,
            "%s ... %s (%d paths)",
            paths.get(0),
            paths.get(paths.size() - 1),
            paths.size());
  }
}
