package org.nestspark.job.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * {@link TaskDevices} outside a Spark task: nothing is bound. Under Spark's real resource scheduling
 * (a standalone cluster with two fake GPUs): {@link TaskDevicesIT}.
 */
class TaskDevicesTest {
  @Test
  void outsideATaskNothingIsBound() {
    assertTrue(TaskDevices.bindTaskGpu().isEmpty());
    assertTrue(TaskDevices.gpuAddress(null).isEmpty());
  }
}
