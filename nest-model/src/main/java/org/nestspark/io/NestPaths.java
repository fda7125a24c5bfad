package org.nestspark.io;

import java.io.File;
import java.net.URI;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.Path;

/**
 * Turns the path strings users write (in manifests, on the command line, in config) into Hadoop
 * {@link Path}s without mangling them.
 *
 * <p>Every file nest-spark reads or writes goes through Hadoop {@code FileSystem}, so a path may be a
 * plain local path ({@code /data/a.wav}, {@code data/a.wav}), a {@code file://} URI or any Hadoop URI
 * ({@code hdfs://nn:8020/corpus/a.flac}, {@code s3a://bucket/a.wav}). Plain paths are taken literally:
 * spaces, {@code #}, {@code %}, {@code +} and non-ASCII characters are part of the file name, never
 * URI syntax ({@code a%20b.wav} is a file whose name contains "%20"). Strings with a scheme are URIs and
 * must be valid ones (percent-encoded where URIs require it).
 *
 * <p>Non-ASCII file names also need a UTF-8 locale in the JVM ({@code sun.jnu.encoding}); {@code bin/nest}
 * and the Spark configuration take care of that (see {@link #jvmCanOpenNonAsciiNames()}).
 */
public final class NestPaths {
  private static final Pattern SCHEME = Pattern.compile("^[A-Za-z][A-Za-z0-9+.-]*:/.*");

  private NestPaths() {}

  /** True when {@code s} starts with a URI scheme such as {@code hdfs:/} or {@code file:/}. */
  public static boolean hasScheme(String s) {
    return SCHEME.matcher(s).matches();
  }

  /**
   * A path typed by a user. Local paths (no scheme) are made absolute against the working directory
   * of this JVM and taken literally.
   */
  public static Path fromUserString(String s) {
    if (s == null || s.isEmpty()) {
      throw new IllegalArgumentException("empty path");
    }
    if (hasScheme(s)) {
      return new Path(URI.create(s));
    }
    return new Path(new File(s).getAbsoluteFile().toURI());
  }

  /**
   * Resolves a path written inside a manifest (docs/nest-numerics.md §2, {@code get_full_path}): URIs and absolute paths
   * are used as given (an absolute path stays on the manifest's own file system, as in Hadoop);
   * relative paths are resolved against the manifest's folder.
   */
  public static Path resolveAgainst(Path manifest, String s) {
    if (hasScheme(s)) {
      return new Path(URI.create(s));
    }
    URI base = manifest.toUri();
    if (s.startsWith("/")) {
      return new Path(base.getScheme(), base.getAuthority(), s);
    }
    Path parent = manifest.getParent();
    URI p = parent.toUri();
    String dir = p.getPath().endsWith("/") ? p.getPath() : p.getPath() + "/";
    return new Path(p.getScheme(), p.getAuthority(), dir + s);
  }

  /** True when this JVM can open files whose names contain non-ASCII characters. */
  public static boolean jvmCanOpenNonAsciiNames() {
    String enc = System.getProperty("sun.jnu.encoding", "");
    return enc.equalsIgnoreCase("UTF-8") || enc.equalsIgnoreCase("UTF8");
  }

  /** A human-readable form of a path for messages: the decoded path for local files, the URI otherwise. */
  public static String display(Path p) {
    URI u = p.toUri();
    if (u.getScheme() == null || "file".equals(u.getScheme())) {
      return u.getPath();
    }
    return p.toString();
  }
}
