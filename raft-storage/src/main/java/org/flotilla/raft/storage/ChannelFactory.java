package org.flotilla.raft.storage;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;

/**
 * Opens the file channels the stores write through. Injectable (package-private) so that tests can
 * hand in a channel whose {@code write} or {@code force} fails.
 */
@FunctionalInterface
interface ChannelFactory {

  /** The real file system. */
  ChannelFactory DEFAULT = FileChannel::open;

  /**
   * Opens a channel.
   *
   * @param path the file
   * @param options how to open it
   * @return the channel
   * @throws IOException if it cannot be opened
   */
  FileChannel open(Path path, OpenOption... options) throws IOException;
}
