/** In-memory implementations of the SPI, for tests and single-JVM use. */
package org.flotilla.raft.memory;
