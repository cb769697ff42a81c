/** File-backed Raft storage: the segmented log, the metadata file and the snapshot files. */
package org.flotilla.raft.storage;
