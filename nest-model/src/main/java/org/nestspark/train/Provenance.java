package org.nestspark.train;

import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.TreeMap;
import org.nestspark.config.NestConfig;

/**
 * Where a checkpoint came from: the software versions, the configuration hash and the hashes of the
 * manifests it was trained on, and when it was written.
 *
 * @param nestSparkVersion nest-spark's version (jar manifest {@code Implementation-Version}, else the Maven
 *     {@code pom.properties} in the jar, else {@value #UNKNOWN_VERSION} when running from class folders)
 * @param dl4jVersion DL4J's version (from deeplearning4j-nn's {@code pom.properties})
 * @param javaVersion {@code java.version}
 * @param configSha256 {@link NestConfig#sha256()} of the resolved configuration
 * @param manifestSha256 manifest name or path → SHA-256 (as the data layer computed them), sorted by key
 * @param createdAt ISO-8601 UTC time of writing, millisecond precision
 */
public record Provenance(
    String nestSparkVersion,
    String dl4jVersion,
    String javaVersion,
    String configSha256,
    Map<String, String> manifestSha256,
    String createdAt) {
  /** The version reported when nest-spark does not run from its jar. */
  public static final String UNKNOWN_VERSION = "dev";

  public Provenance {
    Objects.requireNonNull(nestSparkVersion, "nestSparkVersion");
    Objects.requireNonNull(dl4jVersion, "dl4jVersion");
    Objects.requireNonNull(javaVersion, "javaVersion");
    Objects.requireNonNull(configSha256, "configSha256");
    Objects.requireNonNull(createdAt, "createdAt");
    manifestSha256 =
        Collections.unmodifiableMap(
            new TreeMap<>(manifestSha256 == null ? Map.of() : manifestSha256));
  }

  /** The provenance of a checkpoint written now by this JVM for {@code config}. */
  public static Provenance capture(NestConfig config, Map<String, String> manifestSha256) {
    return new Provenance(
        currentNestSparkVersion(),
        currentDl4jVersion(),
        System.getProperty("java.version", "unknown"),
        config.sha256(),
        manifestSha256,
        Instant.now().truncatedTo(ChronoUnit.MILLIS).toString());
  }

  /** nest-spark's version, see the record description. */
  public static String currentNestSparkVersion() {
    String v =
        Provenance.class.getPackage() == null
            ? null
            : Provenance.class.getPackage().getImplementationVersion();
    if (v == null) {
      v = pomVersion("/META-INF/maven/org.nestspark/nest-model/pom.properties");
    }
    return v == null ? UNKNOWN_VERSION : v;
  }

  /** DL4J's version from the deeplearning4j-nn jar, or "unknown". */
  public static String currentDl4jVersion() {
    String v = pomVersion("/META-INF/maven/org.deeplearning4j/deeplearning4j-nn/pom.properties");
    return v == null ? "unknown" : v;
  }

  private static String pomVersion(String resource) {
    try (InputStream in = Provenance.class.getResourceAsStream(resource)) {
      if (in == null) {
        return null;
      }
      Properties p = new Properties();
      p.load(in);
      return p.getProperty("version");
    } catch (IOException e) {
      return null;
    }
  }
}
