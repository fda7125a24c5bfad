package org.nestspark.job.extract;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.metadata.ParquetMetadata;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.OutputFile;
import org.apache.parquet.io.PositionOutputStream;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.LogicalTypeAnnotation;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Types;
import org.nestspark.extract.LayerExtractor;
import org.nestspark.io.AtomicFiles;
import org.nestspark.io.NestPaths;
import org.nestspark.manifest.ManifestEntry;

/**
 * {@code extract.format = parquet}: one Parquet file per batch ({@code part-NNNNN.parquet}, written
 * under a temporary name and renamed), one row per utterance and layer:
 *
 * <pre>
 * audio_filepath  string   the manifest's path (or the file's, for folder input)
 * offset          double   the manifest's offset (0 for files)
 * duration        double   the manifest's duration, null when absent
 * layer           int      0-based encoder layer
 * frames          int      T_valid (encoder frames of the utterance)
 * dim             int      d_model
 * values          binary   float32 little-endian [dim, frames], C order
 * </pre>
 *
 * Read with Spark: {@code spark.read.parquet(dir + "/*.parquet")} ({@code features.json} sits beside the parts); in NumPy a row's {@code values} is
 * {@code np.frombuffer(v, '<f4').reshape(dim, frames)}. A binary column rather than
 * {@code array<float>}: it is the npy layout, about 4× faster to write and read, and Large models give
 * millions of values per utterance. The footer's key-value metadata {@code nest.utterances} lists the
 * batch's entry ids and the ids and frames written, so a rerun recognises a complete part of the same
 * plan and keeps it; a part of another plan (other input or batch size) is written again, and parts
 * beyond the plan's last batch are deleted by the driver.
 */
final class ParquetFeatureWriter {
  static final MessageType SCHEMA =
      Types.buildMessage()
          .required(PrimitiveTypeName.BINARY)
          .as(LogicalTypeAnnotation.stringType())
          .named("audio_filepath")
          .required(PrimitiveTypeName.DOUBLE)
          .named("offset")
          .optional(PrimitiveTypeName.DOUBLE)
          .named("duration")
          .required(PrimitiveTypeName.INT32)
          .named("layer")
          .required(PrimitiveTypeName.INT32)
          .named("frames")
          .required(PrimitiveTypeName.INT32)
          .named("dim")
          .required(PrimitiveTypeName.BINARY)
          .named("values")
          .named("nest_features");
  static final String META_KEY = "nest.utterances";
  private static final ObjectMapper JSON = new ObjectMapper();

  private ParquetFeatureWriter() {}

  /** Writes the batch's part file. */
  static void write(
      ExtractJob.Batch b,
      List<ManifestEntry> entries,
      List<LayerExtractor.Output> outs,
      int[] layers,
      Configuration conf)
      throws IOException {
    Path target = new Path(URI.create(b.part));
    FileSystem fs = target.getFileSystem(conf);
    ObjectNode meta = JSON.createObjectNode();
    ArrayNode ls = meta.putArray("layers");
    for (int l : layers) {
      ls.add(l);
    }
    ArrayNode all = meta.putArray("batch");
    for (ManifestEntry e : b.entries) {
      all.add(e.id());
    }
    ArrayNode us = meta.putArray("utterances");
    for (int k = 0; k < entries.size(); k++) {
      us.addObject().put("id", entries.get(k).id()).put("frames", outs.get(k).frames());
    }
    Map<String, String> extra = new HashMap<>();
    extra.put(META_KEY, JSON.writeValueAsString(meta));
    AtomicFiles.write(
        fs,
        target,
        os -> {
          SimpleGroupFactory groups = new SimpleGroupFactory(SCHEMA);
          try (ParquetWriter<Group> w =
              ExampleParquetWriter.builder(new StreamOutputFile(os))
                  .withType(SCHEMA)
                  .withConf(conf)
                  .withExtraMetaData(extra)
                  .withCompressionCodec(CompressionCodecName.UNCOMPRESSED)
                  .build()) {
            for (int k = 0; k < entries.size(); k++) {
              ManifestEntry e = entries.get(k);
              LayerExtractor.Output o = outs.get(k);
              for (int l = 0; l < o.layers(); l++) {
                float[] v = o.layer(l);
                ByteBuffer bb = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                bb.asFloatBuffer().put(v);
                Group g =
                    groups
                        .newGroup()
                        .append("audio_filepath", e.audioFilepath())
                        .append("offset", e.offset());
                if (e.duration() != null) {
                  g.append("duration", e.duration());
                }
                g.append("layer", layers[l])
                    .append("frames", o.frames())
                    .append("dim", o.dim())
                    .append("values", Binary.fromConstantByteArray(bb.array()));
                w.write(g);
              }
            }
          }
        });
  }

  /**
   * The outcomes of a complete part file of an earlier run with the same layers and width, or
   * {@code null} when there is none (or it is damaged or different): then the batch is computed again.
   */
  static List<ExtractOutcome> existing(
      ExtractJob.Batch b, Configuration conf, int numLayers, int dim) {
    Path p = new Path(URI.create(b.part));
    try {
      FileSystem fs = p.getFileSystem(conf);
      if (!fs.exists(p)) {
        return null;
      }
      ParquetMetadata footer;
      try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(p, conf))) {
        footer = r.getFooter();
        String meta = footer.getFileMetaData().getKeyValueMetaData().get(META_KEY);
        if (meta == null) {
          return null;
        }
        JsonNode m = JSON.readTree(meta);
        if (m.get("layers").size() != numLayers
            || m.get("batch") == null
            || m.get("batch").size() != b.entries.size()) {
          return null;
        }
        for (int i = 0; i < b.entries.size(); i++) {
          if (m.get("batch").get(i).asLong() != b.entries.get(i).id()) {
            return null; // a part of another plan (other input or batch size): computed again
          }
        }
        Map<Long, Integer> frames = new HashMap<>();
        for (JsonNode u : m.get("utterances")) {
          frames.put(u.get("id").asLong(), u.get("frames").asInt());
        }
        if (r.getRecordCount() != (long) frames.size() * numLayers) {
          return null;
        }
        List<ExtractOutcome> out = new ArrayList<>();
        for (ManifestEntry e : b.entries) {
          Integer f = frames.get(e.id());
          String where = e.whereAndAudio();
          out.add(
              f != null
                  ? ExtractOutcome.done(e.id(), where, e.json(), b.part, f, 0, true)
                  : ExtractOutcome.skipped(
                      e.id(),
                      where,
                      e.json(),
                      "skipped by the run that wrote "
                          + NestPaths.display(p)
                          + " (see its report; delete that file to retry the batch)"));
        }
        return out;
      }
    } catch (IOException | RuntimeException damaged) {
      return null;
    }
  }

  /** Parquet's output interface over the stream {@link AtomicFiles} gives. */
  private static final class StreamOutputFile implements OutputFile {
    private final OutputStream out;

    StreamOutputFile(OutputStream out) {
      this.out = out;
    }

    @Override
    public PositionOutputStream create(long blockSizeHint) {
      return new PositionOutputStream() {
        long pos;

        @Override
        public long getPos() {
          return pos;
        }

        @Override
        public void write(int b) throws IOException {
          out.write(b);
          pos++;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
          out.write(b, off, len);
          pos += len;
        }

        @Override
        public void flush() throws IOException {
          out.flush();
        }

        @Override
        public void close() throws IOException {
          out.flush(); // AtomicFiles closes the stream
        }
      };
    }

    @Override
    public PositionOutputStream createOrOverwrite(long blockSizeHint) {
      return create(blockSizeHint);
    }

    @Override
    public boolean supportsBlockSize() {
      return false;
    }

    @Override
    public long defaultBlockSize() {
      return 0;
    }
  }
}
