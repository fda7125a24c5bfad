package org.nestspark.model.subsampling;

import java.util.List;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nestspark.model.nn.NemoParamInitializer;
import org.nestspark.model.nn.ParamSpec;

/** Parameters of {@link ConvSubsampling} (docs/nest-numerics.md §6.1, §6.8): NeMo's shapes, C order (see {@link ConvSubsampling#paramSpecs()}). */
public final class ConvSubsamplingParamInitializer extends NemoParamInitializer {
  private static final ConvSubsamplingParamInitializer INSTANCE =
      new ConvSubsamplingParamInitializer();

  private ConvSubsamplingParamInitializer() {}

  public static ConvSubsamplingParamInitializer getInstance() {
    return INSTANCE;
  }

  @Override
  public List<ParamSpec> specs(Layer layer) {
    return ((ConvSubsampling) layer).paramSpecs();
  }
}
