#!/usr/bin/env bash
# TLS on the node <-> hub link (issue 16 item 3), with a throwaway CA made here by openssl: the
# hub serves HTTPS itself (api.tls); the node's sync client (node/hubsync.c through
# tests/tools/hubsync_probe) pulls users with the hub's key pinned (hub.pin) and with the CA file,
# presenting its client certificate (mutual TLS: node routes answer 403 without one); the same
# client refuses a hub presenting another certificate (a self-signed one for the same names),
# by pin and by CA; a key file readable by others stops the hub at start.
source "$(dirname "$0")/support/lib.sh"
PROBE=$VEIL_BIN/hubsync_probe
[[ -x $PROBE ]] || fail "missing $PROBE"
command -v openssl >/dev/null || skip_all "openssl not installed"
cd "$WORK"

ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"; }
openssl req -x509 $(ec) -keyout ca.key -out ca.crt -days 2 -subj /CN=veil-test-ca 2>/dev/null
sign() { # sign NAME CN EXT
  openssl req $(ec) -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" >"$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 2 -extfile "$1.ext" 2>/dev/null
  chmod 600 "$1.key"
}
sign hub localhost "subjectAltName=DNS:localhost,IP:127.0.0.1"
sign node node-1 "extendedKeyUsage=clientAuth"
openssl req -x509 $(ec) -keyout evil.key -out evil.crt -days 2 -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
chmod 600 evil.key
pin() { echo "sha256//$(openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"; }
PIN=$(pin hub.crt)
[ "$PIN" != "$(pin evil.crt)" ] || fail "two keys with one pin"

PORT=$(free_port)
PORT2=$(free_port)
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
hubcfg() { # hubcfg NAME PORT CERT KEY EXTRA
  cat >"$1.json" <<JSON
{"listen": "127.0.0.1", "port": $2, "threads": 2, "database": "sqlite:$WORK/$1.db", "admin_token": "$BOOT",
 "fleet": {"dead_after": 0, "probe_interval": 0},
 "api": {"tls": {"cert_file": "$WORK/$3", "key_file": "$WORK/$4"$5}}}
JSON
}
hubcfg hub "$PORT" hub.crt hub.key ", \"client_ca_file\": \"$WORK/ca.crt\""
hubcfg evil "$PORT2" evil.crt evil.key ""

# A key others may read is refused at start.
chmod 644 hub.key
rc=0; timeout 10 "$VEIL_BIN/veil-hub" -c hub.json >refused.log 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q tls_key_exposed refused.log || fail "a world-readable key was accepted (rc $rc)"
chmod 600 hub.key
ok "hub key file mode 0644: refused at start (tls_key_exposed)"

bg hub "$VEIL_BIN/veil-hub" -c hub.json
wait_port "$PORT"
bg evil "$VEIL_BIN/veil-hub" -c evil.json
wait_port "$PORT2"
H=https://127.0.0.1:$PORT
api() { curl -fsS --cacert ca.crt -X "$1" "$H$2" -H "Authorization: Bearer $BOOT" -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
curl -fsS --cacert ca.crt "$H/healthz" >/dev/null || fail "the hub does not answer HTTPS with the CA's certificate"
curl -sS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && fail "plain HTTP answered on the TLS port"
ok "veil-hub serves HTTPS itself (api.tls), verified with the throwaway CA; plain HTTP refused"
USER_ID=$(api POST /api/v1/users '{"username":"alice"}' | jget "['id']")
PLAN_ID=$(api POST /api/v1/plans '{"name":"M","duration_days":30,"prices":{"RUB":100}}' | jget "['id']")
api POST /api/v1/subscriptions "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID}" >/dev/null
NODE_TOKEN=$(api POST /api/v1/nodes '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}' | jget "['token']")

code=$(curl -sS -o body -w '%{http_code}' --cacert ca.crt -H "Authorization: Bearer $NODE_TOKEN" "$H/api/v1/node/users?since=0")
[ "$code" = 403 ] && grep -q client_certificate_required body || fail "node route without a client certificate: $code $(cat body)"
code=$(curl -sS -o body -w '%{http_code}' --cacert ca.crt --cert evil.crt --key evil.key -H "Authorization: Bearer $NODE_TOKEN" "$H/api/v1/node/users?since=0" 2>/dev/null || true)
[ "$code" != 200 ] || fail "a client certificate from another CA was accepted"
code=$(curl -sS -o body -w '%{http_code}' --cacert ca.crt --cert node.crt --key node.key -H "Authorization: Bearer $NODE_TOKEN" "$H/api/v1/node/users?since=0")
[ "$code" = 200 ] || fail "node route with the node's certificate: $code $(cat body)"
ok "mutual TLS: node sync 403 without a client certificate, refused with a foreign one, 200 with the node's"

probe() { # probe URL STATE [env...] -> exit code; output in probe.out
  env "${@:3}" "$PROBE" "$1" "$NODE_TOKEN" "$2" >probe.out 2>&1
}
probe "$H" pinned.json VEIL_HUB_PIN="$PIN" VEIL_HUB_CERT="$WORK/node.crt" VEIL_HUB_KEY="$WORK/node.key" ||
  fail "pinned sync: $(tail -5 probe.out)"
grep -q "^user " probe.out || fail "no user installed over the pinned link: $(cat probe.out)"
ok "node sync over HTTPS with the hub's key pinned (hub.pin) and a client certificate: users installed"
probe "$H" ca.json VEIL_HUB_CA="$WORK/ca.crt" VEIL_HUB_CERT="$WORK/node.crt" VEIL_HUB_KEY="$WORK/node.key" ||
  fail "CA-file sync: $(tail -5 probe.out)"
ok "node sync with the private CA (hub.caFile) instead of a pin"

if probe "https://127.0.0.1:$PORT2" evil-pin.json VEIL_HUB_PIN="$PIN" VEIL_HUB_CERT="$WORK/node.crt" VEIL_HUB_KEY="$WORK/node.key"; then
  fail "the node synced with a hub presenting another certificate (pin)"
fi
grep -qi "pinned\|authentication failed" probe.out || fail "the refusal does not say why: $(tail -3 probe.out)"
[ ! -s evil-pin.json ] || fail "users from the other hub were persisted"
if probe "https://127.0.0.1:$PORT2" evil-ca.json VEIL_HUB_CA="$WORK/ca.crt"; then
  fail "the node synced with a hub whose certificate the CA did not sign"
fi
ok "a hub presenting another certificate is refused, by pin and by CA"
grep -q "$NODE_TOKEN" evil.log && fail "the node token reached the other hub"
ok "the node token never reached the other hub"
