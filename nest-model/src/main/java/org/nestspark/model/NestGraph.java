package org.nestspark.model;

import org.deeplearning4j.nn.conf.ComputationGraphConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nestspark.config.DecoderSettings;
import org.nestspark.config.EncoderSettings;
import org.nestspark.config.NestSettings;
import org.nestspark.model.conformer.ConformerLayer;
import org.nestspark.model.decoder.MultiSoftmaxDecoder;
import org.nestspark.model.decoder.MultiSoftmaxDecoderImpl;
import org.nestspark.model.subsampling.ConvSubsampling;

/**
 * Builds the NEST model (NeMo's {@code EncDecDenoiseMaskedTokenPredModel} without its frozen modules) as one
 * DL4J {@link ComputationGraph} (docs/nest-numerics.md §6, §7): input {@value #INPUT}
 * {@code [B, feat_in, T]} (NCW, with the features mask {@code [B, T]}) → {@value #PRE_ENCODE}
 * ({@link ConvSubsampling}, incl. xscaling and dropout_pre_encoder) → {@code layer0} …
 * {@code layer{n−1}} ({@link ConformerLayer}, {@code [B, d, T']}; the two together are NeMo's {@link
 * ConformerEncoder}) → {@value #DECODER}
 * ({@link MultiSoftmaxDecoder} with the masked-token loss; labels {@code [B, H, T']} token indices,
 * labels mask {@code [B, T']} = token selection). The quantizer, the mask embedding and the
 * preprocessor are frozen and not part of the graph.
 *
 * <p>The updater is configurable (AdamW + Noam come from the trainer); the default is a plain Adam. The
 * graph uses DL4J's default {@code miniBatch(true)}: the updater divides gradients by B and the decoder
 * compensates (see {@link MultiSoftmaxDecoderImpl}), so after the updater's division every gradient is
 * NeMo's. BatchNorm running statistics and counters are parameters with a NoOp updater (buffers, see
 * {@link NemoKeys#isBuffer}); {@link #numTrainableParams} excludes them (docs/nest-numerics.md §6.9).
 *
 * <p>Resources: workspaces are ENABLED by default (both modes work). The subsampling layer keeps
 * channels-last activations in reusable Java heap arrays (about 0.5 GB for 8 × 10 s at 256 channels;
 * scale with batch × duration) and runs its loops on {@code nest.threads} / {@code OMP_NUM_THREADS}
 * threads ({@link org.nestspark.model.nn.Parallel}).
 */
public final class NestGraph {
  /** Input vertex: log-mel features {@code [B, feat_in, T]}. */
  public static final String INPUT = "features";

  /** The subsampling vertex. */
  public static final String PRE_ENCODE = "preEncode";

  /** The output vertex. */
  public static final String DECODER = "decoder";

  private NestGraph() {}

  /** Vertex name of ConformerLayer i: {@code layer<i>}. */
  public static String layerName(int i) {
    return "layer" + i;
  }

  /** A builder with NeMo's NEST defaults (the Large recipe); set at least what differs. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * A builder filled from the encoder's and decoder's settings ({@code model.encoder.*}, {@code
   * model.decoder.*}; docs/nest-numerics.md §6, §7), {@code model.kernels} and {@code data.seed}.
   */
  public static Builder builder(NestSettings s) {
    EncoderSettings e = s.encoder();
    DecoderSettings d = s.decoder();
    return new Builder()
        .featIn(e.featIn())
        .dModel(e.dModel())
        .nHeads(e.nHeads())
        .nLayers(e.nLayers())
        .ffExpansionFactor(e.ffExpansionFactor())
        .convKernelSize(e.convKernelSize())
        .convNormType(e.convNormType())
        .subsamplingFactor(e.subsamplingFactor())
        .subsamplingConvChannels(e.subsamplingConvChannels())
        .xscaling(e.xscaling())
        .dropout(e.dropout())
        .dropoutPreEncoder(e.dropoutPreEncoder())
        .dropoutEmb(e.dropoutEmb())
        .dropoutAtt(e.dropoutAtt())
        .numClasses(d.numClasses())
        .numBooks(d.numDecoders())
        .decoderUseBias(d.useBias())
        .kernels(s.kernels())
        .seed(s.seed());
  }

  /** The initialised graph for a configuration, with the default updater. */
  public static ComputationGraph build(NestSettings c) {
    return builder(c).build();
  }

  /** The initialised graph for a configuration with the given updater (e.g. the trainer's AdamW). */
  public static ComputationGraph build(NestSettings c, IUpdater updater) {
    return builder(c).updater(updater).build();
  }

  /** The decoder layer of a NEST graph (loss metrics of the last step). */
  public static MultiSoftmaxDecoderImpl decoder(ComputationGraph graph) {
    return (MultiSoftmaxDecoderImpl) graph.getLayer(DECODER);
  }

  /**
   * NeMo-style parameter count of a graph (docs/nest-numerics.md §6.9): every parameter except the buffers (BatchNorm
   * running statistics and counters, see {@link NemoKeys#isBuffer}).
   */
  public static long numTrainableParams(ComputationGraph graph) {
    long n = 0;
    for (org.deeplearning4j.nn.api.Layer l : graph.getLayers()) {
      org.deeplearning4j.nn.conf.layers.Layer conf = l.conf().getLayer();
      for (java.util.Map.Entry<String, org.nd4j.linalg.api.ndarray.INDArray> e :
          l.paramTable().entrySet()) {
        if (!NemoKeys.isBuffer(conf, e.getKey())) {
          n += e.getValue().length();
        }
      }
    }
    return n;
  }

  /** Number of ConformerLayers of a NEST graph. */
  public static int numLayers(ComputationGraph graph) {
    int n = 0;
    while (graph.getVertex(layerName(n)) != null) {
      n++;
    }
    return n;
  }

  /** Plain-parameter builder; defaults are NeMo's NEST values (docs/nest-numerics.md §6, §7). */
  public static final class Builder {
    private int featIn = 80;
    private int dModel = 512;
    private int nHeads = 8;
    private int nLayers = 17;
    private int ffExpansionFactor = 4;
    private int convKernelSize = 9;
    private String convNormType = "batch_norm";
    private int subsamplingFactor = 8;
    private int subsamplingConvChannels = 256;
    private boolean xscaling = true;
    private double dropout = 0.1;
    private double dropoutPreEncoder = 0.1;
    private double dropoutEmb = 0.0;
    private double dropoutAtt = 0.1;
    private int numClasses = 8192;
    private int numBooks = 1;
    private boolean decoderUseBias = true;
    private boolean withDecoder = true;
    private String kernels = "auto";
    private long seed = 42;
    private DataType dataType = DataType.FLOAT;
    private IUpdater updater = new Adam(1e-3);
    private WorkspaceMode workspaceMode = WorkspaceMode.ENABLED;

    private Builder() {}

    public Builder featIn(int v) {
      featIn = v;
      return this;
    }

    public Builder dModel(int v) {
      dModel = v;
      return this;
    }

    public Builder nHeads(int v) {
      nHeads = v;
      return this;
    }

    public Builder nLayers(int v) {
      nLayers = v;
      return this;
    }

    public Builder ffExpansionFactor(int v) {
      ffExpansionFactor = v;
      return this;
    }

    public Builder convKernelSize(int v) {
      convKernelSize = v;
      return this;
    }

    public Builder convNormType(String v) {
      convNormType = v;
      return this;
    }

    public Builder subsamplingFactor(int v) {
      subsamplingFactor = v;
      return this;
    }

    public Builder subsamplingConvChannels(int v) {
      subsamplingConvChannels = v;
      return this;
    }

    public Builder xscaling(boolean v) {
      xscaling = v;
      return this;
    }

    public Builder dropout(double v) {
      dropout = v;
      return this;
    }

    public Builder dropoutPreEncoder(double v) {
      dropoutPreEncoder = v;
      return this;
    }

    public Builder dropoutEmb(double v) {
      dropoutEmb = v;
      return this;
    }

    public Builder dropoutAtt(double v) {
      dropoutAtt = v;
      return this;
    }

    /** All four dropouts at once (0 for parity checks). */
    public Builder allDropouts(double v) {
      dropout = v;
      dropoutPreEncoder = v;
      dropoutEmb = v;
      dropoutAtt = v;
      return this;
    }

    public Builder numClasses(int v) {
      numClasses = v;
      return this;
    }

    public Builder numBooks(int v) {
      numBooks = v;
      return this;
    }

    public Builder decoderUseBias(boolean v) {
      decoderUseBias = v;
      return this;
    }

    /** False: an encoder-only graph whose output is the last encoder vertex (no labels needed). */
    public Builder withDecoder(boolean v) {
      withDecoder = v;
      return this;
    }

    /** {@code model.kernels}: {@code auto} (default), {@code java} or {@code nd4j} ({@link org.nestspark.model.nn.Kernels}). */
    public Builder kernels(String v) {
      kernels = org.nestspark.model.nn.Kernels.parse(v).configName();
      return this;
    }

    /** Seed of the parameter initialisation ({@code Nd4j.getRandom()} is reseeded with it at init). */
    public Builder seed(long v) {
      seed = v;
      return this;
    }

    /** FLOAT (default) or DOUBLE (gradient checks). */
    public Builder dataType(DataType v) {
      dataType = v;
      return this;
    }

    /** The updater of every parameter (BatchNorm buffers keep their NoOp). */
    public Builder updater(IUpdater v) {
      updater = v;
      return this;
    }

    /** DL4J workspace mode for training and inference (default ENABLED). */
    public Builder workspaceMode(WorkspaceMode v) {
      workspaceMode = v;
      return this;
    }

    /** The subsampling layer configuration. */
    /** The encoder these settings describe. */
    public ConformerEncoder encoder() {
      return new ConformerEncoder(
          new EncoderSettings(
              featIn,
              dModel,
              nHeads,
              nLayers,
              ffExpansionFactor,
              convKernelSize,
              convNormType,
              subsamplingFactor,
              subsamplingConvChannels,
              xscaling,
              dropout,
              dropoutPreEncoder,
              dropoutEmb,
              dropoutAtt),
          kernels);
    }

    /** The subsampling layer's configuration ({@link ConformerEncoder#preEncodeLayer}). */
    public ConvSubsampling preEncodeLayer() {
      return encoder().preEncodeLayer();
    }

    /** The configuration of ConformerLayer i ({@link ConformerEncoder#layer}). */
    public ConformerLayer encoderLayer(int i) {
      return encoder().layer(i);
    }

    /** The decoder configuration. */
    public MultiSoftmaxDecoder decoderLayer() {
      return new MultiSoftmaxDecoder.Builder()
          .featIn(dModel)
          .numClasses(numClasses)
          .numDecoders(numBooks)
          .useBias(decoderUseBias)
          .kernels(kernels)
          .build();
    }

    /** The graph configuration (JSON-serializable; what Spark training masters ship). */
    public ComputationGraphConfiguration configuration() {
      ComputationGraphConfiguration.GraphBuilder g =
          new NeuralNetConfiguration.Builder()
              .seed(seed)
              .dataType(dataType)
              .updater(updater)
              .trainingWorkspaceMode(workspaceMode)
              .inferenceWorkspaceMode(workspaceMode)
              .graphBuilder()
              .addInputs(INPUT)
              .setInputTypes(InputType.recurrent(featIn, RNNFormat.NCW));
      String last = encoder().addTo(g, INPUT);
      if (withDecoder) {
        g.addLayer(DECODER, decoderLayer(), last);
        last = DECODER;
      }
      g.setOutputs(last);
      return g.build();
    }

    /** The initialised graph. */
    public ComputationGraph build() {
      ComputationGraph graph = new ComputationGraph(configuration());
      graph.init();
      return graph;
    }
  }
}
