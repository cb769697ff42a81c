#!/usr/bin/env bash
# The cluster benchmark of ../shared/WORKLOAD.md (docs/performance.md): builds the reactor without
# tests, then runs org.flotilla.raft.examples.bench.ClusterBench, which starts a fresh 3-member
# cluster per row (table A of WORKLOAD.md), then table B (one pre-warmed cluster), and prints
# progress lines and the tables.
#
#   raft-examples/bin/bench.sh                 # every row and table B: about 6 minutes
#   QUICK=1 raft-examples/bin/bench.sh         # short windows, for a smoke test (about 1 minute)
#   ROWS=put256,read16 raft-examples/bin/bench.sh   # rows: put1 put16 put256 read16 memory tableB
#   PEERS_RESULTS=/path/to/bench-peers/results raft-examples/bin/bench.sh   # compare and chart
#   SERVER_JVM_ARGS='-XX:StartFlightRecording=filename=/tmp/{id}.jfr' raft-examples/bin/bench.sh
#
# Results: raft-examples/target/bench/results.csv (table A), results-b.csv (table B) and chart.svg.
# Bounded: the whole run is killed after BENCH_TIMEOUT_S seconds (default 900); member JVMs exit
# when the driver goes away, or after their lifetime limit.
set -euo pipefail
cd "$(dirname "$0")/../.."
quick=false
[ "${QUICK:-0}" = 1 ] && quick=true
exec timeout -k 20 "${BENCH_TIMEOUT_S:-900}" mvn -B -P bench -pl raft-examples -am verify \
  -Dbench.quick="$quick" \
  -Dbench.rows="${ROWS:-}" \
  -Dbench.peersResults="${PEERS_RESULTS:-}" \
  -Dbench.serverJvmArgs="${SERVER_JVM_ARGS:-}"
