/**
 * Metrics for a running node: {@link org.flotilla.raft.metrics.JmxRaftMetrics}, an implementation
 * of the {@link org.flotilla.raft.spi.RaftMetrics} SPI that publishes each node and each of its
 * peers as JMX MXBeans, with latency and batch-size {@link org.flotilla.raft.metrics.Distribution
 * distributions}.
 */
package org.flotilla.raft.metrics;
