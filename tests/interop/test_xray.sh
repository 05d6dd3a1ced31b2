#!/usr/bin/env bash
# The genuine Xray-core client (../shared/peers/xray, 25.9.11) through veil-node: every uTLS
# fingerprint Xray offers for REALITY, each with Vision (xtls-rprx-vision) and with no flow, one
# user per pair. Through each: plain TCP, TCP carrying TLS (Vision's direct copy), UDP (XUDP);
# one pair also moves 1 MiB up and 4 MiB down. Each user's counters on the node's admin API must
# equal the origins' bytes plus the datagram payloads, to the byte. One node and one Xray process
# (a socks inbound and an outbound per pair) serve every pair, four pairs at a time.
# "android" (Android 11 OkHttp) and "360" offer no TLS 1.3 with X25519, so REALITY cannot
# authenticate them: Xray-core's own server refuses them too. For those the node must not let
# the client through, book nothing, and keep serving the others.
# "randomized" and "randomizednoalpn" draw one random ClientHello per Xray process; now and then
# the target (OpenSSL) refuses that hello (bad key share) and no REALITY server can complete it.
# So each has a twin outbound in the same process to Xray-core's own REALITY server (same hello):
# the node must succeed exactly when Xray-core does.
source "$(dirname "$0")/support/interop.sh"

FINGERPRINTS="chrome firefox safari ios edge qq random randomized randomizednoalpn"
REFUSED="android 360"
FLOWS="xtls-rprx-vision -"
TWINNED="randomized randomizednoalpn"

start_world
N_PORT=$(free_port) A_PORT=$(free_port)
clients="" cases=() i=0
for fp in $FINGERPRINTS $REFUSED; do
  for flow in $FLOWS; do
    i=$((i + 1))
    uuid=$(printf 'a0000000-0000-4000-8000-%012d' "$i")
    clients+="${clients:+,}{\"id\": \"$uuid\", \"flow\": \"${flow/#-/}\", \"email\": \"xray-$i@interop\"}"
    cases+=("$i,$uuid,$flow,$fp,$(free_port)")
  done
done
node_config "$WORK/node.json" "$clients"
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
X_PORT=$(free_port) twins=() users=()
for c in "${cases[@]}"; do
  IFS=, read -r id uuid flow fp lp <<<"$c"
  [[ " $TWINNED " == *" $fp "* ]] || continue
  twins+=("twin$id,$uuid,$flow,$fp,$(free_port),$X_PORT")
  users+=("$uuid,$flow")
done
python3 "$PT" xray-server "$WORK/xray-server.json" "$X_PORT" "$T_PORT" "$PRIV" "$SID" "$SNI" "${users[@]}"
bg xray-server "$XRAY" run -c "$WORK/xray-server.json"
python3 "$PT" xray-matrix "$WORK/xray.json" "$N_PORT" "$PBK" "$SID" "$SNI" "${cases[@]}" "${twins[@]}"
bg xray "$XRAY" run -c "$WORK/xray.json"
wait_port "$N_PORT"
wait_port "$A_PORT"
wait_port "$X_PORT"
for c in "${cases[@]}" "${twins[@]}"; do wait_port "$(cut -d, -f5 <<<"$c")"; done
# What Xray-core's server makes of this process's random hellos (its twin's local port by id).
declare -A REFERENCE
for t in "${twins[@]}"; do
  IFS=, read -r tag uuid flow fp lp sp <<<"$t"
  if python3 "$PT" transfer "$lp" 127.0.0.1 "$O_PLAIN" 100 100 0 2>/dev/null; then
    REFERENCE[${tag#twin}]=ok
  else
    REFERENCE[${tag#twin}]=refused
  fi
done

jobs=() refused=()
for c in "${cases[@]}"; do
  IFS=, read -r id uuid flow fp lp <<<"$c"
  if [[ " $REFUSED " == *" $fp "* || ${REFERENCE[$id]:-} == refused ]]; then refused+=("$c"); continue; fi
  big=""
  [[ $id == 1 ]] && big=big # chrome with Vision
  jobs+=("$fp-${flow/#-/none}" traffic "$id" "xray-$id@interop" "$lp" 127.0.0.1 $big ";;")
done
run_all 4 "${jobs[@]}"
for c in "${cases[@]}"; do
  IFS=, read -r id uuid flow fp lp <<<"$c"
  [[ " $REFUSED " == *" $fp "* || ${REFERENCE[$id]:-} == refused ]] && continue
  conns=2
  [[ $id == 1 ]] && conns=3
  check_booked "$id" "xray-$id@interop" "$conns"
  ref=""
  [[ -n ${REFERENCE[$id]:-} ]] && ref=" (its hello: ok with Xray-core's server too)"
  ok "xray fp=$fp flow=${flow/#-/none}$ref: TCP, inner TLS, UDP through veil-node; booked to the byte ($BOOKED)"
done

for c in "${refused[@]}"; do
  IFS=, read -r id uuid flow fp lp <<<"$c"
  if python3 "$PT" transfer "$lp" 127.0.0.1 "$O_PLAIN" 100 100 "$id" 2>/dev/null; then
    fail "xray fp=$fp flow=${flow/#-/none} got through (Xray-core's own server refuses it)"
  fi
  [[ $(usage "xray-$id@interop") == "0 0" ]] || fail "xray fp=$fp: refused client booked $(usage "xray-$id@interop")"
  ok "xray fp=$fp flow=${flow/#-/none}: refused (as by Xray-core's server), nothing booked"
done
python3 "$PT" transfer "$(cut -d, -f5 <<<"${cases[0]}")" 127.0.0.1 "$O_PLAIN" 10 10 1 ||
  fail "the node stopped serving after the refused fingerprints"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
  fail "sanitizer reports in the logs above"
fi
echo "xray interop: $((${#cases[@]} - ${#refused[@]})) fingerprint/flow pairs through the node, ${#refused[@]} refused"
