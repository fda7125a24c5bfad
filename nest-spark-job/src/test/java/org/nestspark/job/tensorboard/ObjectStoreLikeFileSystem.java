package org.nestspark.job.tensorboard;

import java.io.IOException;
import java.io.OutputStream;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.FilterFileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.util.Progressable;

/**
 * The local file system with streams that, like an object store's (s3a), cannot hflush: writers must close
 * files to publish them. Tests use it to drive the writers' object-store path.
 */
public final class ObjectStoreLikeFileSystem extends FilterFileSystem {
  public ObjectStoreLikeFileSystem(FileSystem local) {
    super(local);
  }

  @Override
  public FSDataOutputStream create(
      Path f,
      FsPermission permission,
      boolean overwrite,
      int bufferSize,
      short replication,
      long blockSize,
      Progressable progress)
      throws IOException {
    OutputStream raw =
        fs.create(f, permission, overwrite, bufferSize, replication, blockSize, progress);
    // a plain OutputStream: FSDataOutputStream reports no hflush capability for it
    OutputStream plain =
        new OutputStream() {
          @Override
          public void write(int b) throws IOException {
            raw.write(b);
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            raw.write(b, off, len);
          }

          @Override
          public void close() throws IOException {
            raw.close();
          }
        };
    return new FSDataOutputStream(plain, null);
  }
}
