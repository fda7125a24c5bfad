package org.nestspark.data;

import java.util.List;
import java.util.Objects;

/**
 * NeMo's collated {@code AudioNoiseBatch} before augmentation (docs/nest-numerics.md §2, "Collate"): clean audio zero-padded
 * on the right to the batch width {@code W = max(audio_len)}, the noise of each utterance zero-padded or cut
 * to W, and both length vectors. {@link MultiSpeakerNoiseAugmentation} turns it into the noisy audio.
 *
 * <p>Arrays are held without copying.
 */
public final class AudioNoiseBatch {
  private final float[][] audio;
  private final int[] audioLen;
  private final float[][] noise;
  private final int[] noiseLen;

  private AudioNoiseBatch(float[][] audio, int[] audioLen, float[][] noise, int[] noiseLen) {
    this.audio = audio;
    this.audioLen = audioLen;
    this.noise = noise;
    this.noiseLen = noiseLen;
  }

  /**
   * Collates utterances and their noise.
   *
   * @param utterances clean samples per utterance (after the 1-s minimum-length padding); audio_len is the
   *     row length
   * @param noise per utterance, e.g. {@link NoiseSampler.Noise#samples()}
   * @param noiseLen NeMo's noise_len per utterance ({@link NoiseSampler.Noise#length()})
   */
  public static AudioNoiseBatch collate(
      List<float[]> utterances, List<float[]> noise, int[] noiseLen) {
    Objects.requireNonNull(utterances, "utterances");
    Objects.requireNonNull(noise, "noise");
    Objects.requireNonNull(noiseLen, "noiseLen");
    int b = utterances.size();
    if (noise.size() != b || noiseLen.length != b) {
      throw new IllegalArgumentException(
          b + " utterances, " + noise.size() + " noises, " + noiseLen.length + " noise lengths");
    }
    int width = 0;
    for (float[] u : utterances) {
      width = Math.max(width, u.length);
    }
    float[][] a = new float[b][];
    float[][] n = new float[b][];
    int[] len = new int[b];
    for (int i = 0; i < b; i++) {
      a[i] = java.util.Arrays.copyOf(utterances.get(i), width);
      len[i] = utterances.get(i).length;
      n[i] = java.util.Arrays.copyOf(noise.get(i), width);
    }
    return new AudioNoiseBatch(a, len, n, noiseLen.clone());
  }

  /** Collates utterances with the noise a {@link NoiseSampler} drew for each. */
  public static AudioNoiseBatch collate(List<float[]> utterances, List<NoiseSampler.Noise> noise) {
    int[] nl = new int[noise.size()];
    List<float[]> ns = new java.util.ArrayList<>(noise.size());
    for (int i = 0; i < nl.length; i++) {
      nl[i] = noise.get(i).length();
      ns.add(noise.get(i).samples());
    }
    return collate(utterances, ns, nl);
  }

  /** Clean audio {@code [B][W]}. */
  public float[][] audio() {
    return audio;
  }

  public int[] audioLen() {
    return audioLen;
  }

  /** Noise {@code [B][W]}. */
  public float[][] noise() {
    return noise;
  }

  public int[] noiseLen() {
    return noiseLen;
  }

  public int batchSize() {
    return audio.length;
  }

  /** W. */
  public int width() {
    return audio.length == 0 ? 0 : audio[0].length;
  }
}
