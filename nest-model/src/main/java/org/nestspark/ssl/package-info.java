/**
 * NEST's self-supervised machinery that runs with the batch, outside the trainable graph, on plain Java
 * arrays (docs/nest-numerics.md §3–§5, §7 step 1, §8): the batch augmentor ({@link org.nestspark.ssl.MultiSpeakerNoiseAugmentation}),
 * the target quantizer ({@link org.nestspark.ssl.RandomProjectionVectorQuantizer}), block masking
 * ({@link org.nestspark.ssl.RandomBlockMasking}), the loss's token selection
 * ({@link org.nestspark.ssl.TokenSelection}) and the per-batch pipeline that chains them in NeMo's order
 * ({@link org.nestspark.batch.NestBatchPipeline} → {@link org.nestspark.batch.NestBatch}).
 *
 * <p>Everything is deterministic given a seed ({@link java.util.SplittableRandom}); NeMo's numpy/torch random
 * streams cannot be reproduced, so golden parity is checked with NeMo's weights and forced masks.
 */
package org.nestspark.ssl;
