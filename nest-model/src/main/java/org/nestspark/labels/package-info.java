/**
 * External masked-prediction targets (HuBERT-style k-means pseudo-labels): frame features to cluster
 * ({@link org.nestspark.extract.FrameFeatures}), their alignment with the encoder's frames
 * ({@link org.nestspark.labels.LabelFrames}), nearest-centroid assignment ({@link org.nestspark.labels.Centroids})
 * and reading label files for training ({@link org.nestspark.labels.LabelFiles}). Used by {@code nest kmeans}
 * and by training with {@code model.targets = labels} (docs/nest-numerics.md §7/§8: the same masked-token loss, other targets).
 */
package org.nestspark.labels;
