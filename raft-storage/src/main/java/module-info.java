/** File-backed durable stores for Flotilla: the log, the term and vote, and snapshots. */
module org.flotilla.raft.storage {
  requires transitive org.flotilla.raft;

  exports org.flotilla.raft.storage;
}
