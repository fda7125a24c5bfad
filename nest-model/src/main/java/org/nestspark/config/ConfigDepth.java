package org.nestspark.config;

/**
 * The nesting limit of configuration text (presets and {@code key=value} overrides), checked before Typesafe
 * Config parses it: its parser, path expressions and {@code withValue} recurse once per level and overflow the
 * stack a few thousand levels down, so a hostile or broken file would otherwise stop the command with a
 * {@code StackOverflowError} instead of a reason.
 *
 * <p>The depth is bounded from above without parsing: the brackets ({@code {}[]}) open at a point, plus the
 * dots of the unbroken token there (a dotted key {@code a.b.c} is three levels), outside quoted strings and
 * comments. At most {@value #MAX_DEPTH} levels are accepted (nest-spark's deepest key is 4 levels down; a
 * value such as {@code hdfs://nn/a.b.c} counts its dots too).
 */
final class ConfigDepth {
  /** The deepest nesting accepted. */
  static final int MAX_DEPTH = 64;

  private ConfigDepth() {}

  /**
   * Refuses text nested deeper than {@link #MAX_DEPTH}.
   *
   * @param what names the text in the message (a file, an override)
   * @throws NestConfigException naming {@code what}, the line and the depth
   */
  static void check(String text, String what) {
    int brackets = 0;
    int dots = 0;
    int i = 0;
    int n = text.length();
    while (i < n) {
      char c = text.charAt(i);
      if (c == '"') {
        boolean triple = text.startsWith("\"\"\"", i);
        i = triple ? skipTriple(text, i + 3) : skipQuoted(text, i + 1);
        continue;
      }
      if (c == '#' || (c == '/' && i + 1 < n && text.charAt(i + 1) == '/')) {
        while (i < n && text.charAt(i) != '\n') {
          i++;
        }
        continue;
      }
      switch (c) {
        case '{':
        case '[':
          brackets++;
          dots = 0;
          break;
        case '}':
        case ']':
          brackets = Math.max(0, brackets - 1);
          dots = 0;
          break;
        case '.':
          dots++;
          break;
        default:
          if (Character.isWhitespace(c) || c == ',' || c == ':' || c == '=') {
            dots = 0;
          }
      }
      if (brackets + dots > MAX_DEPTH) {
        long line = 1 + text.substring(0, i).chars().filter(ch -> ch == '\n').count();
        throw new NestConfigException(
            what
                + ": line "
                + line
                + ": nested more than "
                + MAX_DEPTH
                + " levels deep (brackets and dotted keys), more than any configuration needs");
      }
      i++;
    }
  }

  /** Refuses a dotted key of more than {@link #MAX_DEPTH} parts. */
  static void checkKey(String key, String what) {
    int parts = 1;
    for (int i = 0; i < key.length(); i++) {
      if (key.charAt(i) == '.' && ++parts > MAX_DEPTH) {
        throw new NestConfigException(
            what + ": the key has more than " + MAX_DEPTH + " dotted parts");
      }
    }
  }

  private static int skipQuoted(String text, int i) {
    while (i < text.length()) {
      char c = text.charAt(i);
      if (c == '\\') {
        i += 2;
        continue;
      }
      if (c == '"' || c == '\n') {
        return c == '"' ? i + 1 : i;
      }
      i++;
    }
    return i;
  }

  private static int skipTriple(String text, int i) {
    int end = text.indexOf("\"\"\"", i);
    return end < 0 ? text.length() : end + 3;
  }
}
