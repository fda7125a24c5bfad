package org.nestspark.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One live run per run folder: a lock file {@code <run>/.lock} holding its owner (host, pid, run attempt
 * id, start time) and a heartbeat timestamp that a daemon thread renews every {@code heartbeat}.
 *
 * <ul>
 *   <li><b>Acquire</b> creates the file atomically: {@code FileSystem.create(path, overwrite=false)} on HDFS
 *       (one namenode operation), {@code O_CREAT|O_EXCL} on local disks (Hadoop's local {@code create}
 *       checks and then opens, which two processes can both pass).</li>
 *   <li><b>Refusal.</b> While the owner's heartbeat is younger than {@code ttl}, acquiring throws a
 *       {@link RunLockException} naming the lock file, the owner and the heartbeat's age.</li>
 *   <li><b>Takeover.</b> A heartbeat older than {@code ttl} means the owner died (a crashed driver, a killed
 *       container): an acquirer that judged the lock stale takes a takeover token ({@code .lock.takeover},
 *       created exclusively, so one acquirer at a time), re-reads the lock, deletes it only if unchanged,
 *       drops the token, and races for the free name with the others: exactly one creates the new lock.</li>
 *   <li><b>Release</b> ({@link #close()}) stops the heartbeat and deletes the file only if it still names this
 *       attempt; a lock taken over meanwhile is left to its new owner.</li>
 *   <li><b>Lost lock.</b> Each heartbeat first reads the file; if it no longer names this attempt, the
 *       heartbeat stops and {@link #isHeld()} turns false. Callers check {@link #ensureHeld()} before
 *       writing results (checkpoints) so that a run whose lock was taken over does not overwrite the new
 *       owner's files.</li>
 * </ul>
 *
 * <p>Use: hold it for the whole run, check it before writing results.
 *
 * <pre>{@code
 * try (RunLock lock = RunLock.acquire(runDir, hadoopConf, Duration.ofMinutes(10), Duration.ofSeconds(30),
 *     sc.sc().applicationId())) {
 *   ... train ...
 *   lock.ensureHeld();   // before each checkpoint
 *   ... save ...
 * }   // released: the file is deleted if it still names this attempt
 * }</pre>
 *
 * <p>Ages compare the reader's clock with the heartbeat written by the owner's clock: choose a TTL much
 * larger than the heartbeat interval plus the clock skew between hosts (minutes, not seconds). A lock file
 * that cannot be parsed (a heartbeat being rewritten) is re-read; if it stays unreadable its modification
 * time is its heartbeat. Object stores (s3a) have no atomic create-if-absent, so there the lock is best
 * effort.
 */
public final class RunLock implements AutoCloseable {
  /** The lock file's name inside the run folder. */
  public static final String FILE_NAME = ".lock";

  /** The token held while a stale lock is being removed. */
  static final String TAKEOVER_FILE_NAME = ".lock.takeover";

  private static final int MAX_ROUNDS = 100;
  private static final long ROUND_PAUSE_MS = 50;

  private static final Logger LOG = LoggerFactory.getLogger(RunLock.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final FileSystem fs;
  private final Path lockFile;
  private final Owner owner;
  private final Duration ttl;
  private final ScheduledExecutorService heartbeat;
  private volatile boolean held = true;
  private volatile String lostReason;
  private volatile Instant lastHeartbeat;
  private volatile boolean closed;

  /** Who holds a lock. */
  public record Owner(String host, long pid, String attempt, Instant started, Instant heartbeat) {
    String describe() {
      return "host " + host + " pid " + pid + " (attempt " + attempt + ", started " + started + ")";
    }

    Owner withHeartbeat(Instant t) {
      return new Owner(host, pid, attempt, started, t);
    }
  }

  /** Thrown when the run folder is locked by a live run. */
  public static final class RunLockException extends IOException {
    private static final long serialVersionUID = 1L;
    private final transient Owner owner;

    RunLockException(String message, Owner owner) {
      super(message);
      this.owner = owner;
    }

    /** The live owner (null when the lock file could not be read). */
    public Owner owner() {
      return owner;
    }
  }

  private RunLock(FileSystem fs, Path lockFile, Owner owner, Duration ttl, Duration every) {
    this.fs = fs;
    this.lockFile = lockFile;
    this.owner = owner;
    this.ttl = ttl;
    this.lastHeartbeat = owner.heartbeat();
    this.heartbeat =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, "nest-run-lock-heartbeat");
              t.setDaemon(true);
              return t;
            });
    long ms = Math.max(1, every.toMillis());
    heartbeat.scheduleWithFixedDelay(this::beat, ms, ms, TimeUnit.MILLISECONDS);
  }

  /**
   * Locks {@code runDir} (created if missing) for this process with a new attempt id.
   *
   * @param ttl how old the owner's heartbeat must be before another process may take the lock over
   * @param heartbeat how often the heartbeat is renewed (must be shorter than {@code ttl})
   * @throws RunLockException when a live run holds the lock
   */
  public static RunLock acquire(Path runDir, Configuration conf, Duration ttl, Duration heartbeat)
      throws IOException {
    return acquire(runDir, conf, ttl, heartbeat, UUID.randomUUID().toString());
  }

  /** As {@link #acquire(Path, Configuration, Duration, Duration)} with a given attempt id (e.g. the Spark application id). */
  public static RunLock acquire(
      Path runDir, Configuration conf, Duration ttl, Duration heartbeat, String attempt)
      throws IOException {
    if (ttl.isNegative()
        || ttl.isZero()
        || heartbeat.isNegative()
        || heartbeat.isZero()
        || heartbeat.compareTo(ttl) >= 0) {
      throw new IllegalArgumentException(
          "RunLock: need 0 < heartbeat < ttl, got heartbeat " + heartbeat + ", ttl " + ttl);
    }
    FileSystem fs = AtomicFiles.withoutChecksumFiles(runDir.getFileSystem(conf));
    Path dir = fs.makeQualified(runDir);
    fs.mkdirs(dir);
    Path file = new Path(dir, FILE_NAME);
    Instant now = Instant.now();
    Owner me = new Owner(hostName(), ProcessHandle.current().pid(), attempt, now, now);
    // a bounded number of rounds: each either wins, is refused, or waits for a takeover in progress
    for (int round = 0; round < MAX_ROUNDS; round++) {
      if (createExclusive(fs, file, me)) {
        LOG.info("run lock {} acquired: {}", file, me.describe());
        return new RunLock(fs, file, me, ttl, heartbeat);
      }
      Observed seen = observe(fs, file);
      if (seen == null) {
        continue; // released between our create and our read: try again
      }
      Duration age = Duration.between(seen.heartbeat(), Instant.now());
      if (age.compareTo(ttl) < 0) {
        throw refusal(file, seen, age, ttl);
      }
      if (!takeOver(fs, file, seen, me, ttl, age)) {
        sleepQuietly(ROUND_PAUSE_MS); // another acquirer is taking it over: wait for its outcome
      }
      // the stale file is gone (ours or another's takeover) or going: race for the free name again
    }
    Observed seen = observe(fs, file);
    if (seen == null) {
      throw new IOException(
          "run lock "
              + file
              + ": could not be created in "
              + MAX_ROUNDS
              + " rounds (the file keeps changing)");
    }
    throw refusal(file, seen, Duration.between(seen.heartbeat(), Instant.now()), ttl);
  }

  /** The lock file. */
  public Path lockFile() {
    return lockFile;
  }

  /** This attempt as written in the lock file. */
  public Owner owner() {
    return owner;
  }

  /** When the heartbeat was last renewed by this process. */
  public Instant lastHeartbeat() {
    return lastHeartbeat;
  }

  /** False once released, or once a heartbeat found the lock file naming another attempt or gone. */
  public boolean isHeld() {
    return held;
  }

  /** Throws unless this process still holds the lock (check before writing checkpoints). */
  public void ensureHeld() throws IOException {
    if (!held) {
      throw new IOException(
          "run lock "
              + lockFile
              + " is no longer held by attempt "
              + owner.attempt()
              + (lostReason == null ? " (released)" : ": " + lostReason));
    }
  }

  /** Stops the heartbeat and deletes the lock file if it still names this attempt. Idempotent. */
  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    heartbeat.shutdownNow();
    try {
      heartbeat.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    boolean wasHeld = held;
    held = false;
    Observed seen = observe(fs, lockFile);
    if (seen != null && seen.owner() != null && owner.attempt().equals(seen.owner().attempt())) {
      fs.delete(lockFile, false);
      LOG.info("run lock {} released", lockFile);
    } else if (wasHeld) {
      LOG.warn(
          "run lock {}: not deleted on release, it no longer names attempt {} (now: {})",
          lockFile,
          owner.attempt(),
          seen == null
              ? "no lock file"
              : seen.owner() == null ? "unreadable" : seen.owner().describe());
    }
  }

  private void beat() {
    if (!held) {
      return;
    }
    try {
      Observed seen = observe(fs, lockFile);
      if (seen == null || seen.owner() == null || !owner.attempt().equals(seen.owner().attempt())) {
        lose(
            seen == null
                ? "the lock file was deleted"
                : seen.owner() == null
                    ? "the lock file became unreadable"
                    : "taken over by " + seen.owner().describe());
        return;
      }
      Instant now = Instant.now();
      rewrite(fs, lockFile, owner.withHeartbeat(now));
      lastHeartbeat = now;
    } catch (IOException | RuntimeException e) {
      // a transient file system error: the next beat tries again; the TTL absorbs a few misses
      LOG.warn("run lock {}: heartbeat failed: {}", lockFile, e.toString());
    }
  }

  private void lose(String reason) {
    if (closed) {
      return;
    }
    lostReason = reason;
    held = false;
    LOG.error("run lock {} lost by attempt {}: {}", lockFile, owner.attempt(), reason);
    heartbeat.shutdown();
  }

  // ---- the file ----

  /** What a reader found: the owner (null if unreadable) and the heartbeat it goes by. */
  record Observed(Owner owner, Instant heartbeat, byte[] raw) {}

  private static RunLockException refusal(Path file, Observed seen, Duration age, Duration ttl) {
    String who =
        seen.owner() == null
            ? "an unreadable lock file (last modified " + seen.heartbeat() + ")"
            : seen.owner().describe();
    return new RunLockException(
        "run folder "
            + file.getParent()
            + " is locked by "
            + who
            + "; last heartbeat "
            + fmt(age)
            + " ago, younger than the TTL of "
            + fmt(ttl)
            + ", so that run is taken to be alive. Lock file: "
            + file
            + ". Stop that run first; if it is dead, wait until its heartbeat is older than the TTL (then it is taken over) or delete the lock file.",
        seen.owner());
  }

  private static boolean createExclusive(FileSystem fs, Path file, Owner me) throws IOException {
    byte[] bytes = encode(me);
    if (fs instanceof RawLocalFileSystem) {
      java.nio.file.Path local = ((RawLocalFileSystem) fs).pathToFile(file).toPath();
      try (OutputStream out =
          Files.newOutputStream(local, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        out.write(bytes);
      } catch (FileAlreadyExistsException e) {
        return false;
      }
      return true;
    }
    try (FSDataOutputStream out = fs.create(file, false)) {
      out.write(bytes);
      out.hflush();
    } catch (org.apache.hadoop.fs.FileAlreadyExistsException e) {
      return false;
    } catch (IOException e) {
      // HDFS reports a name held by a file still being written by another client this way
      if (fs.exists(file)) {
        return false;
      }
      throw e;
    }
    return true;
  }

  /** Replaces the content atomically where the file system allows it (never a half-written file on local disks). */
  private static void rewrite(FileSystem fs, Path file, Owner o) throws IOException {
    byte[] bytes = encode(o);
    if (fs instanceof RawLocalFileSystem) {
      java.nio.file.Path local = ((RawLocalFileSystem) fs).pathToFile(file).toPath();
      java.nio.file.Path tmp = local.resolveSibling(FILE_NAME + ".hb-" + o.attempt());
      Files.write(tmp, bytes);
      Files.move(tmp, local, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return;
    }
    // HDFS: create with overwrite is one namenode operation; readers may briefly see it empty
    // (re-read)
    try (FSDataOutputStream out = fs.create(file, true)) {
      out.write(bytes);
      out.hflush();
    }
  }

  /**
   * Removes a stale lock, under a takeover token ({@code .lock.takeover}, created exclusively like the lock
   * itself) so that of several acquirers that judged the same lock stale only one removes it, and only
   * after re-reading it unchanged: a lock created meanwhile by another acquirer is never removed. Whoever
   * then creates the lock first wins. A token left by a taker that crashed is removed once older than the TTL.
   *
   * @return false when another acquirer holds the token (its takeover is in progress)
   */
  private static boolean takeOver(
      FileSystem fs, Path file, Observed stale, Owner me, Duration ttl, Duration age)
      throws IOException {
    Path token = new Path(file.getParent(), TAKEOVER_FILE_NAME);
    if (!createExclusive(fs, token, me)) {
      Observed t = observe(fs, token);
      if (t != null && Duration.between(t.heartbeat(), Instant.now()).compareTo(ttl) >= 0) {
        fs.delete(token, false); // its taker died mid-takeover
      }
      return false;
    }
    try {
      Observed again = observe(fs, file);
      if (again != null && java.util.Arrays.equals(again.raw(), stale.raw())) {
        fs.delete(file, false);
        LOG.warn(
            "run lock {}: heartbeat of {} is {} old (TTL {}): taken over as stale",
            file,
            stale.owner() == null ? "an unreadable lock" : stale.owner().describe(),
            fmt(age),
            fmt(ttl));
      }
    } finally {
      fs.delete(token, false);
    }
    return true;
  }

  private static void sleepQuietly(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Reads the lock file: null if absent; re-reads a few times while it is unreadable (being rewritten). */
  static Observed observe(FileSystem fs, Path file) throws IOException {
    for (int i = 0; ; i++) {
      FileStatus st;
      byte[] raw;
      try {
        st = fs.getFileStatus(file);
        try (InputStream in = fs.open(file)) {
          raw = in.readAllBytes();
        }
      } catch (FileNotFoundException e) {
        return null;
      }
      Owner o = decode(raw);
      if (o != null) {
        return new Observed(o, o.heartbeat(), raw);
      }
      if (i >= 4) {
        return new Observed(null, Instant.ofEpochMilli(st.getModificationTime()), raw);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return new Observed(null, Instant.ofEpochMilli(st.getModificationTime()), raw);
      }
    }
  }

  static byte[] encode(Owner o) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("host", o.host());
    m.put("pid", o.pid());
    m.put("attempt", o.attempt());
    m.put("started", o.started().toString());
    m.put("heartbeat", o.heartbeat().toString());
    try {
      return (JSON.writeValueAsString(m) + "\n").getBytes(StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  static Owner decode(byte[] raw) {
    try {
      JsonNode n = JSON.readTree(raw);
      if (n == null || !n.hasNonNull("attempt") || !n.hasNonNull("heartbeat")) {
        return null;
      }
      return new Owner(
          n.path("host").asText("?"),
          n.path("pid").asLong(-1),
          n.get("attempt").asText(),
          Instant.parse(n.path("started").asText(n.get("heartbeat").asText())),
          Instant.parse(n.get("heartbeat").asText()));
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** This machine's host name (as written in lock files, metrics and TensorBoard event file names). */
  public static String hostName() {
    try {
      return InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      String h = System.getenv("HOSTNAME");
      return h == null ? "unknown-host" : h;
    }
  }

  static String fmt(Duration d) {
    long ms = d.toMillis();
    if (ms < 0) {
      return "-" + fmt(d.negated());
    }
    if (ms < 10_000) {
      return String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }
    long s = ms / 1000;
    if (s < 120) {
      return s + " s";
    }
    if (s < 7200) {
      return String.format(Locale.ROOT, "%d min %d s", s / 60, s % 60);
    }
    return String.format(Locale.ROOT, "%d h %d min", s / 3600, (s % 3600) / 60);
  }
}
