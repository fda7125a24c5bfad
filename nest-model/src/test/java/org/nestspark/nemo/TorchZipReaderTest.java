package org.nestspark.nemo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class TorchZipReaderTest {
  /** A two-tensor state dict, its records deflated by java.util.zip (as some writers do). */
  static byte[] deflatedCheckpoint() throws Exception {
    LinkedHashMap<String, NemoTensor> sd = new LinkedHashMap<>();
    sd.put(
        "encoder.w", NemoTensor.of("encoder.w", new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
    sd.put("encoder.n", NemoTensor.of("encoder.n", new int[] {}, new long[] {7}));
    ByteArrayOutputStream stored = new ByteArrayOutputStream();
    TorchCheckpointWriter.plan(sd, Map.of(), true).writeTo(stored);
    TorchZipReader r =
        new TorchZipReader("t.nemo", "ckpt", RandomAccessBytes.of(stored.toByteArray()));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (ZipOutputStream z = new ZipOutputStream(out)) {
      for (String n : r.names()) {
        z.putNextEntry(new ZipEntry(n));
        z.write(r.read(n, 1 << 20));
        z.closeEntry();
      }
    }
    return out.toByteArray();
  }

  @Test
  void deflatedRecordsRead() throws Exception {
    TorchCheckpointReader.Result r =
        TorchCheckpointReader.read("t.nemo", "ckpt", RandomAccessBytes.of(deflatedCheckpoint()));
    assertEquals(2, r.stateDict.size());
  }

  @Test
  void aDeflatedRecordClaimingMoreThanDeflateCanProduceIsRefusedBeforeAllocating()
      throws Exception {
    byte[] zip = deflatedCheckpoint();
    // the central-directory entry of the first storage: claim 2 GiB - 16 uncompressed bytes
    byte[] name = "model_weights/data/0".getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.wrap(zip).order(ByteOrder.LITTLE_ENDIAN);
    int patched = 0;
    for (int p = 0; p + 46 + name.length <= zip.length; p++) {
      if (b.getInt(p) == 0x02014b50
          && (b.getShort(p + 28) & 0xffff) == name.length
          && new String(zip, p + 46, name.length, StandardCharsets.UTF_8)
              .equals("model_weights/data/0")) {
        b.putInt(p + 24, Integer.MAX_VALUE - 16);
        patched++;
      }
    }
    assertEquals(1, patched);
    NemoFormatException e =
        assertThrows(
            NemoFormatException.class,
            () -> TorchCheckpointReader.read("t.nemo", "ckpt", RandomAccessBytes.of(zip)));
    assertTrue(
        e.getMessage()
            .contains(
                "claims " + (Integer.MAX_VALUE - 16) + " bytes, more than deflate can produce"),
        e.getMessage());
  }
}
