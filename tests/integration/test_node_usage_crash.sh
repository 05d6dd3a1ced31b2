#!/usr/bin/env bash
# Issue 10 item 8: a node killed with -9 keeps the usage it had not pushed yet. Unpushed usage
# is written to stateDir/hub-usage.json every usageReportSec, so after kill -9 mid-transfer and
# a restart the (fake) hub books a finished transfer exactly, the interrupted one minus a few
# seconds at most, and never a byte twice (pushes are counted once per push_id, as veil-hub does).
source "$(dirname "$0")/support/lib.sh"

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
CAROL=f831381d-6324-4d53-ad4f-8cda48b30811 # from the hub (id 77)
SID=0123456789abcdef
T_PORT=$(free_port) N_PORT=$(free_port) HUB=$(free_port) OC=$(free_port) C=$(free_port)
UT="$SUPPORT/usage_tools.py"

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg origin python3 "$UT" origin "$OC" "$WORK/carol.counts"
bg hub python3 "$UT" fakehub "$HUB" "$WORK/pushes" 77 "$CAROL" carol@hub
mkdir -p "$WORK/state"
cat > "$WORK/node.json" <<EOF
{"inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
   "settings": {"clients": [], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
       "privateKey": "$PRIV", "shortIds": ["$SID"]}}}],
 "veil": {"workers": 2, "allowPrivateDestinations": true, "usageReportSec": 1, "stateDir": "$WORK/state",
          "hub": {"url": "http://127.0.0.1:$HUB", "token": "node-token-0123456789", "pollSec": 5, "pushSec": 3600}}}
EOF
start_node() {
  bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
  NODE_PID=$LASTPID
  wait_port "$N_PORT"
}
start_node
LINK="vless://$CAROL@127.0.0.1:$N_PORT?encryption=none&flow=&security=reality&sni=example.com&fp=chrome&pbk=$PBK&sid=$SID&type=tcp#t"
bg client "$VEIL_BIN/veil" client --link "$LINK" --listen "127.0.0.1:$C"
for p in $T_PORT $OC $HUB $C; do wait_port "$p"; done
# the hub's user is installed once the first pull is done
for _ in $(seq 1 100); do python3 "$UT" client "$C" "$OC" 1 1 2>/dev/null && break; sleep 0.1; done
[ -s "$WORK/carol.counts" ] || fail "the hub user never got through"

# A: a finished transfer (the origin counts its bytes exactly)
python3 "$UT" client "$C" "$OC" 300000 3000000 || fail "transfer A"
for _ in $(seq 1 50); do [ "$(wc -l <"$WORK/carol.counts")" -ge 2 ] && break; sleep 0.1; done
read -r A_UP A_DOWN < <(awk '{u += $1; d += $2} END {print u, d}' "$WORK/carol.counts")

# B: a paced download (64 KiB every 100 ms, 30 s); kill -9 the node once B's bytes are on disk
# (or after 5 s, whichever comes first)
python3 "$UT" client "$C" "$OC" 1000 $((64 * 1024 * 300)) 100 >"$WORK/b.out" 2>&1 &
B_PID=$!
on_disk() { # bytes down in stateDir/hub-usage.json (carry + pending), 0 when absent
  python3 - "$WORK/state/hub-usage.json" <<'PY' 2>/dev/null || echo 0
import json, sys
d = json.load(open(sys.argv[1]))
down = sum(e[2] for e in d.get("carry", []))
p = d.get("pending") or {}
down += sum(u["down"] for u in p.get("usage", []))
print(down)
PY
}
end=$((SECONDS + 5))
while (( SECONDS < end )); do (( $(on_disk) > A_DOWN + 1000000 )) && break; sleep 0.1; done
kill -9 "$NODE_PID"
wait "$B_PID" || true
B_GOT=$(sed -n 's/.*downloaded \([0-9]*\) of.*/\1/p' "$WORK/b.out" | tail -1)
[ -n "$B_GOT" ] || fail "transfer B was not interrupted: $(cat "$WORK/b.out")"

# restart, then stop cleanly: the restored usage goes out in the final push
start_node
for _ in $(seq 1 50); do grep -q '"event.action":"hub_sync_started"' "$WORK/node.log" && break; sleep 0.1; done
kill -TERM "$NODE_PID"
for _ in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
read -r H_UP H_DOWN < <(python3 - "$WORK/pushes" <<'PY'
import json, os, sys
seen, up, down = set(), 0, 0
for line in open(sys.argv[1]) if os.path.exists(sys.argv[1]) else []:
    d = json.loads(line)
    if d["push_id"] in seen:
        continue
    seen.add(d["push_id"])
    for e in d["usage"]:
        if e["id"] == 77:
            up += e["up"]
            down += e["down"]
print(up, down)
PY
)
LOST=$((A_DOWN + B_GOT - H_DOWN))
echo "A: $A_UP up / $A_DOWN down; B: $B_GOT down before kill -9; hub booked $H_UP up / $H_DOWN down; lost $LOST"
(( H_DOWN <= A_DOWN + B_GOT )) || fail "booked more than was moved: $H_DOWN > $((A_DOWN + B_GOT))"
(( H_UP >= A_UP && H_DOWN >= A_DOWN )) || fail "the finished transfer A is not fully booked"
# at most ~3 s of B at 640 KiB/s: the report interval plus the save interval plus slack
(( LOST <= 3 * 655360 )) || fail "lost $LOST bytes (more than 3 s of traffic)"
ok "kill -9 lost $LOST bytes of the running transfer; nothing booked twice"
echo "PASS: unpushed usage survives kill -9"
