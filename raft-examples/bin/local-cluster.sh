#!/usr/bin/env bash
# Starts or stops a local 3-node Flotilla key-value cluster.
set -euo pipefail
echo "The key-value cluster example is not built yet (issue: raft-examples)." >&2
echo "Run the test suite with: mvn -B verify" >&2
exit 1
