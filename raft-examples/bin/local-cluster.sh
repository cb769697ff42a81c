#!/usr/bin/env bash
# Starts, inspects or stops a local 3-node Flotilla key-value cluster on 127.0.0.1.
#   local-cluster.sh start [FLAG...]
#                             build the jar if missing, start n1..n3 (and any member added with
#                             join that is not running), wait until every node names the same leader
#                             (at most 30 s); FLAGs go to every node
#                             started, e.g. --segment-size 65536 --snapshot-threshold 100 for
#                             snapshot catch-up (flotilla-kv --help lists them)
#   local-cluster.sh start --shards K [FLAG...]
#                             a sharded cluster instead: five servers n1..n5 and K Raft groups of
#                             three replicas each (placed round-robin), keys hashed to groups; wait
#                             until every group has a leader (at most 60 s). docs/http-api.md,
#                             "Sharded cluster", has its endpoints (move a replica, rebalance)
#   local-cluster.sh join ID  start one more member, ID n4..n9, with --join and ask the leader to
#                             add it (it catches up, then becomes a voter)
#   local-cluster.sh status   show each node's /status
#   local-cluster.sh stop     stop the nodes (SIGTERM, then SIGKILL after 10 s)
# Data and logs live under $FLOTILLA_CLUSTER_DIR (default: <repo>/raft-examples/target/local-cluster):
# each node's console output in <id>.log, its rolling log file (logback) in logs/.
# Raft listens on 127.0.0.1:7001-7003, HTTP on 127.0.0.1:8001-8003 (n4 on 7004 and 8004, ...).
# Every node of a single-group cluster runs with --admin-requests, so the operator tool works against it:
#   raft-examples/bin/flotilla status -m 127.0.0.1:7001
# Every member stores its starting configuration at its first start and refuses another later: n1..n3
# are always started with the same --members, and a joined member always with --join.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
jar="$repo/raft-examples/target/flotilla-kv.jar"
dir="${FLOTILLA_CLUSTER_DIR:-$repo/raft-examples/target/local-cluster}"
ids=(n1 n2 n3)
flags=() # the flags after "start", passed to every node it starts
# A sharded cluster (start --shards K) has five servers; the file "sharded" in $dir says it is one.
sharded=""
if [[ -f "$dir/sharded" ]]; then
  sharded="$(cat "$dir/sharded")"
  ids=(n1 n2 n3 n4 n5)
fi

# The --members list of the servers in ids: n1=127.0.0.1:7001@127.0.0.1:8001,...
members_of() {
  local out="" id
  for id in "${ids[@]}"; do
    out="${out:+$out,}$id=127.0.0.1:$(raft_port "$id")@127.0.0.1:$(http_port "$id")"
  done
  echo "$out"
}

http_port() { echo $((8000 + ${1#n})); }
raft_port() { echo $((7000 + ${1#n})); }

# n1..n3, then the members added with join (those with a data directory).
all_ids() {
  echo "${ids[@]}"
  for d in "$dir"/n[4-9]; do
    [[ -d "$d" && ! " ${ids[*]} " =~ " $(basename "$d") " ]] && basename "$d"
  done
  return 0
}

launch() {
  local id="$1" extra=() admin=(--admin-requests)
  # The flotilla tool operates single groups; a sharded server is operated over HTTP.
  [[ -z "$sharded" ]] || admin=()
  if [[ ! " ${ids[*]} " =~ " $id " ]]; then
    # Added to the running group: no configuration of its own; --members only names the others.
    extra=(--join --raft-address "127.0.0.1:$(raft_port "$id")" --http-address "127.0.0.1:$(http_port "$id")")
  fi
  nohup java -Xmx256m -Dflotilla.log.dir="$dir/logs" -jar "$jar" --id "$id" --data-dir "$dir/$id" --members "$(members_of)" \
    ${admin[@]+"${admin[@]}"} ${extra[@]+"${extra[@]}"} ${flags[@]+"${flags[@]}"} >"$dir/$id.log" 2>&1 &
  echo $! >"$dir/$id.pid"
  echo "started $id (pid $!, HTTP 127.0.0.1:$(http_port "$id"), log $dir/$id.log)"
}

alive() {
  local pidfile="$dir/$1.pid" pid stat
  [[ -f "$pidfile" ]] || return 1
  pid="$(cat "$pidfile")"
  kill -0 "$pid" 2>/dev/null || return 1
  # A killed process that nothing has reaped yet (a zombie) still answers kill -0; on Linux, ask
  # /proc for its state.
  if [[ -r "/proc/$pid/stat" ]]; then
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z ]] || return 1
  fi
  return 0
}

leader_of() {
  # Prints the leader a node reports, or nothing.
  curl -s --max-time 2 "http://127.0.0.1:$(http_port "$1")/status" 2>/dev/null |
    sed -n 's/.*"leader":"\([^"]*\)".*/\1/p' || true
}

role_of() {
  # Prints the role a node reports, or nothing.
  curl -s --max-time 2 "http://127.0.0.1:$(http_port "$1")/status" 2>/dev/null |
    sed -n 's/^{"id":"[^"]*","role":"\([A-Z_]*\)".*/\1/p' || true
}

agreed_leader() {
  # Prints the leader if every running node names the same one and it says it leads, else nothing.
  # A node that has just restarted can still name a leader that is gone; one answer is not enough.
  local seen="" l id
  for id in $(all_ids); do
    alive "$id" || continue
    l="$(leader_of "$id")"
    [[ -n "$l" ]] || return 0
    if [[ -z "$seen" ]]; then
      seen="$l"
    elif [[ "$l" != "$seen" ]]; then
      return 0
    fi
  done
  [[ -n "$seen" ]] && alive "$seen" && [[ "$(role_of "$seen")" == LEADER ]] && echo "$seen"
  return 0
}

start() {
  command -v java >/dev/null || { echo "java (17 or later) is required" >&2; exit 1; }
  command -v curl >/dev/null || { echo "curl is required" >&2; exit 1; }
  if [[ ! -f "$jar" ]]; then
    echo "Building $jar (mvn -B -q -DskipTests -pl raft-examples -am package) ..."
    # -B and style.color=never: no colours or progress output. Some Maven builds (Debian's 3.8)
    # print ANSI reset codes even so; sed drops every escape sequence from the build's output.
    (cd "$repo" && mvn -B -q -Dstyle.color=never -DskipTests -pl raft-examples -am package 2>&1 |
      sed $'s/\e\\[[0-9;]*[A-Za-z]//g')
  fi
  mkdir -p "$dir"
  local k="" i
  for ((i = 0; i < ${#flags[@]}; i++)); do
    case "${flags[$i]}" in
      --shards) k="${flags[$((i + 1))]:-}" ;;
      --shards=*) k="${flags[$i]#--shards=}" ;;
    esac
  done
  if [[ -n "$k" && "$k" != 0 ]]; then
    if [[ -z "$sharded" ]] && compgen -G "$dir/n[1-9]" >/dev/null; then
      echo "$dir holds a single-group cluster: stop it and remove $dir to start a sharded one" >&2
      exit 1
    fi
    echo "$k" >"$dir/sharded"
    sharded="$k"
    ids=(n1 n2 n3 n4 n5)
  elif [[ -n "$sharded" ]]; then
    flags+=(--shards "$sharded")
  fi
  for id in $(all_ids); do
    if alive "$id"; then
      echo "$id is already running (pid $(cat "$dir/$id.pid"))"
      continue
    fi
    launch "$id"
  done
  if [[ -n "$sharded" ]]; then
    await_groups
    return
  fi
  echo -n "waiting for a leader that every node agrees on "
  local leader=""
  for _ in $(seq 1 60); do
    leader="$(agreed_leader)"
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
    echo "no leader that every node agrees on after 30 s; each node's view:" >&2
    status >&2
    echo "see the logs in $dir" >&2
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

Every endpoint, header and status code: docs/http-api.md. Stop it with: $0 stop
TRY
}

# Sharded: waits until every server answers /health with 200 (each group it holds knows a leader).
await_groups() {
  echo -n "waiting until every group of the $sharded has a leader "
  local id ready
  for _ in $(seq 1 120); do
    ready=1
    for id in "${ids[@]}"; do
      if ! alive "$id"; then
        echo; echo "$id exited; its log:" >&2; tail -20 "$dir/$id.log" >&2; exit 1
      fi
      if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$(http_port "$id")/health" 2>/dev/null)" != 200 ]]; then
        ready=""
      fi
    done
    [[ -n "$ready" ]] && break
    echo -n "."
    sleep 0.5
  done
  echo
  if [[ -z "$ready" ]]; then
    echo "some group has no leader after 60 s; each server's view:" >&2
    status >&2
    echo "see the logs in $dir" >&2
    exit 1
  fi
  echo "every group has a leader"
  cat <<TRY

Try it (any server answers for any key; the key's group is served by its leader):
  curl -s -X PUT --data-binary 'hello, shards' http://127.0.0.1:8001/kv/greeting
  curl -s http://127.0.0.1:8004/kv/greeting; echo
  curl -s http://127.0.0.1:8002/shards            # every group: voters, leader, planned leader
  curl -s http://127.0.0.1:8003/status            # the groups server n3 holds
  curl -s -X POST 'http://127.0.0.1:8005/shards/0/move?from=n1&to=n4'
  curl -s -X POST http://127.0.0.1:8001/rebalance

Every endpoint: docs/http-api.md, "Sharded cluster". Stop it with: $0 stop
TRY
}

join() {
  if [[ -n "$sharded" ]]; then
    echo "join does not apply to a sharded cluster: move replicas between its servers (POST /shards/{group}/move)" >&2
    exit 2
  fi
  local id="${1:-}" leader=""
  [[ "$id" =~ ^n[4-9]$ ]] || { echo "usage: $0 join ID (n4..n9)" >&2; exit 2; }
  if alive "$id"; then
    echo "$id is already running (pid $(cat "$dir/$id.pid"))"
    return
  fi
  leader="$(agreed_leader)"
  [[ -n "$leader" ]] || { echo "no leader that every node agrees on: start the cluster first ($0 start), or retry" >&2; exit 1; }
  launch "$id"
  # Any member forwards the change to the leader; it answers once the learner is committed.
  curl -s --max-time 30 -X POST \
    -d "{\"id\":\"$id\",\"raftAddress\":\"127.0.0.1:$(raft_port "$id")\",\"httpAddress\":\"127.0.0.1:$(http_port "$id")\"}" \
    "http://127.0.0.1:$(http_port "$leader")/members"
  echo
  echo "$id joins as a learner and becomes a voter once it has caught up: $0 status"
}

status() {
  for id in $(all_ids); do
    if alive "$id"; then
      echo "$id (pid $(cat "$dir/$id.pid")): $(curl -s --max-time 2 "http://127.0.0.1:$(http_port "$id")/status" || echo 'no answer')"
    else
      echo "$id: not running"
    fi
  done
}

stop() {
  for id in $(all_ids); do
    if alive "$id"; then
      kill "$(cat "$dir/$id.pid")"
    fi
  done
  for id in $(all_ids); do
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
  join) join "${2:-}" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [FLAG...]|join ID|stop|status" >&2; exit 2 ;;
esac
