/**
 * Reading real-world audio for NeMo manifests (docs/nest-numerics.md §2, "Loading one clean utterance").
 *
 * <ul>
 *   <li>{@link org.nestspark.audio.AudioSegment}: the loader the pipeline uses (Hadoop paths, NeMo's
 *       offset/duration rule, down-mix, resample) and {@code probe} for manifest validation.</li>
 *   <li>{@link org.nestspark.audio.AudioDecoders}: container sniffing by magic bytes; WAV/RF64 via
 *       {@link org.nestspark.audio.WavDecoder}, FLAC via our own {@link org.nestspark.audio.FlacDecoder};
 *       anything else is {@code "unsupported format (...)"}.</li>
 *   <li>{@link org.nestspark.audio.Resampler}: Kaiser-windowed-sinc polyphase resampling (quality figures in
 *       its javadoc).</li>
 *   <li>{@link org.nestspark.audio.AudioException}: every file problem, as {@code "<path>: <reason>"}.</li>
 * </ul>
 *
 * <p>Deviations from NeMo, all deliberate: multi-channel files are down-mixed by averaging (NeMo assumes
 * mono and does not down-mix); resampling is done in-process by our resampler rather than librosa's
 * {@code soxr_hq}; there is no pydub fallback; headers that lie about sizes, FLAC CRC/MD5 failures and
 * non-finite float samples are reported instead of being read as far as possible.
 *
 * <p>Test fixtures: {@code nest-model/src/test/resources/audio}, made by
 * {@code nest-model/src/test/scripts/make-audio-fixtures.sh} (sox, flac, espeak-ng, numpy at generation
 * time only).
 */
package org.nestspark.audio;
