#!/usr/bin/env bash
# Starts, inspects or stops a local 3-node Flotilla key-value cluster on 127.0.0.1.
#   local-cluster.sh start [FLAG...]
#                             build the jar if missing, start n1..n3, wait for a leader; FLAGs go
#                             to every node started, e.g. --segment-size 65536 --snapshot-threshold
#                             100 for snapshot catch-up (flotilla-kv --help lists them)
#   local-cluster.sh status   show each node's /status
#   local-cluster.sh stop     stop the nodes (SIGTERM, then SIGKILL after 10 s)
# Data and logs live under $FLOTILLA_CLUSTER_DIR (default: <repo>/raft-examples/target/local-cluster).
# Raft listens on 127.0.0.1:7001-7003, HTTP on 127.0.0.1:8001-8003.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
jar="$repo/raft-examples/target/flotilla-kv.jar"
dir="${FLOTILLA_CLUSTER_DIR:-$repo/raft-examples/target/local-cluster}"
ids=(n1 n2 n3)
members="n1=127.0.0.1:7001@127.0.0.1:8001,n2=127.0.0.1:7002@127.0.0.1:8002,n3=127.0.0.1:7003@127.0.0.1:8003"
flags=() # the flags after "start", passed to every node it starts

http_port() { echo $((8000 + ${1#n})); }

alive() {
  local pidfile="$dir/$1.pid"
  [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

leader_of() {
  # Prints the leader a node reports, or nothing.
  curl -s --max-time 2 "http://127.0.0.1:$(http_port "$1")/status" 2>/dev/null |
    sed -n 's/.*"leader":"\([^"]*\)".*/\1/p' || true
}

start() {
  command -v java >/dev/null || { echo "java (17 or later) is required" >&2; exit 1; }
  command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
  if [[ ! -f "$jar" ]]; then
    echo "Building $jar (mvn -q -DskipTests -pl raft-examples -am package) ..."
    (cd "$repo" && mvn -q -DskipTests -pl raft-examples -am package)
  fi
  mkdir -p "$dir"
  for id in "${ids[@]}"; do
    if alive "$id"; then
      echo "$id is already running (pid $(cat "$dir/$id.pid"))"
      continue
    fi
    nohup java -Xmx256m -jar "$jar" --id "$id" --data-dir "$dir/$id" --members "$members" \
      ${flags[@]+"${flags[@]}"} >"$dir/$id.log" 2>&1 &
    echo $! >"$dir/$id.pid"
    echo "started $id (pid $!, HTTP 127.0.0.1:$(http_port "$id"), log $dir/$id.log)"
  done
  echo -n "waiting for a leader "
  local leader=""
  for _ in $(seq 1 60); do
    leader="$(leader_of n1)"
    [[ -n "$leader" ]] && break
    for id in "${ids[@]}"; do
      if ! alive "$id"; then
        echo; echo "$id exited; its log:" >&2; tail -20 "$dir/$id.log" >&2; exit 1
      fi
    done
    echo -n "."
    sleep 0.5
  done
  echo
  if [[ -z "$leader" ]]; then
    echo "no leader after 30 s; see the logs in $dir" >&2
    exit 1
  fi
  echo "leader: $leader"
  cat <<TRY

Try it:
  curl -s -X PUT --data-binary 'hello, raft' http://127.0.0.1:8001/kv/greeting
  curl -s http://127.0.0.1:8002/kv/greeting; echo
  curl -s -X POST -d '{"expect":"hello, raft","value":"bye"}' 'http://127.0.0.1:8003/kv/greeting?cas'
  curl -s 'http://127.0.0.1:8003/kv/greeting?consistency=stale'; echo
  curl -s -X DELETE http://127.0.0.1:8002/kv/greeting
  curl -s http://127.0.0.1:8001/status
  curl -s -X POST 'http://127.0.0.1:8001/leader/transfer?to=n2'

Stop it with: $0 stop
TRY
}

status() {
  for id in "${ids[@]}"; do
    if alive "$id"; then
      echo "$id (pid $(cat "$dir/$id.pid")): $(curl -s --max-time 2 "http://127.0.0.1:$(http_port "$id")/status" || echo 'no answer')"
    else
      echo "$id: not running"
    fi
  done
}

stop() {
  for id in "${ids[@]}"; do
    if alive "$id"; then
      kill "$(cat "$dir/$id.pid")"
    fi
  done
  for id in "${ids[@]}"; do
    for _ in $(seq 1 100); do
      alive "$id" || break
      sleep 0.1
    done
    if alive "$id"; then
      echo "$id did not stop in 10 s; killing it" >&2
      kill -9 "$(cat "$dir/$id.pid")"
    fi
    rm -f "$dir/$id.pid"
    echo "stopped $id"
  done
}

case "${1:-}" in
  start) shift; flags=("$@"); start ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [FLAG...]|stop|status" >&2; exit 2 ;;
esac
