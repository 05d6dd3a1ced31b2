#!/usr/bin/env bash
# veil-hub and veil-node started with no secret in their JSON (issue 16 item 1): the hub's
# admin token from $CREDENTIALS_DIRECTORY (systemd LoadCredential=), its database URL from
# database_file; the node's REALITY key from privateKeyFile, its admin token from adminTokenFile
# and its hub token from the credentials directory. Both work (API calls, a hub sync); a secret
# file that others may read stops either daemon at start with a message naming the file; no
# secret value appears in any log or message.
source "$(dirname "$0")/support/lib.sh"
umask 077

HUB_PORT=$(free_port) N_PORT=$(free_port) A_PORT=$(free_port) T_PORT=$(free_port)
ADMIN=hub-admin-canary-$RANDOM$RANDOM$RANDOM
NODE_ADMIN=node-admin-canary-$RANDOM$RANDOM$RANDOM
mkdir -p "$WORK/hub-creds" "$WORK/node-creds" "$WORK/secrets" "$WORK/state"
printf '%s\n' "$ADMIN" >"$WORK/hub-creds/admin_token"
printf 'sqlite:%s\n' "$WORK/hub.db" >"$WORK/secrets/database"
chmod 400 "$WORK/hub-creds/admin_token"

cat >"$WORK/hub.json" <<EOF
{"listen": "127.0.0.1", "port": $HUB_PORT, "threads": 2, "database_file": "$WORK/secrets/database",
 "log_level": "debug", "subscription": {"public_url": "http://127.0.0.1:$HUB_PORT"},
 "scheduler": {"enabled": false, "interval": 60}}
EOF
CREDENTIALS_DIRECTORY=$WORK/hub-creds bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$HUB_PORT"
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUB_PORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }
jget() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
PLAN=$(api POST /api/v1/plans '{"name": "M", "duration_days": 30, "prices": {"RUB": 10000}}' | jget "['id']") ||
  fail "the admin token from the credentials directory is not accepted"
ok "hub: admin token from \$CREDENTIALS_DIRECTORY, database URL from database_file"

KEYS=$("$VEIL_BIN/veil" x25519)
PRIV=$(sed -n 's/^PrivateKey: //p' <<<"$KEYS")
PUB=$(sed -n 's/^Password (PublicKey): //p' <<<"$KEYS")
NODE_TOKEN=$(api POST /api/v1/nodes "{\"name\": \"n1\", \"address\": \"127.0.0.1\", \"port\": $N_PORT,
  \"public_key\": \"$PUB\", \"short_ids\": [\"a1b2\"], \"server_names\": [\"example.com\"]}" | jget "['token']")
U=$(api POST /api/v1/users '{"username": "carol"}' | jget "['id']")
api POST /api/v1/subscriptions "{\"user_id\": $U, \"plan_id\": $PLAN}" >/dev/null
printf '%s\n' "$PRIV" >"$WORK/secrets/reality.key"
printf '%s\n' "$NODE_ADMIN" >"$WORK/secrets/node-admin"
printf '%s\n' "$NODE_TOKEN" >"$WORK/node-creds/hub_token"
cat >"$WORK/node.json" <<EOF
{"log": {"loglevel": "debug"},
 "inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
   "settings": {"clients": [], "decryption": "none"},
   "streamSettings": {"network": "raw", "security": "reality",
     "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
       "privateKeyFile": "$WORK/secrets/reality.key", "shortIds": ["a1b2"]}}}],
 "outbounds": [{"protocol": "freedom"}],
 "veil": {"workers": 1, "stateDir": "$WORK/state", "adminListen": "127.0.0.1:$A_PORT",
          "adminTokenFile": "$WORK/secrets/node-admin",
          "hub": {"url": "http://127.0.0.1:$HUB_PORT", "pollSec": 5, "pushSec": 10}}}
EOF
CREDENTIALS_DIRECTORY=$WORK/node-creds bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
wait_port "$N_PORT"; wait_port "$A_PORT"
wait_for "grep -q hub_users_applied '$WORK/node.log'" 15 "the node's first pull (hub token from the credentials directory)"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $NODE_ADMIN" "http://127.0.0.1:$A_PORT/api/v1/users")
[ "$code" = 200 ] || fail "node admin API with the token from adminTokenFile: $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A_PORT/api/v1/users")
[ "$code" = 401 ] || fail "node admin API without a token: $code"
# The public key the node derives from the key file is the one the hub announces to clients.
nadmin() { curl -fsS -H "Authorization: Bearer $NODE_ADMIN" "http://127.0.0.1:$A_PORT$1"; }
NUID=$(nadmin /api/v1/users | jget "['users'][0]['id']") || fail "the hub's user is not on the node"
nadmin "/api/v1/users/$NUID/link?address=127.0.0.1" | grep -q "pbk=$PUB" ||
  fail "the node's link does not carry the public key of the key file"
ok "node: REALITY key from privateKeyFile, admin token from adminTokenFile, hub token from the credentials directory"

# The hub's metrics are searched for secrets below with the logs.
api GET /metrics >"$WORK/hub-metrics.log" || fail "hub /metrics"

# Readable secret files stop the daemons at start, naming the file.
chmod 644 "$WORK/secrets/reality.key"
rc=0
CREDENTIALS_DIRECTORY=$WORK/node-creds "$VEIL_BIN/veil-node" -c "$WORK/node.json" >"$WORK/node-refused.log" 2>&1 || rc=$?
[ $rc -ne 0 ] || fail "the node started with a world-readable privateKeyFile"
grep -q "reality.key: holds a secret but group or others may access it (mode 0644)" "$WORK/node-refused.log" ||
  fail "node message: $(cat "$WORK/node-refused.log")"
chmod 600 "$WORK/secrets/reality.key"
chmod 440 "$WORK/hub-creds/admin_token"
rc=0
CREDENTIALS_DIRECTORY=$WORK/hub-creds "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" >"$WORK/hub-refused.log" 2>&1 || rc=$?
[ $rc -eq 2 ] || fail "the hub started with a group-readable credential (exit $rc)"
grep -q "admin_token: holds a secret but group or others may access it (mode 0440)" "$WORK/hub-refused.log" ||
  fail "hub message: $(cat "$WORK/hub-refused.log")"
ok "a group/world-readable secret file is refused at start by both daemons, naming the file"

# Stop both (their last words are logged too), then look for every secret in every log.
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
# The audit log as a SIEM gets it is searched too.
chmod 400 "$WORK/hub-creds/admin_token"
CREDENTIALS_DIRECTORY=$WORK/hub-creds "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" --export-audit >"$WORK/audit-export.log" \
  2>"$WORK/audit-export-stderr.log" || fail "audit export"
grep -q '"action":"node.register"' "$WORK/audit-export.log" || fail "the export misses the node registration"
for s in "$ADMIN" "$NODE_ADMIN" "$NODE_TOKEN" "$PRIV"; do
  if grep -rlF -- "$s" "$WORK"/*.log; then fail "a secret value appears in the logs above"; fi
done
ok "no secret value in any log, message, metric or audit row"
