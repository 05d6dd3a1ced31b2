#!/usr/bin/env bash
# Mux.Cool TCP sub-connections with the genuine Xray-core client (the "Mux" switch of
# v2rayN/v2rayNG): `"mux": {"enabled": true, "concurrency": 8}`, a no-flow user, its socks
# inbound. Parallel HTTP requests, a 10 MiB download and a 3 MiB upload with SHA-256 checks,
# XUDP through the same client, per-user usage on the admin API equal to the origin's bytes, and
# one VLESS connection carrying many sub-connections; a Vision user's Mux TCP is refused as Xray
# refuses it, its XUDP works. Needs ../shared/peers/xray (VEIL_PEERS).
source "$(dirname "$0")/support/lib.sh"

# ../shared/peers next to the checkout (or next to a folder holding it, e.g. a git worktree's).
if [ -z "${VEIL_PEERS:-}" ]; then
  d=$(cd "$(dirname "$0")/../.." && pwd)
  while [ "$d" != / ] && [ ! -d "$d/../shared/peers" ]; do d=$(dirname "$d"); done
  VEIL_PEERS=$d/../shared/peers
fi
PEERS=$VEIL_PEERS
XRAY=$PEERS/xray
if [ ! -x "$XRAY" ]; then
  echo "SKIP: no genuine Xray-core client at $XRAY (set VEIL_PEERS)"
  exit 77
fi

PRIV=QOyxSt5OQVCUqKrY-3aQSNz9AQFNdaJGUZT_BGo9xGo
PBK=DSq0yhV0bV8V0tbefu3uprYCDlHlld9IWGUtXtW413M
BOB=c831381d-6324-4d53-ad4f-8cda48b30811   # no flow
CAROL=f831381d-6324-4d53-ad4f-8cda48b30811 # no flow: only the byte-counted transfers
ALICE=b831381d-6324-4d53-ad4f-8cda48b30811 # Vision: Mux may carry UDP only (spec/vless.md §7)
SID=0123456789abcdef
TOKEN=mux-admin-token-0123456789

T_PORT=$(free_port) N_PORT=$(free_port) A_PORT=$(free_port) H_PORT=$(free_port) O_PORT=$(free_port)
M_PORT=$(free_port) E_PORT=$(free_port) S_PORT=$(free_port) S2_PORT=$(free_port) S3_PORT=$(free_port) K_PORT=$(free_port)

openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
UT="$SUPPORT/usage_tools.py"
bg origin python3 "$UT" origin "$O_PORT" "$WORK/origin.counts"
bg echo python3 "$SUPPORT/udp_tools.py" echo "$E_PORT" "E:"
# A destination that accepts and reads nothing until $WORK/release exists, then reads to EOF and
# appends the byte count to $WORK/sink.counts ("accepted" lines mark each connection).
bg sink python3 -c 'import os, socket, sys, threading, time
work = sys.argv[2]
def serve(c):
    with open(work + "/sink.accepted", "a") as f:
        f.write("accepted\n")
    while not os.path.exists(work + "/release"):
        time.sleep(0.05)
    n = 0
    while True:
        d = c.recv(1 << 16)
        if not d:
            break
        n += len(d)
    with open(work + "/sink.counts", "a") as f:
        f.write("%d\n" % n)
    c.close()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", int(sys.argv[1])))
ls.listen(16)
while True:
    threading.Thread(target=serve, args=(ls.accept()[0],), daemon=True).start()' "$K_PORT" "$WORK"

cat > "$WORK/node.json" <<EOF
{
  "log": {"loglevel": "debug", "access": "$WORK/access.log"},
  "inbounds": [{
    "listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [{"id": "$BOB", "flow": "", "email": "bob@example"},
                             {"id": "$CAROL", "flow": "", "email": "carol@example"},
                             {"id": "$ALICE", "flow": "xtls-rprx-vision", "email": "alice@example"}], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"], "maxTimeDiff": 60000}}
  }],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 1, "allowPrivateDestinations": true, "usageReportSec": 1,
           "adminListen": "127.0.0.1:$A_PORT", "adminToken": "$TOKEN", "metricsListen": "127.0.0.1:$M_PORT"}
}
EOF
xray_config() { # xray_config FILE SOCKS_PORT USER_ID [FLOW]
  cat > "$1" <<EOF
{
  "log": {"loglevel": "warning"},
  "inbounds": [{"listen": "127.0.0.1", "port": $2, "protocol": "socks",
                "settings": {"auth": "noauth", "udp": true, "ip": "127.0.0.1"}}],
  "outbounds": [{
    "protocol": "vless",
    "settings": {"vnext": [{"address": "127.0.0.1", "port": $N_PORT,
                            "users": [{"id": "$3", "encryption": "none", "flow": "${4:-}"}]}]},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"serverName": "example.com", "fingerprint": "chrome", "publicKey": "$PBK",
                          "shortId": "$SID"}},
    "mux": {"enabled": true, "concurrency": 8}
  }]
}
EOF
}
xray_config "$WORK/xray-bob.json" "$S_PORT" "$BOB"
xray_config "$WORK/xray-carol.json" "$S2_PORT" "$CAROL"
xray_config "$WORK/xray-alice.json" "$S3_PORT" "$ALICE" xtls-rprx-vision
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
NODE_PID=$LASTPID
bg xray-bob "$XRAY" run -c "$WORK/xray-bob.json"
bg xray-carol "$XRAY" run -c "$WORK/xray-carol.json"
bg xray-alice "$XRAY" run -c "$WORK/xray-alice.json"
for p in $T_PORT $N_PORT $A_PORT $H_PORT $S_PORT $S2_PORT $S3_PORT; do wait_port "$p"; done
wait_port "$K_PORT" # its probe connection is one "accepted" line (and a 0 count on release)

api() { # api METHOD PATH: body on stdout, fails on a non-200 status
  local code
  code=$(curl -sS -o "$WORK/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$A_PORT$2")
  [ "$code" = 200 ] || fail "$1 $2: HTTP $code $(cat "$WORK/body")"
  cat "$WORK/body"
}
field() { python3 -c 'import json, sys; j = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }
user_counts() { field "$(api GET /api/v1/usage/$1)" '"%d %d" % (j["user"]["uplink"], j["user"]["downlink"])'; }
sums() { awk '{u += $1; d += $2} END {printf "%d %d\n", u, d}' "$1"; }
get() { curl -sS --max-time 60 -x "socks5h://127.0.0.1:$S_PORT" "$@"; }
opened() { grep -c '"event.action":"mux_tcp_open"' "$WORK/node.log" || true; }

# 1. Parallel HTTP requests: every one answered, over Mux sub-connections.
N=12
gets=()
for i in $(seq 1 $N); do
  get -o "$WORK/hello.$i" "http://127.0.0.1:$H_PORT/hello" & gets+=($!)
done
for p in "${gets[@]}"; do wait "$p" || true; done
answered=0
for i in $(seq 1 $N); do
  [ "$(cat "$WORK/hello.$i" 2>/dev/null)" = "hello through the tunnel" ] && answered=$((answered + 1))
done
[ "$answered" = "$N" ] || fail "$answered of $N parallel requests answered"
[ "$(opened)" -ge "$N" ] || fail "the node opened $(opened) Mux TCP sub-connections for $N requests"
ok "$answered/$N parallel HTTP requests answered through Mux sub-connections"

# 2. A 10 MiB download and a 3 MiB upload, checked by SHA-256.
SIZE=10485760
get -D "$WORK/dl.head" -o "$WORK/dl.bin" "http://127.0.0.1:$H_PORT/bytes/$SIZE" || fail "download"
want=$(tr -d '\r' < "$WORK/dl.head" | awk -F': ' 'tolower($1) == "x-sha256" {print $2}')
have=$(sha256sum "$WORK/dl.bin" | cut -d' ' -f1)
[ "$(stat -c %s "$WORK/dl.bin")" = "$SIZE" ] && [ -n "$want" ] && [ "$want" = "$have" ] ||
  fail "download: $(stat -c %s "$WORK/dl.bin") bytes, sha256 $have, origin says $want"
ok "10 MiB download, sha256 $have"
head -c 3145728 /dev/urandom > "$WORK/up.bin"
got=$(get --data-binary @"$WORK/up.bin" -H 'Content-Type: application/octet-stream' "http://127.0.0.1:$H_PORT/sink")
[ "$got" = "3145728 $(sha256sum "$WORK/up.bin" | cut -d' ' -f1)" ] || fail "upload: origin got '$got'"
ok "3 MiB upload, sha256 checked by the origin"

# 3. XUDP through the same client still works.
python3 "$SUPPORT/udp_tools.py" socks "$S_PORT" send 127.0.0.1 "$E_PORT" xudp-through-mux \
  expect E:xudp-through-mux || fail "XUDP"
ok "XUDP through the Mux client"

# 4. Per-user usage: carol's parallel byte-counted transfers (her client's only traffic) over one
#    Mux tunnel; the admin API must say exactly what the origin saw each way.
[ "$(user_counts carol@example)" = "0 0" ] || fail "carol has usage before moving anything"
tp=()
python3 "$UT" client "$S2_PORT" "$O_PORT" 300000 1000000 > "$WORK/t1.out" 2>&1 & tp+=($!)
python3 "$UT" client "$S2_PORT" "$O_PORT" 1 2500000 > "$WORK/t2.out" 2>&1 & tp+=($!)
python3 "$UT" client "$S2_PORT" "$O_PORT" 700000 3 > "$WORK/t3.out" 2>&1 & tp+=($!)
python3 "$UT" client "$S2_PORT" "$O_PORT" 65536 65536 > "$WORK/t4.out" 2>&1 & tp+=($!)
for p in "${tp[@]}"; do wait "$p" || fail "transfer: $(cat "$WORK"/t*.out)"; done
want=$(sums "$WORK/origin.counts")
for _ in $(seq 1 100); do
  [ "$(user_counts carol@example)" = "$want" ] && break
  sleep 0.1
done
[ "$(user_counts carol@example)" = "$want" ] || fail "usage says '$(user_counts carol@example)', the origin '$want'"
bob=$(user_counts bob@example)
[ "${bob% *}" -gt 3145728 ] && [ "${bob#* }" -gt "$SIZE" ] || fail "bob's usage ($bob) is less than his upload / download"
ok "per-user usage equals the origin's bytes over 4 parallel sub-connections ($want); bob's: $bob"

# 5. All of it went over a few VLESS connections (Mux), not one per request.
tunnels=$(grep -c '"event.action":"tunnel"' "$WORK/access.log" || true)
subs=$(grep -c '"event.action":"tcp_session"' "$WORK/access.log" || true)
[ "$subs" -ge $((N + 6)) ] && [ "$tunnels" -lt "$subs" ] || fail "$subs Mux TCP sub-connections over $tunnels tunnels"
ok "$subs TCP sub-connections over $tunnels VLESS connections"

# 6. Backpressure as Xray's server shows it, through the genuine client: a sub-connection whose
#    destination reads nothing holds a bounded buffer. Below the bound the other sub-connections
#    go on; beyond it the tunnel stops being read (so a new request behind it waits), and once
#    the destination reads, everything completes and no byte is lost. Carol's client: one Mux
#    connection so far, so the request below shares the stalled one's tunnel.
get2() { curl -sS --max-time 60 -x "socks5h://127.0.0.1:$S2_PORT" "$@"; }
upload() { # upload BYTES PROGRESSFILE: SOCKS5 through carol's client to the sink, then close
  python3 -c 'import socket, struct, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"\x05\x01\x00"); assert s.recv(2) == b"\x05\x00"
s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", int(sys.argv[2])))
r = b""
while len(r) < 10:
    r += s.recv(10 - len(r))
assert r[1] == 0, r
left, block, sent = int(sys.argv[3]), b"k" * 65536, 0
while left:
    n = s.send(block[:min(left, len(block))])
    left -= n; sent += n
    open(sys.argv[4], "w").write(str(sent))
s.close()' "$S2_PORT" "$K_PORT" "$1" "$2"
}
accepted() { wc -l < "$WORK/sink.accepted" 2>/dev/null || echo 0; }
base=$(accepted)
upload 200000 "$WORK/up1.progress" & U1=$!
for _ in $(seq 1 100); do [ "$(accepted)" -gt "$base" ] && [ "$(cat "$WORK/up1.progress" 2>/dev/null)" = 200000 ] && break; sleep 0.1; done
[ "$(accepted)" -gt "$base" ] || fail "the stalled destination was never connected"
[ "$(get2 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] ||
  fail "a request behind a 200 kB stalled upload (under the bound) was not answered"
ok "a stalled destination holding 200 kB does not stop the other sub-connections"
BIG=100663296 # 96 MiB: more than the sub-connection's buffer, every socket buffer and Xray's own
upload "$BIG" "$WORK/up2.progress" & U2=$!
last=-1 same=0 # wait until the upload, well under way, stops advancing: the tunnel is not read
for _ in $(seq 1 600); do # 2 s without progress: the pipeline is stuck, not just slow
  now=$(cat "$WORK/up2.progress" 2>/dev/null || echo 0)
  if [ "$now" = "$last" ]; then same=$((same + 1)); else same=0; last=$now; fi
  [ "$same" -ge 20 ] && [ "$last" -ge 1048576 ] && break
  sleep 0.1
done
[ "$same" -ge 20 ] && [ "$last" -lt "$BIG" ] || fail "the 96 MiB upload to a destination that reads nothing was not held back ($last bytes sent)"
if get2 --max-time 3 "http://127.0.0.1:$H_PORT/hello" >/dev/null 2>&1; then
  fail "a request behind a stalled tunnel was answered: the sub-connection buffer is not bounded"
fi
touch "$WORK/release"
wait "$U1" && wait "$U2" || fail "the uploads did not finish once the destination read"
sunk() { grep -qx "$1" "$WORK/sink.counts" 2>/dev/null; }
for _ in $(seq 1 200); do sunk 200000 && sunk "$BIG" && break; sleep 0.1; done
sunk 200000 && sunk "$BIG" || fail "the sink got $(tr '\n' ' ' < "$WORK/sink.counts"), not 200000 and $BIG"
[ "$(get2 "http://127.0.0.1:$H_PORT/hello")" = "hello through the tunnel" ] || fail "no request after the stall"
metric() { curl -sS "http://127.0.0.1:$M_PORT/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
[ "$(metric veil_node_mux_stalls_total)" -ge 1 ] || fail "the stall is not in veil_node_mux_stalls_total"
[ "$(metric veil_node_mux_tcp_sessions_total)" -ge $((N + 6)) ] || fail "veil_node_mux_tcp_sessions_total: $(metric veil_node_mux_tcp_sessions_total)"
ok "beyond the bound the tunnel stops ($last of $BIG bytes sent, a new request waits); released, every byte arrives"

# 7. Xray's rules for which flows may use Mux: the same client with a Vision user sends its TCP
#    through Mux too; like an Xray server, the node closes that connection ("unexpected network"),
#    while the user's XUDP through Mux works.
closed_before=$(grep -c '"reason":"flow"' "$WORK/node.log" || true)
if curl -sS --max-time 10 -x "socks5h://127.0.0.1:$S3_PORT" -o "$WORK/vision.out" "http://127.0.0.1:$H_PORT/hello" 2>/dev/null &&
  [ -s "$WORK/vision.out" ]; then
  fail "a Vision user's Mux TCP sub-connection was served: $(cat "$WORK/vision.out")"
fi
for _ in $(seq 1 50); do
  [ "$(grep -c '"reason":"flow"' "$WORK/node.log" || true)" -gt "$closed_before" ] && break
  sleep 0.1
done
[ "$(grep -c '"reason":"flow"' "$WORK/node.log" || true)" -gt "$closed_before" ] || fail "no flow close for the Vision Mux TCP"
python3 "$SUPPORT/udp_tools.py" socks "$S3_PORT" send 127.0.0.1 "$E_PORT" vision-xudp expect E:vision-xudp ||
  fail "Vision XUDP through Mux"
ok "Vision user: Mux TCP closes the connection (as Xray), XUDP through Mux works"

# 8. The node stops cleanly with Mux tunnels open (sanitizer builds report leaks at exit).
kill -TERM "$NODE_PID"
for _ in $(seq 1 150); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$NODE_PID" 2>/dev/null && fail "node did not stop"
if grep -q "Sanitizer" "$WORK/node.log"; then fail "sanitizer report: $(grep -A20 Sanitizer "$WORK/node.log" | head -40)"; fi
ok "node stopped with Mux tunnels open, no sanitizer report"
