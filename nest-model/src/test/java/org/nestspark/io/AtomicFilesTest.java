package org.nestspark.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {
  @TempDir Path dir;

  @Test
  void theHookSeesTheCompleteTemporaryFileBeforeTheFinalNameExists() throws IOException {
    FileSystem fs = FileSystem.getLocal(new Configuration(false));
    Path target = dir.resolve("step-000008.ckpt");
    byte[] content = new byte[100_000];
    for (int i = 0; i < content.length; i++) {
      content[i] = (byte) (i * 31);
    }
    List<Path> seen = new ArrayList<>();
    AtomicFiles.write(
        fs,
        new org.apache.hadoop.fs.Path(target.toUri()),
        out -> out.write(content),
        tmp -> {
          Path p = Path.of(tmp.toUri());
          seen.add(p);
          assertTrue(AtomicFiles.isTemporary(tmp), tmp.toString());
          assertFalse(Files.exists(target), "the final name appears only after the hook");
          try {
            assertArrayEquals(
                content, Files.readAllBytes(p), "the temporary file is complete and closed");
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
    assertEquals(1, seen.size());
    assertArrayEquals(content, Files.readAllBytes(target));
    assertFalse(Files.exists(seen.get(0)), "renamed away");
  }

  @Test
  void aFailingHookLeavesNeitherTheTargetNorTheTemporaryFile() throws IOException {
    FileSystem fs = FileSystem.getLocal(new Configuration(false));
    Path target = dir.resolve("best.json");
    assertThrows(
        IllegalStateException.class,
        () ->
            AtomicFiles.write(
                fs,
                new org.apache.hadoop.fs.Path(target.toUri()),
                out -> out.write(new byte[] {1, 2, 3}),
                tmp -> {
                  throw new IllegalStateException("injected");
                }));
    try (var files = Files.list(dir)) {
      assertEquals(List.of(), files.toList());
    }
  }
}
