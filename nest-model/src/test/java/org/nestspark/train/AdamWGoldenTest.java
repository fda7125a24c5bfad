package org.nestspark.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nestspark.io.NpyArray;
import org.nestspark.testkit.Golden;

/**
 * One AdamW step in float32 from NeMo's own gradients and initial weights against the golden
 * {@code train_check.json} {@code adamw} section (torch 1.13 AdamW): the norm of the update and the parameter
 * norm after the step, per tensor. Resources: {@code golden/train_check/} (see its README).
 */
class AdamWGoldenTest {
  private static InputStream open(String rel) {
    return Golden.open("train_check/" + rel);
  }

  private static INDArray npy(String rel) {
    NpyArray a = Golden.npy("train_check/" + rel);
    return Nd4j.createFromArray(a.toFloatArray());
  }

  private static JsonNode adamwSection() throws IOException {
    try (InputStream in = new GZIPInputStream(open("train_check.json.gz"))) {
      return new ObjectMapper().readTree(in).get("adamw");
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "encoder.pre_encode.out.bias",
        "encoder.layers.0.conv.batch_norm.weight",
        "encoder.layers.0.conv.batch_norm.bias",
        "encoder.layers.0.self_attn.pos_bias_u",
        "encoder.layers.1.conv.depthwise_conv.weight",
        "encoder.layers.0.self_attn.linear_q.weight"
      })
  void oneStepMatchesTorch(String name) throws IOException {
    JsonNode adamw = adamwSection();
    double lr = adamw.get("lr").asDouble();
    double wd = adamw.get("weight_decay").asDouble();
    assertEquals(1e-3, lr);
    assertEquals(1e-3, wd);
    assertFalse(adamw.get("amsgrad").asBoolean());
    AdamW cfg =
        new AdamW(
            lr,
            adamw.get("betas").get(0).asDouble(),
            adamw.get("betas").get(1).asDouble(),
            adamw.get("eps").asDouble(),
            wd);
    JsonNode golden = adamw.get("per_param").get(name);

    INDArray p0 = npy("params/" + name + ".npy.gz");
    INDArray g = npy("grads/" + name + ".npy.gz");
    assertEquals(DataType.FLOAT, p0.dataType());
    INDArray p = p0.dup();
    // the sequence a DL4J fit runs: DecoupledWeightDecay, then the updater, then params -= update
    p.muli(1 - cfg.getLearningRate(0, 0) * wd);
    DecoupledWeightDecay.markApplied(0);
    GradientUpdater<?> u = cfg.instantiate(Nd4j.zeros(DataType.FLOAT, 2 * p0.length()), true);
    INDArray update = g.dup();
    u.applyUpdater(update, 0, 0);
    p.subi(update);

    double updateNorm =
        p.castTo(DataType.DOUBLE).sub(p0.castTo(DataType.DOUBLE)).norm2Number().doubleValue();
    double paramNorm = p.castTo(DataType.DOUBLE).norm2Number().doubleValue();
    double goldenUpdate = golden.get("update_norm_f64").asDouble();
    double goldenParam = golden.get("param_norm_after_f64").asDouble();
    assertEquals(goldenUpdate, updateNorm, 1e-7 * goldenUpdate, name + " update norm");
    assertEquals(goldenParam, paramNorm, 1e-9 * goldenParam, name + " param norm after");

    // DL4J's Adam form (eps on the uncorrected sqrt(v)) would fail this for the tensors with tiny
    // gradients
    if (name.endsWith("pos_bias_u") || name.endsWith("linear_q.weight")) {
      double b1 = cfg.getBeta1();
      double b2 = cfg.getBeta2();
      double[] gd = g.castTo(DataType.DOUBLE).toDoubleVector();
      double[] pd = p0.castTo(DataType.DOUBLE).toDoubleVector();
      double sq = 0;
      for (int i = 0; i < gd.length; i++) {
        double m = (1 - b1) * gd[i];
        double v = (1 - b2) * gd[i] * gd[i];
        double upd =
            lr * Math.sqrt(1 - b2) / (1 - b1) * m / (Math.sqrt(v) + cfg.getEpsilon())
                + lr * wd * pd[i];
        sq += upd * upd;
      }
      double rel = Math.abs(Math.sqrt(sq) - goldenUpdate) / goldenUpdate;
      assertTrue(rel > 0.01, "DL4J's eps placement should be off by > 1 % here, got " + rel);
    }
  }
}
