package org.nestspark.job.pretrain;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigValue;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.nestspark.config.NestConfig;
import org.nestspark.io.AtomicFiles;

/**
 * The files NeMo's exp_manager leaves in a run folder besides logs and checkpoints:
 *
 * <ul>
 *   <li>{@code hparams.yaml}: the resolved configuration under {@code cfg:}, in NeMo's sections:
 *       {@code cfg.model}, {@code cfg.trainer}, {@code cfg.exp_manager} (our keys of those sections carry
 *       NeMo's names). nest-spark's own sections ({@code pretrain}, {@code data}, {@code spark}, ...) are not
 *       in it; {@code config.conf} beside it has every key. Rewritten by each attempt (its configuration may
 *       differ, e.g. a larger max_steps).</li>
 *   <li>{@code cmd-args.log}: the command line, one line per attempt (NeMo writes {@code sys.argv} joined by
 *       spaces; attempts append here instead of replacing, so the history of a resumed run stays).</li>
 * </ul>
 * Both are written whole under a temporary name and renamed (any Hadoop file system).
 */
final class NemoRunFiles {
  static final String HPARAMS = "hparams.yaml";
  static final String CMD_ARGS = "cmd-args.log";
  private static final Pattern PLAIN = Pattern.compile("[A-Za-z_/][A-Za-z0-9_./-]*");
  private static final List<String> YAML_WORDS =
      List.of("true", "false", "yes", "no", "on", "off", "null", "y", "n", "~");

  private NemoRunFiles() {}

  static void writeHparams(FileSystem fs, Path runDir, NestConfig cfg) throws IOException {
    byte[] text = hparamsYaml(cfg).getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(fs, new Path(runDir, HPARAMS), o -> o.write(text));
  }

  /** {@code cfg:} with the model, trainer and exp_manager sections, as YAML. */
  static String hparamsYaml(NestConfig cfg) {
    StringBuilder sb = new StringBuilder("cfg:\n");
    for (String section : List.of("model", "trainer", "exp_manager")) {
      sb.append("  ").append(section).append(":");
      value(sb, cfg.config().getValue(section), 2);
    }
    return sb.toString();
  }

  /** Appends {@code v} after a {@code key:} already written at {@code indent} levels. */
  private static void value(StringBuilder sb, ConfigValue v, int indent) {
    switch (v.valueType()) {
      case OBJECT -> {
        ConfigObject o = (ConfigObject) v;
        if (o.isEmpty()) {
          sb.append(" {}\n");
          return;
        }
        sb.append('\n');
        for (var e : new TreeMap<>(o).entrySet()) {
          sb.append("  ".repeat(indent + 1)).append(scalar(e.getKey())).append(':');
          value(sb, e.getValue(), indent + 1);
        }
      }
      case LIST -> {
        ConfigList l = (ConfigList) v;
        if (l.isEmpty()) {
          sb.append(" []\n");
          return;
        }
        sb.append('\n');
        for (ConfigValue item : l) {
          sb.append("  ".repeat(indent + 1)).append('-');
          if (item.valueType() == com.typesafe.config.ConfigValueType.OBJECT
              || item.valueType() == com.typesafe.config.ConfigValueType.LIST) {
            value(sb, item, indent + 1);
          } else {
            sb.append(' ').append(leaf(item)).append('\n');
          }
        }
      }
      default -> sb.append(' ').append(leaf(v)).append('\n');
    }
  }

  private static String leaf(ConfigValue v) {
    Object u = v.unwrapped();
    switch (v.valueType()) {
      case NULL:
        return "null";
      case BOOLEAN:
        return u.toString();
      case NUMBER:
        if (u instanceof Double || u instanceof Float) {
          double d = ((Number) u).doubleValue();
          if (Double.isNaN(d)) {
            return ".nan";
          }
          if (Double.isInfinite(d)) {
            return d > 0 ? ".inf" : "-.inf";
          }
          String s = Double.toString(d);
          // YAML 1.1 readers (PyYAML, NeMo's OmegaConf) need a sign in the exponent to read a float
          return s.replaceFirst("E(\\d)", "E+$1");
        }
        return u.toString();
      default:
        return scalar(u.toString());
    }
  }

  /** A string as a plain YAML scalar when that reads back as the same string, else double-quoted (JSON escapes). */
  static String scalar(String s) {
    if (PLAIN.matcher(s).matches() && !YAML_WORDS.contains(s.toLowerCase(Locale.ROOT))) {
      return s;
    }
    StringBuilder q = new StringBuilder("\"");
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> q.append("\\\"");
        case '\\' -> q.append("\\\\");
        case '\n' -> q.append("\\n");
        case '\t' -> q.append("\\t");
        default -> {
          if (c < 0x20) {
            q.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          } else {
            q.append(c);
          }
        }
      }
    }
    return q.append('"').toString();
  }

  /** Adds {@code commandLine} (shell-quoted words) as the last line of {@code cmd-args.log}. */
  static void appendCmdArgs(FileSystem fs, Path runDir, List<String> commandLine)
      throws IOException {
    Path file = new Path(runDir, CMD_ARGS);
    ByteArrayOutputStream old = new ByteArrayOutputStream();
    if (fs.exists(file)) {
      try (InputStream in = fs.open(file)) {
        in.transferTo(old);
      }
    }
    StringBuilder line = new StringBuilder();
    for (String w : commandLine) {
      line.append(line.length() == 0 ? "" : " ").append(shellWord(w));
    }
    byte[] bytes = old.toByteArray();
    byte[] add = (line + "\n").getBytes(StandardCharsets.UTF_8);
    AtomicFiles.write(
        fs,
        file,
        o -> {
          o.write(bytes);
          if (bytes.length > 0 && bytes[bytes.length - 1] != '\n') {
            o.write('\n');
          }
          o.write(add);
        });
  }

  static String shellWord(String w) {
    return !w.isEmpty() && w.matches("[A-Za-z0-9_./:=,+@%-]+")
        ? w
        : "'" + w.replace("'", "'\\''") + "'";
  }
}
