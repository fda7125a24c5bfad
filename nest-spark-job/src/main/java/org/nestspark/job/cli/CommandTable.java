package org.nestspark.job.cli;

import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Help.Column;
import picocli.CommandLine.Help.TextTable;
import picocli.CommandLine.IHelpSectionRenderer;
import picocli.CommandLine.Model.CommandSpec;

/**
 * The "Commands:" section of {@code nest --help} as one table of every command, nested ones included
 * ({@code bench pretrain}, ...), each with the first line of its description.
 */
final class CommandTable implements IHelpSectionRenderer {
  @Override
  public String render(Help help) {
    if (help.subcommands().isEmpty()) {
      return "";
    }
    int width = help.commandSpec().usageMessage().width();
    TextTable table =
        TextTable.forColumns(
            help.colorScheme(),
            new Column(24, 2, Column.Overflow.SPAN),
            new Column(Math.max(40, width - 24), 2, Column.Overflow.WRAP));
    add(table, "", help.commandSpec());
    return table.toString();
  }

  /** The command's header, else the first line of its description. */
  private static String summary(CommandSpec spec) {
    String[] lines =
        spec.usageMessage().header().length > 0
            ? spec.usageMessage().header()
            : spec.usageMessage().description();
    for (String line : lines) {
      String text = line.replace("%n", " ").strip();
      if (!text.isEmpty()) {
        return text;
      }
    }
    return "";
  }

  private static void add(TextTable table, String prefix, CommandSpec spec) {
    for (Map.Entry<String, CommandLine> e : spec.subcommands().entrySet()) {
      CommandSpec sub = e.getValue().getCommandSpec();
      if (!sub.name().equals(e.getKey())) {
        continue; // an alias
      }
      table.addRowValues(prefix + e.getKey(), summary(sub));
      add(table, prefix + e.getKey() + " ", sub);
    }
  }
}
