/**
 * Who is in a Raft group: {@link org.flotilla.raft.cluster.Member members}, the {@link
 * org.flotilla.raft.cluster.Configuration configuration} of voters and learners (joint during a
 * change), and the {@link org.flotilla.raft.cluster.Role role} a member plays. Values shared by the
 * API, the storage and transport SPIs and the protocol core; all immutable.
 */
package org.flotilla.raft.cluster;
