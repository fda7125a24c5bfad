package org.nestspark.job.spark;

import java.util.Optional;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One GPU per Spark task: binds ND4J, on the calling task thread, to the GPU address Spark's resource
 * scheduler assigned the task ({@code TaskContext.get().resources().get("gpu")}, with
 * {@code spark.task.resource.gpu.amount=1} and the executor's GPUs found by
 * {@code deploy/gpu/getGpusResources.sh}), so that the tasks of an executor spread over its GPUs instead of
 * all using device 0.
 *
 * <p>Addresses are CUDA device indices as the discovery script reports them (renumbered from 0 inside a
 * container that sees only some GPUs, as CUDA numbers them). The binding is ND4J's
 * {@link AffinityManager#unsafeSetDevice}: on the CUDA backend it makes the calling thread's ND4J context
 * and new arrays live on that device; on the CPU backend it does nothing, and the chosen address is
 * still returned and logged. Call it at the start of a task, on the task's thread, before any ND4J array
 * of the task is created; arrays created earlier on another device stay there.
 */
public final class TaskDevices {
  private static final Logger LOG = LoggerFactory.getLogger(TaskDevices.class);

  /** Spark's resource name for GPUs. */
  public static final String GPU = "gpu";

  private TaskDevices() {}

  /**
   * Binds the current Spark task's thread to its GPU. Returns the GPU address Spark assigned the task,
   * or empty when there is no task (driver code) or the task was assigned no GPU (CPU executors), in
   * which case nothing is changed.
   *
   * @throws IllegalStateException when the address is not a device index, or names a device the loaded
   *     CUDA backend does not see (a discovery script that does not match the container's GPUs)
   */
  public static Optional<String> bindTaskGpu() {
    return bind(TaskContext.get(), Nd4j.getAffinityManager());
  }

  /** The GPU address assigned to {@code task} (the first one if it was given several), or empty. */
  public static Optional<String> gpuAddress(TaskContext task) {
    if (task == null) {
      return Optional.empty();
    }
    scala.Option<ResourceInformation> gpu = task.resources().get(GPU);
    if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
      return Optional.empty();
    }
    return Optional.of(gpu.get().addresses()[0]);
  }

  static Optional<String> bind(TaskContext task, AffinityManager affinity) {
    Optional<String> address = gpuAddress(task);
    if (address.isEmpty()) {
      return address;
    }
    int device;
    try {
      device = Integer.parseInt(address.get().strip());
    } catch (NumberFormatException e) {
      throw new IllegalStateException(
          "Spark assigned this task GPU address '"
              + address.get()
              + "', which is not a CUDA device index (check the GPU discovery script)");
    }
    boolean cuda = isCuda();
    if (cuda && (device < 0 || device >= affinity.getNumberOfDevices())) {
      throw new IllegalStateException(
          "Spark assigned this task GPU "
              + device
              + " but ND4J sees "
              + affinity.getNumberOfDevices()
              + " device(s) (CUDA_VISIBLE_DEVICES and the GPU discovery script disagree)");
    }
    affinity.unsafeSetDevice(device);
    LOG.info(
        "task (stage {}, partition {}, attempt {}): GPU address {} -> ND4J device {}{}",
        task.stageId(),
        task.partitionId(),
        task.attemptNumber(),
        address.get(),
        device,
        cuda ? "" : " (CPU backend: nothing to bind)");
    return address;
  }

  private static boolean isCuda() {
    return "org.nd4j.linalg.jcublas.JCublasBackend".equals(Nd4j.getBackend().getClass().getName());
  }
}
