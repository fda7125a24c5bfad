package org.nestspark.tarred;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nestspark.config.NestConfig;

class ShardPathsTest {
  @Test
  void expandsNemosBraceForms() {
    assertEquals(
        List.of("audio_0.tar", "audio_1.tar", "audio_2.tar"),
        ShardPaths.expand("audio_{0..2}.tar"));
    assertEquals(
        List.of("audio_0.tar", "audio_1.tar", "audio_2.tar"),
        ShardPaths.expand("audio__OP_0..2_CL_.tar"));
    assertEquals(List.of("a_0.tar", "a_1.tar"), ShardPaths.expand("a_(0..1).tar"));
    assertEquals(List.of("a_0.tar", "a_1.tar"), ShardPaths.expand("a_[0..1].tar"));
    assertEquals(List.of("a_0.tar", "a_1.tar"), ShardPaths.expand("a_<0..1>.tar"));
    assertEquals(128, ShardPaths.expand("hdfs://nn:8020/c/audio_{0..127}.tar").size());
    assertEquals(
        "hdfs://nn:8020/c/audio_127.tar",
        ShardPaths.expand("hdfs://nn:8020/c/audio_{0..127}.tar").get(127));
  }

  @Test
  void rangesListsNestingAndLiterals() {
    assertEquals(List.of("s08", "s09", "s10"), ShardPaths.expand("s{08..10}"));
    assertEquals(List.of("3", "2", "1"), ShardPaths.expand("{3..1}"));
    assertEquals(List.of("0", "2", "4"), ShardPaths.expand("{0..4..2}"));
    assertEquals(List.of("a", "b", "c"), ShardPaths.expand("{a..c}"));
    assertEquals(List.of("x/a.tar", "x/b1.tar", "x/b2.tar"), ShardPaths.expand("x/{a,b{1,2}}.tar"));
    assertEquals(List.of("a0x", "a0y", "a1x", "a1y"), ShardPaths.expand("a{0..1}{x,y}"));
    assertEquals(List.of("{x}_0", "{x}_1"), ShardPaths.expand("{x}_{0..1}"));
    assertEquals(List.of("plain.tar"), ShardPaths.expand("plain.tar"));
  }

  @Test
  void configuredValuesSplitOnCommasOutsideBraces() {
    NestConfig c =
        NestConfig.defaults()
            .with(
                java.util.Map.of(
                    "featurize.tarred_audio_filepaths", "a_{x,y}.tar, b__OP_0..1_CL_.tar"));
    assertEquals(
        List.of("a_{x,y}.tar", "b_{0..1}.tar"),
        ShardPaths.configured(c, "featurize.tarred_audio_filepaths"));
    assertEquals(
        List.of("a_x.tar", "a_y.tar", "b_0.tar", "b_1.tar"),
        ShardPaths.expandAll(ShardPaths.configured(c, "featurize.tarred_audio_filepaths")));
    assertEquals(
        List.of(),
        ShardPaths.configured(NestConfig.defaults(), "featurize.tarred_audio_filepaths"));
  }
}
