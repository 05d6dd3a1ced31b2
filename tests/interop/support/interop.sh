# Shared setup of the interoperability tests (tests/interop): the genuine Xray-core and sing-box
# clients, a REALITY target, byte-counting origins, and veil-node with its admin API (usage).
# Source it after setting nothing; it sources the integration tests' lib.sh ($WORK, bg, wait_for,
# skip_all, fail, ok).
source "$(dirname "${BASH_SOURCE[0]}")/../../integration/support/lib.sh"
INTEROP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$INTEROP/../../.." && pwd)
# CI clones the repository next to a copy of shared/ (../shared/peers); a git worktree finds it
# next to a folder holding it; elsewhere it may be absent.
if [[ -z ${VEIL_PEERS:-} ]]; then
  d=$ROOT
  while [[ $d != / && ! -d $d/../shared/peers ]]; do d=$(dirname "$d"); done
  VEIL_PEERS=$d/../shared/peers
fi
PEERS=$VEIL_PEERS
XRAY=$PEERS/xray
SINGBOX=$PEERS/sing-box
[[ -x $XRAY && -x $SINGBOX ]] || skip_all "genuine peers not found in $PEERS (xray, sing-box; set VEIL_PEERS)"
PT="$INTEROP/peer_tools.py"
UT="$SUPPORT/usage_tools.py"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
SID=0123456789abcdef
SNI=example.com
ADMIN_TOKEN=interop-admin-token-0123456789

# start_world: the REALITY target (TLS 1.3 as example.com, peer_tools.py target), a plain and a TLS origin
# (peer_tools.py origin: each connection's case id and raw bytes go to $WORK/counts) and a UDP
# echo answering "E:" + payload. Sets T_PORT, O_PLAIN, O_TLS, E_UDP.
start_world() {
  T_PORT=$(free_port) O_PLAIN=$(free_port) O_TLS=$(free_port) E_UDP=$(free_port)
  openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
    -subj "/CN=$SNI" >/dev/null 2>&1
  bg target python3 "$PT" target "$T_PORT" "$WORK/t.crt" "$WORK/t.key"
  : >"$WORK/counts"
  bg origin-plain python3 "$PT" origin "$O_PLAIN" "$WORK/counts"
  bg origin-tls python3 "$PT" origin "$O_TLS" "$WORK/counts" tls "$WORK/t.crt" "$WORK/t.key"
  bg echo python3 "$SUPPORT/udp_tools.py" echo "$E_UDP" "E:"
  for p in $T_PORT $O_PLAIN $O_TLS; do wait_port "$p"; done
}

# node_config FILE CLIENTS_JSON [EXTRA_VEIL_JSON]: veil-node on $N_PORT with its admin API on
# $A_PORT (the token passed explicitly), usage booked every second, UDP sessions idle after 2 s.
node_config() {
  cat >"$1" <<EOF
{
  "log": {"loglevel": "${VEIL_INTEROP_LOGLEVEL:-warning}"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [$2], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["$SNI"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 2, "allowPrivateDestinations": true, "usageReportSec": 1, "udpIdleTimeoutSec": 2,
           "adminListen": "127.0.0.1:$A_PORT", "adminToken": "$ADMIN_TOKEN"${3:+, $3}}
}
EOF
}

# usage EMAIL: "uplink downlink" the node has booked for the user (admin API).
usage() {
  curl -fsS -H "Authorization: Bearer $ADMIN_TOKEN" "http://127.0.0.1:$A_PORT/api/v1/usage/$1" |
    python3 -c 'import json, sys; u = json.load(sys.stdin)["user"]; print(u["uplink"], u["downlink"])'
}
# traffic ID EMAIL LOCALPORT HOST [big]: through one client proxy, a plain TCP exchange, an
# inner-TLS one (Vision's direct copy when the flow is Vision) and two UDP datagrams labelled
# with the case ID; HOST is how the origins are named to the client (127.0.0.1, or a name the
# node resolves). "big" adds 1 MiB up / 4 MiB down inside TLS. TRAFFIC_UDP=0 leaves UDP out.
traffic() {
  local id=$1 email=$2 lp=$3 host=$4 big=${5:-}
  python3 "$PT" transfer "$lp" "$host" "$O_PLAIN" 3000 50000 "$id" || { echo "$email: plain TCP failed"; return 1; }
  python3 "$PT" transfer "$lp" "$host" "$O_TLS" 2000 70000 "$id" tls || { echo "$email: inner TLS failed"; return 1; }
  if [[ -n $big ]]; then
    python3 "$PT" transfer "$lp" "$host" "$O_TLS" 1048576 4194304 "$id" tls || { echo "$email: 4 MiB failed"; return 1; }
  fi
  [[ ${TRAFFIC_UDP:-1} == 1 ]] || return 0
  python3 "$SUPPORT/udp_tools.py" socks "$lp" send "$host" "$E_UDP" "udp-$id" expect "E:udp-$id" \
    send "$host" "$E_UDP" 0123456789 expect E:0123456789 || { echo "$email: UDP failed"; return 1; }
}
# udp_bytes ID: "up down" payload bytes of traffic's two datagrams.
udp_bytes() { echo "$((${#1} + 4 + 10)) $((${#1} + 6 + 12))"; }

# run_all MAX NAME CMD... (repeated, separated by ";;"): runs the commands MAX at a time, each
# logging to $WORK/job-NAME.out, and fails naming each one that failed, with its output.
run_all() {
  local max=$1; shift
  local names=() pids=() cmd=() p n live
  start_job() { "${cmd[@]:1}" >"$WORK/job-${cmd[0]}.out" 2>&1 & pids+=($!); names+=("${cmd[0]}"); cmd=(); }
  for a in "$@" ";;"; do
    if [[ $a != ";;" ]]; then cmd+=("$a"); continue; fi
    [[ ${#cmd[@]} -gt 0 ]] || continue
    while :; do
      live=0
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && live=$((live + 1)); done
      ((live < max)) && break
      sleep 0.05
    done
    start_job
  done
  local failed=()
  for n in "${!pids[@]}"; do
    wait "${pids[$n]}" || failed+=("${names[$n]}: $(tail -3 "$WORK/job-${names[$n]}.out" | tr '\n' ' ')")
  done
  [[ ${#failed[@]} -eq 0 ]] || fail "$(printf '%s\n' "${failed[@]}")"
}

# check_booked ID EMAIL CONNS: waits for the origins to count the case's CONNS connections, then
# the user's counters on the node must equal those bytes plus the datagram payloads, to the
# byte. Sets BOOKED to the "up down" checked.
check_booked() {
  local id=$1 email=$2 conns=$3 sum want got deadline
  wait_for '[[ $(python3 "$PT" sum "$WORK/counts" "$id" | cut -d" " -f1) -ge $conns ]]' 10 \
    "$email: the origins to count $conns connections"
  sum=$(python3 "$PT" sum "$WORK/counts" "$id")
  local udp="0 0"
  [[ ${TRAFFIC_UDP:-1} != 1 ]] || udp=$(udp_bytes "$id")
  want=$(echo "${sum#* } $udp" | awk '{printf "%d %d\n", $1 + $3, $2 + $4}')
  deadline=$((SECONDS + 10))
  until got=$(usage "$email") && [[ $got == "$want" ]]; do
    ((SECONDS < deadline)) || fail "$email: the node booked '$got', the origins and datagrams say '$want'"
    sleep 0.1
  done
  BOOKED=$want
}

# reference_probe ID LOCALPORT: one small exchange through the case's twin (the same client
# process, Xray-core's own REALITY server); writes "ok" or "refused" to $WORK/ref-ID.
reference_probe() {
  if python3 "$PT" transfer "$2" 127.0.0.1 "$O_PLAIN" 100 100 0 >/dev/null 2>&1; then
    echo ok >"$WORK/ref-$1"
  else
    echo refused >"$WORK/ref-$1"
  fi
}

# fingerprint_matrix CLIENT "FINGERPRINTS" "MUST_WORK": CLIENT (xray or singbox) with every
# fingerprint, Vision and no flow, one user per pair, all in one client process and one node.
# Each pair has a twin outbound in the same process to Xray-core's own REALITY server (random
# fingerprints draw one hello per process, so the twin sends the same one): the node must serve
# a pair exactly when Xray-core serves its twin. Served pairs move plain TCP, TCP carrying TLS
# (Vision's direct copy) and UDP, eight pairs at a time, the first also 1 MiB up / 4 MiB down, and
# each user's counters must equal the origins' bytes plus the datagram payloads, to the byte.
# Refused pairs must get nothing through and book nothing. MUST_WORK lists fingerprints that
# Xray-core's server must accept (so a broken set-up cannot pass as "all refused").
fingerprint_matrix() {
  local client=$1 fingerprints=$2 must_work=$3
  local bin matrix clients="" cases=() twins=() users=() jobs=() refused=() i=0 id uuid flow fp lp c big conns
  case $client in
    xray) bin=$XRAY matrix=xray-matrix ;;
    singbox) bin=$SINGBOX matrix=singbox-matrix ;;
  esac
  start_world
  N_PORT=$(free_port) A_PORT=$(free_port) X_PORT=$(free_port)
  for fp in $fingerprints; do
    for flow in xtls-rprx-vision -; do
      i=$((i + 1))
      uuid=$(printf 'a0000000-0000-4000-8000-%012d' "$i")
      clients+="${clients:+,}{\"id\": \"$uuid\", \"flow\": \"${flow/#-/}\", \"email\": \"$client-$i@interop\"}"
      cases+=("$i,$uuid,$flow,$fp,$(free_port)")
      twins+=("twin$i,$uuid,$flow,$fp,$(free_port),$X_PORT")
      users+=("$uuid,$flow")
    done
  done
  node_config "$WORK/node.json" "$clients"
  bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
  python3 "$PT" xray-server "$WORK/xray-server.json" "$X_PORT" "$T_PORT" "$PRIV" "$SID" "$SNI" "${users[@]}"
  bg xray-server "$XRAY" run -c "$WORK/xray-server.json"
  python3 "$PT" "$matrix" "$WORK/$client.json" "$N_PORT" "$PBK" "$SID" "$SNI" "${cases[@]}" "${twins[@]}"
  bg "$client" "$bin" run -c "$WORK/$client.json"
  for c in $N_PORT $A_PORT $X_PORT; do wait_port "$c"; done
  for c in "${cases[@]}" "${twins[@]}"; do wait_port "$(cut -d, -f5 <<<"$c")"; done

  jobs=()
  for c in "${twins[@]}"; do
    IFS=, read -r id uuid flow fp lp _ <<<"$c"
    jobs+=("$id" reference_probe "${id#twin}" "$lp" ";;")
  done
  run_all "${INTEROP_JOBS:-8}" "${jobs[@]}"
  jobs=()
  for c in "${cases[@]}"; do
    IFS=, read -r id uuid flow fp lp <<<"$c"
    if [[ $(cat "$WORK/ref-$id") != ok ]]; then
      [[ " $must_work " != *" $fp "* ]] || fail "$client fp=$fp: Xray-core's own server refused it (set-up broken?)"
      refused+=("$c")
      continue
    fi
    big=""
    [[ $id != 1 ]] || big=big
    jobs+=("$fp-${flow/#-/none}" traffic "$id" "$client-$id@interop" "$lp" 127.0.0.1 $big ";;")
  done
  run_all "${INTEROP_JOBS:-8}" "${jobs[@]}"
  for c in "${cases[@]}"; do
    IFS=, read -r id uuid flow fp lp <<<"$c"
    [[ $(cat "$WORK/ref-$id") == ok ]] || continue
    conns=2
    [[ $id != 1 ]] || conns=3
    check_booked "$id" "$client-$id@interop" "$conns"
    ok "$client fp=$fp flow=${flow/#-/none}: TCP, inner TLS, UDP through veil-node; booked to the byte ($BOOKED)"
  done
  for c in "${refused[@]}"; do
    IFS=, read -r id uuid flow fp lp <<<"$c"
    if python3 "$PT" transfer "$lp" 127.0.0.1 "$O_PLAIN" 100 100 "$id" 2>/dev/null; then
      fail "$client fp=$fp flow=${flow/#-/none} got through the node; Xray-core's own server refuses it"
    fi
    [[ $(usage "$client-$id@interop") == "0 0" ]] || fail "$client fp=$fp: refused, yet booked $(usage "$client-$id@interop")"
    ok "$client fp=$fp flow=${flow/#-/none}: refused, as Xray-core's server refuses the same hello; nothing booked"
  done
  python3 "$PT" transfer "$(cut -d, -f5 <<<"${cases[0]}")" 127.0.0.1 "$O_PLAIN" 10 10 1 ||
    fail "the node stopped serving after the refused fingerprints"
  if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
    fail "sanitizer reports in the logs above"
  fi
  echo "$client interop: $((${#cases[@]} - ${#refused[@]})) fingerprint/flow pairs served, ${#refused[@]} refused like Xray-core's server"
}
