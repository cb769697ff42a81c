/**
 * The public API of Flotilla: {@code RaftNode}, its builder and options, the {@code StateMachine}
 * callback, read consistency levels, results, status and exceptions.
 */
package org.flotilla.raft;
