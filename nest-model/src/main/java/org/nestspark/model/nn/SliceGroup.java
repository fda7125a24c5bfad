package org.nestspark.model.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The slices of one training batch, each run on its own thread by its own replica of the graph
 * ({@code org.nestspark.train.TrainStep} with {@code trainer.batch_slices} &gt; 1), and what they share so
 * that the sliced step computes what the whole batch would:
 *
 * <ul>
 *   <li>batch statistics: the conformer convolution module's BatchNorm (docs/nest-numerics.md §6.6) sums its columns over
 *       every slice ({@link #allReduceSum}), as NeMo's {@code SyncBatchNorm} does across devices
 *       ({@code trainer.sync_batchnorm=true}); with false each slice normalises with its own rows;
 *   <li>the loss normaliser: the masked-token loss divides by the selected positions of the whole batch
 *       ({@link #selected()}), not of the slice;
 *   <li>the row count of the whole batch ({@link #batch()}).
 * </ul>
 *
 * <p>A thread joins with {@link #enter(int)} and leaves with {@link #leave()}; code that runs outside a
 * group (every other caller) sees {@link #current()} null and computes on its own rows. {@link #allReduceSum}
 * is a rendezvous of all slices: one barrier after each slice has put a copy of its array in its slot
 * (two sets of slots, used in turn), the sum taken in slice order (so every slice gets the same bits). A
 * slice that fails calls {@link #abort()}, which breaks the barrier for the others instead of leaving them
 * waiting.
 */
public final class SliceGroup {
  private static final ThreadLocal<Member> CURRENT = new ThreadLocal<>();

  private final int slices;
  private final long batch;
  private final long selected;
  private final boolean syncBatchNorm;
  private final INDArray[][] slots;
  // reduces done per slice (each slice touches only its own counter)
  private final int[] rounds;
  // the rendezvous: a generation counter under this object's monitor (an abort is seen by a slice
  // whether it
  // arrives before or after it, unlike CyclicBarrier.reset)
  private int arrived;
  private long generation;
  private boolean aborted;
  // nanoseconds each slice spent waiting in the rendezvous (read by benchmarks, see
  // SlicedStep.Timing)
  private final long[] waitNanos;

  /** The membership of one thread. */
  public record Member(SliceGroup group, int index) {}

  /**
   * @param slices number of slices (threads)
   * @param batch rows (utterances) of the whole batch
   * @param selected selected positions of the whole batch (the loss normaliser)
   */
  public SliceGroup(int slices, long batch, long selected) {
    this(slices, batch, selected, true);
  }

  /**
   * @param slices number of slices (threads)
   * @param batch rows (utterances) of the whole batch
   * @param selected selected positions of the whole batch (the loss normaliser)
   * @param syncBatchNorm whether BatchNorm's training statistics are the whole batch's ({@code
   *     trainer.sync_batchnorm=true}, NeMo's {@code SyncBatchNorm}) or each slice's own (false: as each GPU's
   *     in NeMo without it)
   */
  public SliceGroup(int slices, long batch, long selected, boolean syncBatchNorm) {
    if (slices < 1) {
      throw new IllegalArgumentException("slices must be >= 1: " + slices);
    }
    this.slices = slices;
    this.batch = batch;
    this.selected = selected;
    this.syncBatchNorm = syncBatchNorm;
    this.slots = new INDArray[2][slices];
    this.rounds = new int[slices];
    this.waitNanos = new long[slices];
  }

  /** The calling thread's membership, or null outside a sliced step. */
  public static Member current() {
    return CURRENT.get();
  }

  /** The calling thread runs slice {@code index} until {@link #leave()}. */
  public void enter(int index) {
    CURRENT.set(new Member(this, index));
  }

  /** The calling thread leaves its group. */
  public static void leave() {
    CURRENT.remove();
  }

  public int slices() {
    return slices;
  }

  /** Rows (utterances) of the whole batch. */
  public long batch() {
    return batch;
  }

  /** Selected positions of the whole batch. */
  public long selected() {
    return selected;
  }

  /** Whether BatchNorm statistics are shared across the slices ({@code trainer.sync_batchnorm}). */
  public boolean syncBatchNorm() {
    return syncBatchNorm;
  }

  /**
   * Whether the calling thread's BatchNorm takes its training statistics over every slice of its group
   * ({@link #allReduceSum}): in a group of more than one slice with {@link #syncBatchNorm()}.
   */
  public static boolean sharesBatchNorm() {
    Member m = CURRENT.get();
    return m != null && m.group.slices > 1 && m.group.syncBatchNorm;
  }

  /** Breaks the rendezvous: slices waiting in {@link #allReduceSum} fail instead of waiting for ever. */
  public synchronized void abort() {
    aborted = true;
    notifyAll();
  }

  /**
   * The element-wise sum of {@code local} over every slice of the calling thread's group (a new array in
   * the current workspace), or {@code local} itself outside a group. Every slice must call it the same
   * number of times with arrays of the same shape.
   */
  public static INDArray allReduceSum(INDArray local) {
    Member m = CURRENT.get();
    if (m == null || m.group.slices == 1) {
      return local;
    }
    return m.group.reduce(m.index, local);
  }

  private INDArray reduce(int index, INDArray local) {
    // two sets of slots used in turn, so one barrier per reduce suffices: a slice can write the
    // other set
    // for its next reduce while a slower one still reads this set, but it cannot write this set
    // again
    // before every slice has arrived at the next reduce's barrier, i.e. has finished reading this
    // one
    int set = rounds[index]++ & 1;
    slots[set][index] =
        local.detach(); // outside the slice's workspaces, which move on after the barrier
    await(index);
    INDArray sum = slots[set][0].dup();
    for (int i = 1; i < slices; i++) {
      sum.addi(slots[set][i]);
    }
    return sum;
  }

  /** Nanoseconds slice {@code index} has spent waiting for the other slices in {@link #allReduceSum}. */
  public long waitNanos(int index) {
    synchronized (this) {
      return waitNanos[index];
    }
  }

  private void await(int index) {
    long t0 = System.nanoTime();
    try {
      await();
    } finally {
      long dt = System.nanoTime() - t0;
      synchronized (this) {
        waitNanos[index] += dt;
      }
    }
  }

  private synchronized void await() {
    if (aborted) {
      throw new Aborted();
    }
    long gen = generation;
    if (++arrived == slices) {
      arrived = 0;
      generation++;
      notifyAll();
      return;
    }
    while (gen == generation && !aborted) {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        aborted = true;
        notifyAll();
        throw new IllegalStateException("a batch slice was interrupted", e);
      }
    }
    if (gen == generation) {
      throw new Aborted();
    }
  }

  /** Thrown in a slice whose group was {@link #abort() aborted} because another slice failed. */
  public static final class Aborted extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    Aborted() {
      super("another slice of this batch failed");
    }
  }
}
