package org.nestspark.config;

import com.typesafe.config.Config;
import java.io.Serializable;
import java.util.List;

/**
 * {@code init_from_pretrained.*}: start a new run from other weights (NeMo's {@code init_from_nemo_model}
 * dict form, docs/nest-numerics.md §10).
 *
 * @param path a {@code .nemo} archive or a nest-spark checkpoint; null = random initialisation
 * @param include a NeMo key is loaded iff some include string is a substring of it
 * @param exclude ... and no exclude string is a substring of it
 */
public record InitFromPretrainedSettings(String path, List<String> include, List<String> exclude)
    implements Serializable {

  public InitFromPretrainedSettings {
    include = List.copyOf(include);
    exclude = List.copyOf(exclude);
  }

  static InitFromPretrainedSettings read(Config c) {
    String s = "init_from_pretrained.";
    return new InitFromPretrainedSettings(
        c.hasPath(s + "path") ? c.getString(s + "path") : null,
        c.getStringList(s + "include"),
        c.getStringList(s + "exclude"));
  }

  /** True when a path is set. */
  public boolean enabled() {
    return path != null;
  }
}
