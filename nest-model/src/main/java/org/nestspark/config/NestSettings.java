package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * The typed settings of the model's components, read once from a validated {@link NestConfig} ({@link
 * NestConfig#settings()}): each component takes its own record (the graph {@link #encoder()} and {@link
 * #decoder()}, the SSL modules {@link #masking()}, {@link #quantizer()}, {@link #loss()}, {@link
 * #augmentor(String)}, the optimiser {@link #optim()}), never the configuration tree. Every rule,
 * cross-field ones included, has run by the time a {@code NestSettings} exists ({@link NestConfigValidator}).
 *
 * @param kernels {@code model.kernels}: auto, java or nd4j
 * @param seed {@code data.seed}: the graph's initialisation and the frozen modules' draws
 */
public record NestSettings(
    EncoderSettings encoder,
    DecoderSettings decoder,
    MaskingSettings masking,
    QuantizerSettings quantizer,
    LossSettings loss,
    OptimSettings optim,
    AugmentorSettings trainAugmentor,
    AugmentorSettings validationAugmentor,
    String kernels,
    long seed)
    implements Serializable {

  static NestSettings read(Config c) {
    return new NestSettings(
        EncoderSettings.read(c),
        DecoderSettings.read(c),
        MaskingSettings.read(c),
        QuantizerSettings.read(c),
        LossSettings.read(c),
        OptimSettings.read(c),
        AugmentorSettings.read(c, "model.train_ds.batch_augmentor"),
        AugmentorSettings.read(c, "model.validation_ds.batch_augmentor"),
        c.getString("model.kernels"),
        c.getLong("data.seed"));
  }

  /**
   * The augmentor of a dataset section.
   *
   * @param section {@code model.train_ds} or {@code model.validation_ds}, with or without {@code
   *     .batch_augmentor}
   */
  public AugmentorSettings augmentor(String section) {
    String s = section.endsWith(".") ? section.substring(0, section.length() - 1) : section;
    if (s.endsWith(".batch_augmentor")) {
      s = s.substring(0, s.length() - ".batch_augmentor".length());
    }
    switch (s) {
      case "model.train_ds":
        return trainAugmentor;
      case "model.validation_ds":
        return validationAugmentor;
      default:
        throw new IllegalArgumentException("no batch_augmentor section " + section);
    }
  }
}
