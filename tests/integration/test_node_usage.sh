#!/usr/bin/env bash
# Per-user accounting end to end: byte-exact counters on the admin API for TCP (no flow, Vision,
# Vision with inner TLS = direct copy) and UDP (VLESS UDP, XUDP), read-and-reset, a long transfer
# visible before it ends, the health endpoint, /metrics (strictly parsed: the families exist,
# top-N bounds the per-user series) and the rate limit on probe log lines.
# The origins count the raw TCP payload each way (TLS records included): exactly what the node
# relays for the tunnel.
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
NOBODY=e831381d-6324-4d53-ad4f-8cda48b30811 # not configured
CAROL=f831381d-6324-4d53-ad4f-8cda48b30811  # no flow, from the hub (id 77)
SID=0123456789abcdef
TOKEN=usage-admin-token-0123456789

T_PORT=$(free_port) N_PORT=$(free_port) A_PORT=$(free_port) M_PORT=$(free_port)
OA=$(free_port) OT=$(free_port) OB=$(free_port) E1=$(free_port)
C1=$(free_port) C2=$(free_port) C3=$(free_port) C4=$(free_port) HUB=$(free_port) OC=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
UT="$SUPPORT/usage_tools.py"
bg origin-alice python3 "$UT" origin "$OA" "$WORK/alice.counts"
bg origin-alice-tls python3 "$UT" origin "$OT" "$WORK/alice.counts" tls "$WORK/t.crt" "$WORK/t.key"
bg origin-bob python3 "$UT" origin "$OB" "$WORK/bob.counts"
bg echo python3 "$SUPPORT/udp_tools.py" echo "$E1" "E:"
bg origin-carol python3 "$UT" origin "$OC" "$WORK/carol.counts"
bg hub python3 "$UT" fakehub "$HUB" "$WORK/pushes" 77 "$CAROL" carol@hub

write_node_config "$WORK/node.json" "$N_PORT" "127.0.0.1:$T_PORT" example.com "$PRIV" "$SID" - <<EOF
{
  "log": {"loglevel": "debug"},
  "clients": [{"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"},
              {"id": "$BOB", "flow": "", "email": "bob@example"}],
  "reality": {"maxTimeDiff": 60000},
  "veil": {"workers": 2, "allowPrivateDestinations": true, "udpIdleTimeoutSec": 2,
           "adminListen": "127.0.0.1:$A_PORT", "adminToken": "$TOKEN", "metricsListen": "127.0.0.1:$M_PORT",
           "usageReportSec": 1, "metricsTopUsers": 1,
           "hub": {"url": "http://127.0.0.1:$HUB", "token": "node-token-0123456789", "pollSec": 5, "pushSec": 10}}
}
EOF
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
link() { echo "vless://$1@127.0.0.1:$N_PORT?encryption=none&flow=$2&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"; }
bg client-vision "$VEIL_BIN/veil" client --link "$(link $ALICE xtls-rprx-vision)" --listen "127.0.0.1:$C1"
bg client-plain "$VEIL_BIN/veil" client --link "$(link $BOB '')" --listen "127.0.0.1:$C2"
bg client-nobody "$VEIL_BIN/veil" client --link "$(link $NOBODY '')" --listen "127.0.0.1:$C3"
bg client-carol "$VEIL_BIN/veil" client --link "$(link $CAROL '')" --listen "127.0.0.1:$C4"
for p in $T_PORT $N_PORT $A_PORT $M_PORT $OA $OT $OB $OC $HUB $C1 $C2 $C3 $C4; do wait_port "$p"; done

api() { # api METHOD PATH: body on stdout, fails on a non-200 status
  local code
  code=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$A_PORT$2")
  [ "$code" = 200 ] || fail "$1 $2: HTTP $code $(cat "$WORK/body")"
  cat "$WORK/body"
}
sums() { awk '{u += $1; d += $2} END {printf "%d %d\n", u, d}' "$1"; } # "up down" booked by an origin
field() { # field JSON-TEXT PYTHON-EXPR (j = the parsed document)
  python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}
user_counts() { # user_counts EMAIL: "uplink downlink" since the last reset
  field "$(api GET "/api/v1/usage/$1")" '"%d %d" % (j["user"]["uplink"], j["user"]["downlink"])'
}
wait_counts() { # wait_counts EMAIL "UP DOWN": the tunnels' last bytes are booked when they close
  local i got
  for i in $(seq 1 50); do
    got=$(user_counts "$1")
    [ "$got" = "$2" ] && return 0
    sleep 0.1
  done
  fail "$1: counters say '$got', the origins '$2'"
}
tcp() { python3 "$UT" client "$@" || fail "transfer $*"; }

# 0. Nothing yet: every configured user (file and hub) is listed with zeros; the token is required.
for _ in $(seq 1 50); do
  out=$(api GET /api/v1/usage)
  [ "$(field "$out" 'len(j["users"])')" = 3 ] && break
  sleep 0.1
done
[ "$(field "$out" 'sorted(u["email"] for u in j["users"])')" = "['alice@example', 'bob@example', 'carol@hub']" ] ||
  fail "usage list: $out"
[ "$(field "$out" 'sum(u["uplink"] + u["downlink"] for u in j["users"])')" = 0 ] || fail "not zero: $out"
[ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A_PORT/api/v1/usage")" = 401 ] || fail "no token"
ok "usage list: configured users with zero counters, bearer token required"

# 1. TCP byte-exact: no flow (bob), Vision raw and Vision with inner TLS (direct copy, alice).
tcp "$C2" "$OB" 300000 1000000
tcp "$C2" "$OB" 1 70000
tcp "$C1" "$OA" 250000 800000
tcp "$C1" "$OT" 123457 2000000 0 tls
tcp "$C1" "$OT" 5000 300000 0 tls
grep -q '"event.action":"direct_splice"' "$WORK/node.log" || fail "Vision with inner TLS never went to direct copy"
wait_counts bob@example "$(sums "$WORK/bob.counts")"
ok "no flow TCP: uplink/downlink = the origin's raw bytes ($(sums "$WORK/bob.counts"))"
wait_counts alice@example "$(sums "$WORK/alice.counts")"
ok "Vision TCP (raw and inner TLS with direct copy + splice): exact ($(sums "$WORK/alice.counts"))"
[ "$(field "$(api GET /api/v1/usage/$ALICE)" 'j["user"]["email"]')" = alice@example ] || fail "lookup by id"

# 2. Read-and-reset returns exactly those values and zeroes them; totals stay.
TCP_A=$(sums "$WORK/alice.counts") TCP_B=$(sums "$WORK/bob.counts")
out=$(api POST /api/v1/usage/reset)
got=$(field "$out" '" ".join("%s=%d,%d" % (u["email"], u["uplink"], u["downlink"]) for u in sorted(j["users"], key=lambda u: u["email"]))')
[ "$got" = "alice@example=${TCP_A/ /,} bob@example=${TCP_B/ /,} carol@hub=0,0" ] || fail "reset returned $got"
[ "$(user_counts alice@example)" = "0 0" ] && [ "$(user_counts bob@example)" = "0 0" ] || fail "not zeroed"
[ "$(field "$(api GET /api/v1/usage/bob@example)" '"%d %d" % (j["user"]["total_uplink"], j["user"]["total_downlink"])')" = "$TCP_B" ] ||
  fail "totals changed by the reset"
ok "POST /api/v1/usage/reset returns the values and zeroes them (monotonic totals kept)"

# 3. UDP byte-exact: up = payloads sent, down = payloads echoed ("E:" + payload).
ut() { python3 "$SUPPORT/udp_tools.py" socks "$@"; }
ut "$C2" send 127.0.0.1 "$E1" aaaaaaaaaa expect E:aaaaaaaaaa send 127.0.0.1 "$E1" bbbbbbbbbbbbbbbbbbbb \
  expect E:bbbbbbbbbbbbbbbbbbbb || fail "plain UDP"
ut "$C1" send 127.0.0.1 "$E1" xudp-0123456789 expect E:xudp-0123456789 || fail "XUDP"
wait_counts bob@example "30 34"
wait_counts alice@example "15 17"
ok "UDP (VLESS UDP and XUDP): datagram payload bytes each way, exact"

# Reset of one user, then a long transfer shows while it runs (usageReportSec 1).
out=$(api POST /api/v1/usage/alice@example/reset)
[ "$(field "$out" '"%d %d" % (j["user"]["uplink"], j["user"]["downlink"])')" = "15 17" ] || fail "user reset: $out"
[ "$(user_counts alice@example)" = "0 0" ] || fail "user reset did not zero"
: > "$WORK/alice.counts"
python3 "$UT" client "$C1" "$OA" 1000 6553600 50 > "$WORK/long.out" 2>&1 & LONG=$! # 100 chunks, 5 s
wait_for '[ "$(field "$(api GET /api/v1/usage/alice@example)" "j[\"user\"][\"downlink\"]")" -gt 0 ]' 10 \
  "the long transfer to show in alice's counters"
mid=$(api GET /api/v1/usage/alice@example)
kill -0 "$LONG" 2>/dev/null || fail "the long transfer ended before its counters moved: $mid"
down=$(field "$mid" 'j["user"]["downlink"]')
[ "$down" -gt 0 ] && [ "$down" -lt 6553600 ] || fail "long transfer not visible while it runs: $mid"
[ "$(field "$mid" 'j["user"]["connections"]')" = 1 ] || fail "open tunnel not counted: $mid"
[ "$(field "$(api GET /api/v1/health)" 'j["users_online"]')" = 1 ] || fail "users_online"
wait "$LONG" || fail "long transfer: $(cat "$WORK/long.out")"
wait_counts alice@example "$(sums "$WORK/alice.counts")"
[ "$(field "$(api GET /api/v1/usage/alice@example)" 'j["user"]["connections"]')" = 0 ] || fail "tunnel still counted"
ok "a long transfer shows in the counters as it goes ($down of 6553600 bytes while it ran), exact at the end"

# 4. Health.
h=$(api GET /api/v1/health)
[ "$(field "$h" 'j["status"], j["users"], j["hub"]["enabled"], j["hub"]["revision"], j["hub"]["last_pull"]["ok"], j["version"] != ""')" = "('ok', 3, True, 1, True, True)" ] ||
  fail "health: $h"
ok "GET /api/v1/health: $h"

# 5. A VLESS reject and a probe spray (fallback volume; probe logs are rate-limited). The probing
# guard is off (write_node_config's test limits): past 100 fallbacks it would refuse the spray from
# 127.0.0.1 before REALITY, and the last hello would carry no suppressed count (test_node_probing).
python3 "$UT" client "$C3" "$OB" 10 10 2>/dev/null && fail "unknown user got through"
curl -sk --max-time 10 --resolve "example.com:$N_PORT:127.0.0.1" "https://example.com:$N_PORT/" > "$WORK/probe.out" 2>&1; grep -q s_server "$WORK/probe.out" ||
  fail "probe did not reach the target: $(curl -vsk --max-time 10 --resolve "example.com:$N_PORT:127.0.0.1" "https://example.com:$N_PORT/" 2>&1 | tail -20)"
python3 "$UT" hello-spray "$N_PORT" 200 example.com
sleep 1.2
python3 "$UT" hello-spray "$N_PORT" 1 example.com # a new window: this line carries the suppressed count
wait_for 'grep -q "\"suppressed\":[1-9]" "$WORK/node.log"' 10 "the suppressed count in the log"
lines=$(grep -c '"event.action":"reality_fallback"' "$WORK/node.log" || true)
# At most 20 gated lines per (monotonic) second: a wall-clock second overlaps two windows.
busiest=$(grep '"event.action":"reality_fallback"' "$WORK/node.log" | cut -c16-34 | sort | uniq -c | sort -rn | head -1 |
  awk '{print $1}')
[ "$busiest" -le 40 ] || fail "probe log not rate-limited: $busiest reality_fallback lines in one second"
grep -q '"suppressed":[1-9]' "$WORK/node.log" || fail "no suppressed count in the log"
ok "probe log lines are rate-limited ($lines reality_fallback lines for 202 probes, at most $busiest a second, suppressed counts logged)"

# 6. /metrics parses and has the families; top-N = 1 gives one user's series only.
python3 "$UT" metrics "http://127.0.0.1:$M_PORT/metrics" > "$WORK/metrics.json" || fail "metrics do not parse"
python3 - "$WORK/metrics.json" <<'EOP' 2>&1 || fail "metrics content"
import json, sys
m = json.load(open(sys.argv[1]))
def val(fam, **labels):
    for name, l, v in m[fam]["samples"]:
        if all(l.get(k) == x for k, x in labels.items()):
            return v
    raise SystemExit("%s%r missing" % (fam, labels))
need = ["veil_node_connections_total", "veil_node_closed_total", "veil_reality_outcomes_total",
        "veil_node_vless_rejects_total", "veil_node_bytes_total", "veil_node_fallback_bytes_total",
        "veil_node_udp_tunnels_total", "veil_node_udp_sessions_total", "veil_node_dns_failures_total",
        "veil_node_limit_refusals_total", "veil_node_users_online", "veil_build_info",
        "process_resident_memory_bytes", "process_open_fds", "process_cpu_seconds_total",
        "veil_node_user_bytes_total", "veil_node_log_suppressed_total"]
missing = [f for f in need if f not in m]
if missing:
    raise SystemExit("missing families: %s" % missing)
assert m["veil_node_bytes_total"]["type"] == "counter"
assert val("veil_build_info")== 1 and m["veil_build_info"]["samples"][0][1]["version"]
assert val("veil_node_vless_rejects_total", reason="unknown_user") >= 1, "unknown user not counted"
assert val("veil_reality_outcomes_total", outcome="decrypt_failed") >= 201
assert val("veil_node_fallback_bytes_total", direction="down") > 0
assert val("veil_node_udp_tunnels_total") >= 2 and val("veil_node_udp_sessions_total") >= 2
assert val("veil_node_log_suppressed_total") > 0
assert val("process_resident_memory_bytes") > 1 << 20 and val("process_open_fds") > 3
assert val("process_cpu_seconds_total") > 0
assert val("veil_node_users_online") == 0
users = {l["user"] for _, l, _ in m["veil_node_user_bytes_total"]["samples"]}
assert users == {"alice@example"}, users  # top 1 by total bytes
assert val("veil_node_bytes_total", direction="down") >= val("veil_node_user_bytes_total", user="alice@example", direction="down")
EOP
ok "/metrics parses (strict text-format parser) with every family; top-N 1 = one user's series"

# 7. A hub user's long transfer reaches the hub's usage pushes while it runs (pushSec 10), and
#    the pushes add up to the origin's bytes exactly once the node stops (last push).
hub_bytes() { # "up down" pushed for hub id 77 so far
  python3 -c 'import json, sys
u = d = 0
for line in open(sys.argv[1]):
    for e in json.loads(line)["usage"]:
        if e["id"] == 77:
            u += e["up"]; d += e["down"]
print(u, d)' "$WORK/pushes" 2>/dev/null || echo "0 0"
}
python3 "$UT" client "$C4" "$OC" 5000 9830400 100 > "$WORK/carol.out" 2>&1 & CLONG=$! # 150 chunks, 15 s
seen=
for _ in $(seq 1 140); do
  kill -0 "$CLONG" 2>/dev/null || break
  d=$(hub_bytes | cut -d' ' -f2)
  if [ "$d" -gt 0 ]; then seen=$d; break; fi
  sleep 0.1
done
[ -n "$seen" ] && kill -0 "$CLONG" 2>/dev/null || fail "no usage push for the running transfer ($(hub_bytes))"
wait "$CLONG" || fail "carol's transfer: $(cat "$WORK/carol.out")"
wait_counts carol@hub "$(sums "$WORK/carol.counts")"
[ "$(field "$(api GET /api/v1/usage/carol@hub)" 'j["user"]["hub_id"]')" = 77 ] || fail "hub_id"
ok "a hub user's running transfer is in the hub's usage pushes as it goes ($seen bytes down before it ended)"

kill -TERM "$NODE_PID"
for _ in $(seq 1 150); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE_PID" 2>/dev/null && fail "node did not stop"
[ "$(hub_bytes)" = "$(sums "$WORK/carol.counts")" ] || fail "hub got $(hub_bytes), origin says $(sums "$WORK/carol.counts")"
ok "node stopped; the hub's pushes add up to the hub user's bytes exactly ($(hub_bytes))"
