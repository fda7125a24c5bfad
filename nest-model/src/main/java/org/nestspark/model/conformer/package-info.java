/**
 * The FastConformer block of NEST's encoder (docs/nest-numerics.md §6.2–6.6, §6.8) as a hand-written DL4J layer.
 *
 * <ul>
 *   <li>{@link org.nestspark.model.conformer.ConformerLayer}: the layer configuration (NeMo's
 *       {@code model.encoder.*} fields, JSON-serializable), parameter names and the NeMo state-dict
 *       key mapping ({@code nemoKeyToParam()});</li>
 *   <li>{@link org.nestspark.model.conformer.ConformerLayerImpl}: forward and backward with ND4J ops
 *       (gemm on {@code [B·T', d]} row matrices, batched matmuls for attention), training flag for
 *       dropout and BatchNorm;</li>
 *   <li>{@link org.nestspark.model.conformer.ConformerLayerParamInitializer}: NeMo shapes, PyTorch
 *       default initialisation, BatchNorm buffers last;</li>
 *   <li>{@link org.nestspark.model.conformer.RelPositionalEncoding}: the relative positional table.</li>
 * </ul>
 *
 * <p>Package-private sub-modules mirror NeMo's: {@code ConformerFeedForward},
 * {@code RelPositionMultiHeadAttention}, {@code ConformerConvolution}, {@code LayerNormOp}; {@code
 * SequenceMask} holds one pass's padding mask and {@code Ops} the shared ND4J helpers.
 *
 * <p>NeMo quirks reproduced: BatchNorm's training statistics include padded positions (their values are
 * the depthwise bias plus leakage from valid neighbours; padded inputs themselves never reach them,
 * since the GLU output is zeroed there first); a fully padded query row of attention yields only
 * {@code linear_out}'s bias, so padded output steps are deterministic but not zero; the running
 * variance uses the unbiased batch variance while normalisation uses the biased one.
 */
package org.nestspark.model.conformer;
