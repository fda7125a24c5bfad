package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;

/**
 * The typed settings of the model's components, read once from a validated {@link NestConfig} ({@link
 * NestConfig#settings()}): each component takes its own record (the graph {@link #encoder()} and {@link
 * #decoder()}, the SSL modules {@link #masking()}, {@link #quantizer()}, {@link #loss()}, {@link
 * #augmentor(String)}, the optimiser {@link #optim()}, the loader {@link #data()}, the step {@link
 * #trainer()}), never the configuration tree. Every rule,
 * cross-field ones included, has run by the time a {@code NestSettings} exists ({@link NestConfigValidator}).
 *
 * @param sampleRate {@code model.sample_rate}: the rate audio is loaded at
 * @param targets {@code model.targets}: quantizer or labels
 * @param kernels {@code model.kernels}: auto, java or nd4j
 */
public record NestSettings(
    int sampleRate,
    String targets,
    int numClasses,
    int numBooks,
    PreprocessorParams preprocessor,
    EncoderSettings encoder,
    DecoderSettings decoder,
    MaskingSettings masking,
    QuantizerSettings quantizer,
    LossSettings loss,
    OptimSettings optim,
    DatasetSettings trainDs,
    DatasetSettings validationDs,
    DataSettings data,
    TrainerSettings trainer,
    InitFromPretrainedSettings initFromPretrained,
    String kernels)
    implements Serializable {

  static NestSettings read(Config c) {
    return new NestSettings(
        c.getInt("model.sample_rate"),
        c.getString("model.targets"),
        c.getInt("model.num_classes"),
        c.getInt("model.num_books"),
        PreprocessorParams.read(c),
        EncoderSettings.read(c),
        DecoderSettings.read(c),
        MaskingSettings.read(c),
        QuantizerSettings.read(c),
        LossSettings.read(c),
        OptimSettings.read(c),
        DatasetSettings.read(c, "model.train_ds"),
        DatasetSettings.read(c, "model.validation_ds"),
        DataSettings.read(c),
        TrainerSettings.read(c),
        InitFromPretrainedSettings.read(c),
        c.getString("model.kernels"));
  }

  /** {@code data.seed}: the graph's initialisation and the frozen modules' draws. */
  public long seed() {
    return data.seed();
  }

  /** {@code model.targets = labels}: k-means labels (HuBERT) rather than the quantizer's tokens. */
  public boolean labelTargets() {
    return "labels".equals(targets);
  }

  /**
   * A dataset section.
   *
   * @param section {@code model.train_ds} or {@code model.validation_ds}
   */
  public DatasetSettings dataset(String section) {
    return datasetSection(section).equals("model.train_ds") ? trainDs : validationDs;
  }

  /**
   * The augmentor of a dataset section.
   *
   * @param section {@code model.train_ds} or {@code model.validation_ds}, with or without {@code
   *     .batch_augmentor}
   */
  public AugmentorSettings augmentor(String section) {
    return dataset(section).augmentor();
  }

  private static String datasetSection(String section) {
    String s = section.endsWith(".") ? section.substring(0, section.length() - 1) : section;
    if (s.endsWith(".batch_augmentor")) {
      s = s.substring(0, s.length() - ".batch_augmentor".length());
    }
    if (!s.equals("model.train_ds") && !s.equals("model.validation_ds")) {
      throw new IllegalArgumentException("no dataset section " + section);
    }
    return s;
  }
}
