#!/usr/bin/env bash
# The admin dashboard in a real browser (issue 17 item 2, first slice): veil-hub with 61 users,
# Debian's chromium driven by playwright-core (tests/web/admin_page.mjs): wrong token refused,
# support read-only, pagination and search, the admin disables a user through the UI, CSRF
# refused, axe-core on every page; then the API confirms the state and logins are rate-limited.
# Screenshots in <build>/web-screenshots/admin/.
source "$(dirname "$0")/support/lib.sh"
source "$(dirname "$0")/support/web.sh"

PORT=$(free_port)
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
BASE=http://127.0.0.1:$PORT
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$BOOT", "log_level": "info", "scheduler": {"enabled": false}}
JSON
SUPPORT_TOKEN=$("$HUB" -c "$WORK/hub.json" --create-admin-token --role support --name web 2>>"$WORK/cli.log")
bg hub "$HUB" -c "$WORK/hub.json"
wait_port "$PORT" 20

api() { # api METHOD PATH [BODY] -> "status body"
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $BOOT")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  echo "$(curl "${args[@]}") $(cat "$WORK/body")"
}
for i in $(seq -w 1 60); do
  r=$(api POST /api/v1/users "{\"username\":\"user$i\"}"); [[ $r == 201* ]] || fail "create user$i: $r"
done
r=$(api POST /api/v1/users '{"username":"zoe-target"}'); [[ $r == 201* ]] || fail "create zoe: $r"

SHOTS=$BUILD/web-screenshots/admin
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
out=$(VEIL_WEB_NODE=$NODE_DIR VEIL_CHROMIUM=$CHROMIUM VEIL_WEB_BASE=$BASE VEIL_WEB_ADMIN=$BOOT \
  VEIL_WEB_SUPPORT=$SUPPORT_TOKEN VEIL_WEB_TARGET=zoe-target VEIL_WEB_SHOTS=$SHOTS \
  node "$SRC/tests/web/admin_page.mjs" 2>&1) || { echo "$out" | grep -v dbus; fail "browser checks failed"; }
echo "$out" | grep -E '^(ok|not ok)'

# The API agrees with what the page showed.
id=$(sed -n 's/^disabled //p' <<<"$out"); [[ -n $id ]] || fail "no disabled id reported"
r=$(api GET "/api/v1/users/$id"); [[ $r == *'"enabled":false'* ]] || fail "user $id still enabled: $r"
r=$(api GET /api/v1/users/1); [[ $r == *'"enabled":true'* ]] || fail "user 1 changed without CSRF: $r"
r=$(api GET "/api/v1/audit?limit=50"); [[ $r == 200* ]] || fail "audit: $r"
python3 - "${r#* }" "$id" <<'PY' || fail "no audit row for the dashboard's change: $r"
import json, sys
rows = json.loads(sys.argv[1])["entries"]
ok = any(x["action"] == "user.enable" for x in rows) and any(x["action"] == "user.disable" and x["target"] == f"user:{sys.argv[2]}" and x["actor"].startswith("token:")
         and (x.get("details") or {}).get("via") == "dashboard" for x in rows)
sys.exit(0 if ok else 1)
PY
# Logins are rate-limited per address: 3 were used by the browser, the window allows 10.
for n in $(seq 1 20); do
  code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST --data 'token=va_wrong' "$BASE/admin/login")
  [[ $code == 429 ]] && break
  [[ $code == 401 ]] || fail "bad login answered $code"
done
[[ $code == 429 ]] || fail "no rate limit after $n bad logins"
(( n <= 8 )) || fail "rate limit came late: after $n more attempts"
grep -q "$BOOT\|$SUPPORT_TOKEN" "$WORK/hub.log" && fail "a token reached the hub log"
ok "admin dashboard: login, support read-only, search, pages, disable via UI, CSRF, rate limit (screenshots: $SHOTS)"
