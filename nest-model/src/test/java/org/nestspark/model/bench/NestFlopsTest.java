package org.nestspark.model.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nestspark.model.nn.PartTimer.Part;

class NestFlopsTest {
  // the Small preset, batch 8 x 10 s: 1008 frames -> 126 encoder steps, 322 selected tokens
  private static final NestFlops.Shape SMALL =
      new NestFlops.Shape(8, 1008, 80, 176, 704, 256, 9, 16, 8192, 322, 14_055_872L);

  @Test
  void smallPresetCountsByHand() {
    assertEquals(126, NestFlops.encoderSteps(1008));
    Map<Part, Double> f = NestFlops.forward(SMALL, true);
    double n = 8 * 126;
    // feed-forward: 2 modules x 2 Linears x 2·N·d·f per layer
    assertEquals(16 * 2 * 2 * 2 * n * 176 * 704, f.get(Part.FEED_FORWARD), 1);
    // subsampling: conv 1->256 on 504x40, dw+pw on 252x20 and 126x10, Linear 2560->176
    double sub =
        2 * 9 * 256 * 8 * 504 * 40.0
            + (2 * 9 * 256 + 2 * 256 * 256) * 8 * 252 * 20.0
            + (2 * 9 * 256 + 2 * 256 * 256) * 8 * 126 * 10.0
            + 2 * n * 2560 * 176;
    assertEquals(sub, f.get(Part.SUBSAMPLING), 1);
    // attention per layer: q,k,v,out + positional projection + two score products + probs·v
    double att =
        8 * n * 176 * 176
            + 2 * 251 * 176 * 176.0
            + 2 * 8 * 126 * 126 * 176.0
            + 2 * n * 251 * 176
            + 2 * 8 * 126 * 126 * 176.0;
    assertEquals(16 * att, f.get(Part.ATTENTION), 1);
    assertEquals(2.0 * 322 * 176 * 8192, f.get(Part.DECODER), 1);
    assertEquals(2.0 * n * 176 * 8192, NestFlops.forward(SMALL, false).get(Part.DECODER), 1);
    // about 35.5 GFLOP forward, 106 GFLOP a training step (the estimate: 37 and 111)
    assertEquals(35.5e9, NestFlops.total(f), 0.5e9);
    Map<Part, Double> step = NestFlops.trainingStep(SMALL);
    assertEquals(3 * f.get(Part.ATTENTION), step.get(Part.ATTENTION), 1);
    assertEquals(3 * sub - 2 * 9 * 256 * 8 * 504 * 40.0, step.get(Part.SUBSAMPLING), 1);
    assertEquals(12.0 * 14_055_872L, step.get(Part.OPTIMIZER), 1);
    assertEquals(106.1e9, NestFlops.total(step), 0.5e9);
  }
}
