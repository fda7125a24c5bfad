package org.nestspark.tarred;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class MemberNamesTest {
  @Test
  void fileIdsAsNemoMatchesThem() {
    assertEquals("_data_a_b_c", MemberNames.ofMember("_data_a_b_c.wav"));
    assertEquals("x", MemberNames.ofMember("dir/x.flac"));
    assertEquals("_data_a_b_c", MemberNames.ofEntry("_data_a_b_c.wav"));
    assertEquals("_data_a_b_c", MemberNames.ofEntry("_data_a_b_c-sub2.wav"));
    assertEquals("utt", MemberNames.ofEntry("/abs/dir/utt-sub11.flac"));
    assertEquals("utt-subway", MemberNames.ofEntry("utt-subway.wav"));
  }

  @Test
  void squashesPathsAsNemosScript() {
    assertEquals("_data_a_b_c.wav", MemberNames.squash("/data/a.b/c.wav"));
    assertEquals("speech_utt_00.wav", MemberNames.squash("speech/utt_00.wav"));
    assertEquals("_x_noext", MemberNames.squash("/x/noext"));
  }
}
