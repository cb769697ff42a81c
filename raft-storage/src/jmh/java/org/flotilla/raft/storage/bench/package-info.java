/**
 * JMH benchmarks of the file storage, compiled and run only in the {@code jmh} profile (see
 * docs/performance.md). Each benchmark owns its threads and directories.
 */
package org.flotilla.raft.storage.bench;
