/**
 * Optimiser, schedule and the training step of the NEST graph, and checkpoints (docs/nest-numerics.md §8, §9, §14.6).
 *
 * <ul>
 *   <li>{@link org.nestspark.train.AdamW} / {@link org.nestspark.train.AdamWUpdater}: {@code torch.optim.AdamW}
 *       as a DL4J updater (eps after bias correction, unlike DL4J's Adam), with the decoupled weight decay
 *       applied by the {@link org.nestspark.train.DecoupledWeightDecay} listener.</li>
 *   <li>{@link org.nestspark.train.NoamAnnealing}: NeMo's schedule as a DL4J {@code ISchedule}, with NeMo's
 *       step indexing (steps 1 and 2 both use lr(1)).</li>
 *   <li>{@link org.nestspark.train.GradientClipping}: {@code clip_grad_norm_} on DL4J's final gradients.</li>
 *   <li>{@link org.nestspark.train.TrainStep}: one guarded step (empty selection skipped, non-finite step
 *       not taken, RNG reseeded from (seed, step)).</li>
 *   <li>{@link org.nestspark.train.Checkpoint}, {@link org.nestspark.train.CheckpointIO},
 *       {@link org.nestspark.train.Provenance}, {@link org.nestspark.train.CheckpointException}: verified
 *       single-file checkpoints through Hadoop {@code FileSystem}.</li>
 *   <li>{@link org.nestspark.train.TrainableParams}: the graph's parameter tensors as DL4J's updater sees
 *       them.</li>
 * </ul>
 *
 * <p>Parity figures (tests in {@code org.nestspark.train}): one AdamW step from NeMo's gradients matches the
 * golden torch update norms to ≤ 1.1e-8 relative in float32; four graph steps in double match torch's
 * formulas written out by hand to 1e-9 of the change; a resumed run equals an uninterrupted one bit for bit.
 */
package org.nestspark.train;
