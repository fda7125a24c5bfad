/**
 * NeMo {@code .nemo} archives (docs/nest-numerics.md §11): reading and writing the tar, its
 * {@code model_config.yaml} and its {@code model_weights.ckpt} (PyTorch's zip checkpoint format with a
 * restricted, state-dict-only unpickler). Format only: mapping the state dict onto the DL4J graph is
 * done elsewhere.
 *
 * <p>Entry points: {@link org.nestspark.nemo.NemoArchive} ({@code read}/{@code write}),
 * {@link org.nestspark.nemo.NemoModel}, {@link org.nestspark.nemo.NemoTensor},
 * {@link org.nestspark.nemo.NemoDtype}, {@link org.nestspark.nemo.NemoFormatException}.
 */
package org.nestspark.nemo;
