# Shared helpers for integration scripts: temp dir, free ports, process cleanup, waits.
# Source it; it sets $WORK and a trap that kills everything started with `bg`.
set -euo pipefail
VEIL_BIN=${VEIL_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)/build/asan/bin}
SUPPORT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$(mktemp -d /tmp/veil-it.XXXXXX)
PIDS=()
SKIPPED=()
cleanup() {
  local rc=$?
  if [ $rc -eq 0 ] && [ ${#SKIPPED[@]} -gt 0 ]; then
    printf 'SKIPPED part: %s\n' "${SKIPPED[@]}"
    rc=77
  fi
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    echo "---- logs ($WORK) ----"
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "== $f"; tail -30 "$f"; }; done
  fi
  [ -n "${VEIL_KEEP_WORK:-}" ] && echo "kept $WORK" || rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
# bg LOGNAME cmd...: starts a background process, remembers its pid in $LASTPID.
bg() { local log=$1; shift; "$@" >"$WORK/$log.log" 2>&1 & LASTPID=$!; PIDS+=("$LASTPID"); }
free_port() { python3 "$(dirname "${BASH_SOURCE[0]}")/free_port.py"; }
# start_client VAR LOG LINK [BINDIP]: a `veil client` (SOCKS5) on a free port; VAR = that port.
# Not "$(...)": bg inside a command substitution records the PID in the subshell's PIDS, so
# cleanup would never stop that client.
start_client() {
  local port; port=$(free_port)
  bg "$2" "$VEIL_BIN/veil" client --link "$3" --listen "127.0.0.1:$port" ${4:+--bind "$4"}
  wait_port "$port" >/dev/null
  printf -v "$1" %s "$port"
}
wait_port() { # wait_port PORT [seconds]
  local i
  for i in $(seq 1 $((${2:-10} * 20))); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "port $1 did not open"; return 1
}
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok - $*"; }
# A test that cannot run here is reported as skipped (exit 77, ctest's SKIP_RETURN_CODE), never
# as passed. skip_all REASON: nothing can run. skip_part REASON: the rest still runs, and the
# script then exits 77 instead of 0.
skip_all() { echo "SKIP: $*"; exit 77; }
skip_part() { echo "SKIP: $*"; SKIPPED+=("$*"); }
source "$SUPPORT/wait.sh"
# write_node_config OUT PORT TARGET SNI PRIVATE_KEY SHORT_ID [OVERLAY_JSON...]: a veil-node config with
# one REALITY inbound and the tests' limits (the probing guard off: see node_config.py for why),
# the overlays merged over it ({"veil": {...}, "clients": [...], "reality": {...}, "log": ...}).
write_node_config() { python3 "$SUPPORT/node_config.py" "$@"; }
