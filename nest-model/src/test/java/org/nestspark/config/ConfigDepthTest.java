package org.nestspark.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nesting that would overflow Typesafe Config's recursive parser is refused with a reason (issue 16 fuzzing). */
class ConfigDepthTest {
  private static NestConfigException refused(List<String> files, String... overrides) {
    return assertThrows(
        NestConfigException.class,
        () -> NestConfig.load(files, List.of(overrides), new Configuration(false)));
  }

  @Test
  void overridesNestedThousandsDeepAreRefusedNotOverflowed() {
    String list =
        refused(List.of(), "model.optim.betas=" + "[".repeat(5000) + "]".repeat(5000)).getMessage();
    assertTrue(list.contains("model.optim.betas: line 1: nested more than 64 levels deep"), list);
    String key = refused(List.of(), "model" + ".a".repeat(5000) + "=1").getMessage();
    assertTrue(key.contains("the key has more than 64 dotted parts"), key);
    String delete = refused(List.of(), "~model" + ".a".repeat(5000)).getMessage();
    assertTrue(delete.contains("the key has more than 64 dotted parts"), delete);
  }

  @Test
  void presetsNestedThousandsDeepAreRefusedWithTheLine(@TempDir Path dir) throws Exception {
    Path brackets = dir.resolve("brackets.conf");
    Files.writeString(
        brackets,
        "# deep\nmodel {\n  x = " + "{a:".repeat(5000) + "1" + "}".repeat(5000) + "\n}\n");
    String m = refused(List.of(brackets.toString())).getMessage();
    assertTrue(m.contains("--config " + brackets + ": line 3: nested more than 64 levels deep"), m);
    Path dotted = dir.resolve("dotted.conf");
    Files.writeString(dotted, "model" + ".a".repeat(5000) + " = 1\n");
    assertTrue(
        refused(List.of(dotted.toString())).getMessage().contains("line 1: nested more than 64"));
  }

  @Test
  void bracketsAndDotsInStringsAndCommentsDoNotCount(@TempDir Path dir) throws Exception {
    Path preset = dir.resolve("ok.conf");
    Files.writeString(
        preset,
        "# "
            + "[".repeat(200)
            + "\n// "
            + "{.".repeat(200)
            + "\nexp_manager.exp_dir = \""
            + "[{.".repeat(200)
            + "\"\nexp_manager.name = \"\"\""
            + "[\n".repeat(200)
            + "\"\"\"\nmodel.train_ds.manifest_filepath = \"hdfs://nn:8020/a.b.c/d.e.json\"\nmodel.validation_ds.manifest_filepath = val.v2.json\n");
    NestConfig c =
        NestConfig.load(
            List.of(preset.toString()),
            List.of("model.optim.betas=[0.9,0.98]"),
            new Configuration(false));
    assertEquals("[{.".repeat(200), c.getString("exp_manager.exp_dir"));
    assertEquals("hdfs://nn:8020/a.b.c/d.e.json", c.getString("model.train_ds.manifest_filepath"));
    assertEquals("val.v2.json", c.getString("model.validation_ds.manifest_filepath"));
  }
}
