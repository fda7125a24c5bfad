package org.nestspark.job.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.nestspark.config.NestConfig;

/**
 * Creates the Spark context of a nest-spark job. Under {@code spark-submit} the master and everything
 * else come from spark-submit; run directly (bin/nest, tests) the master is {@code spark.master} of the
 * config ({@code local[*]} by default).
 */
public final class SparkContexts {
  private SparkContexts() {}

  public static JavaSparkContext create(NestConfig config, String jobName) {
    SparkConf conf = new SparkConf(true);
    conf.setIfMissing("spark.master", config.getString("spark.master"));
    conf.setIfMissing("spark.app.name", config.getString("spark.app_name") + " " + jobName);
    // executors must open non-ASCII file names (sun.jnu.encoding follows the locale)
    conf.setIfMissing("spark.executorEnv.LC_ALL", "C.UTF-8");
    conf.setIfMissing("spark.ui.showConsoleProgress", "false");
    // ND4J arrays travel between driver and executors (batches, parameters): Kryo with ND4J's
    // registrator (+ records)
    conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
    conf.setIfMissing("spark.kryo.registrator", NestKryoRegistrator.class.getName());
    if (conf.get("spark.master").startsWith("local")) {
      // an embedded local run talks to itself only: stay on loopback
      conf.setIfMissing(
          "spark.driver.bindAddress", System.getenv().getOrDefault("SPARK_LOCAL_IP", "127.0.0.1"));
      conf.setIfMissing(
          "spark.driver.host", System.getenv().getOrDefault("SPARK_LOCAL_IP", "127.0.0.1"));
    }
    return new JavaSparkContext(conf);
  }
}
