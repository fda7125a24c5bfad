package org.nestspark.model.decoder;

import java.util.List;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nestspark.model.nn.NemoParamInitializer;
import org.nestspark.model.nn.ParamSpec;

/** Parameters of {@link MultiSoftmaxDecoder} (docs/nest-numerics.md §7): NeMo's shapes, C order, Xavier-uniform weight. */
public final class MultiSoftmaxDecoderParamInitializer extends NemoParamInitializer {
  private static final MultiSoftmaxDecoderParamInitializer INSTANCE =
      new MultiSoftmaxDecoderParamInitializer();

  private MultiSoftmaxDecoderParamInitializer() {}

  public static MultiSoftmaxDecoderParamInitializer getInstance() {
    return INSTANCE;
  }

  @Override
  public List<ParamSpec> specs(Layer layer) {
    return ((MultiSoftmaxDecoder) layer).paramSpecs();
  }
}
