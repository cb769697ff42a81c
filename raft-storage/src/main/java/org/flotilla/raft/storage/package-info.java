/**
 * File-backed Raft storage: {@link org.flotilla.raft.storage.FileLogStore} (the segmented log with
 * group commit), {@link org.flotilla.raft.storage.FileMetaStore} (term and vote), {@link
 * org.flotilla.raft.storage.FileSnapshotStore} (snapshot files), and {@link
 * org.flotilla.raft.storage.SharedLog} (one write-ahead log for many groups in one process, whose
 * per-group views are called concurrently from different groups' event loops and share one group
 * commit). The log and metadata stores are confined to the node's event loop, except that the log's
 * own sync thread forces the files and reports durability; the snapshot store is thread-safe. Every
 * file starts with a magic number and a format version, every record is checksummed, and an I/O
 * failure is final (fail-stop). Each store locks its directory for its lifetime, so two stores (or
 * two nodes) never write into the same one. The formats and the recovery rules are documented in
 * docs/storage-format.md.
 */
package org.flotilla.raft.storage;
