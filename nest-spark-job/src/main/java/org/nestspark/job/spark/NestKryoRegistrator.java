package org.nestspark.job.spark;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.serializers.JavaSerializer;
import org.nd4j.kryo.Nd4jRegistrator;

/**
 * Spark's Kryo setup for nest-spark: ND4J's registrator (ND4J arrays, which Kryo cannot copy field by field)
 * plus Java serialization for Java records, which Kryo 4 (Spark 3.5's) cannot construct ("can't get field
 * offset on a record class"). Set by {@link SparkContexts} as {@code spark.kryo.registrator}; pass it to
 * spark-submit the same way.
 */
public class NestKryoRegistrator extends Nd4jRegistrator {
  @Override
  public void registerClasses(Kryo kryo) {
    super.registerClasses(kryo);
    kryo.addDefaultSerializer(Record.class, new JavaSerializer());
  }
}
