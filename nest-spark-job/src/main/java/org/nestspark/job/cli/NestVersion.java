package org.nestspark.job.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/**
 * {@code nest --version}: nest-spark's version and the git commit it was built from (recorded at build time
 * in {@code version.properties}; "unknown" when built outside git), the DL4J, Spark, Hadoop and Scala versions
 * it was built against, and the Spark, Hadoop and Java this JVM runs (a cluster provides its own Spark and Hadoop).
 */
final class NestVersion implements IVersionProvider {
  static final String RESOURCE = "version.properties";

  /** The build-time properties ({@code version}, {@code git.commit}, {@code dl4j}, {@code spark}, ...). */
  static Properties build() {
    Properties p = new Properties();
    try (InputStream in = NestVersion.class.getResourceAsStream(RESOURCE)) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      // fall through: every value reads "unknown"
    }
    return p;
  }

  private static String get(Properties p, String key) {
    String v = p.getProperty(key, "unknown");
    return v.isBlank() || v.startsWith("${") ? "unknown" : v.strip();
  }

  @Override
  public String[] getVersion() {
    Properties p = build();
    return new String[] {
      "nest-spark " + get(p, "version") + " (git " + get(p, "git.commit") + ")",
      "built with: DL4J "
          + get(p, "dl4j")
          + " (Spark modules "
          + get(p, "dl4j.spark")
          + "), Spark "
          + get(p, "spark")
          + ", Hadoop "
          + get(p, "hadoop")
          + ", Scala "
          + get(p, "scala"),
      "running on: Spark "
          + DoctorCommand.sparkVersion()
          + ", Hadoop "
          + org.apache.hadoop.util.VersionInfo.getVersion()
          + ", Java "
          + System.getProperty("java.version")
          + " ("
          + System.getProperty("java.vm.name")
          + ")"
    };
  }
}
