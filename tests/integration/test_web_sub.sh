#!/usr/bin/env bash
# The customer subscription page in a real browser (issue 17): a veil-hub with one customer in
# each state (active, expiring, expired, over quota, not started, disabled); Debian's chromium,
# headless, driven by playwright-core (tests/web/sub_page.mjs) at 360 px and desktop, English and
# Russian, light and dark. Checks what the page shows, decodes the QR code from a screenshot
# with zbarimg, checks the app buttons' deep links and the copy button, runs axe-core, and
# keeps the screenshots in <build>/web-screenshots/sub/.
source "$(dirname "$0")/support/lib.sh"

source "$(dirname "$0")/support/web.sh"

PORT=$(free_port)
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
BASE=http://127.0.0.1:$PORT
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$BOOT", "log_level": "info",
 "subscription": {"title": "Veil Test", "public_url": "$BASE", "support_url": "https://t.me/veil_support",
                  "page_color": "#1d4ed8", "renew_url": "https://t.me/veil_test_bot?start=renew"},
 "fleet": {"dead_after": 0, "probe_interval": 0}, "scheduler": {"enabled": false}}
JSON
# The node below is not a running node (it checks in once): fleet.dead_after 0 and no probe keep it
# served for the whole browser run (test_hub_node_health.sh covers liveness and the probe).
bg hub "$HUB" -c "$WORK/hub.json"
wait_port "$PORT" 20

# call METHOD PATH [BODY] -> the body; fails unless 2xx
call() {
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer ${TOKEN:-$BOOT}")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  local code
  code=$(curl "${args[@]}")
  [[ $code == 2* ]] || fail "$1 $2: $code $(cat "$WORK/body")"
  cat "$WORK/body"
}
jget() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

GIB=$((1 << 30))
month=$(jget "$(call POST /api/v1/plans "{\"name\":\"Month\",\"duration_days\":30,\"quota_bytes\":$((100 * GIB)),\"reset_strategy\":\"monthly\"}")" "['id']")
trial=$(jget "$(call POST /api/v1/plans '{"name":"Trial","duration_days":2,"quota_bytes":0}')" "['id']")
one=$(jget "$(call POST /api/v1/plans '{"name":"One device","duration_days":30,"quota_bytes":0,"device_limit":1}')" "['id']")
small=$(jget "$(call POST /api/v1/plans '{"name":"Small","duration_days":30,"quota_bytes":1048576}')" "['id']")

declare -A ID TOK
customer() { # customer NAME PLAN
  local u
  u=$(call POST /api/v1/users "{\"username\":\"$1\"}")
  ID[$1]=$(jget "$u" "['id']")
  TOK[$1]=$(jget "$u" "['sub_token']")
  call POST /api/v1/subscriptions "{\"user_id\":${ID[$1]},\"plan_id\":$2}" >/dev/null
}
customer alice "$month"   # active, 5 GiB of 100 used
customer bob "$trial"     # expiring in 2 days, unlimited traffic
customer carol "$month"   # expired yesterday
customer dave "$small"    # over quota
customer erin "$month"    # starts in 5 days
customer frank "$month"   # disabled by an admin
customer gina "$one"      # active, her one device slot taken (a second phone was refused)
call PATCH "/api/v1/users/${ID[frank]}" '{"enabled":false}' >/dev/null

# Dates the API cannot set (a subscription in the past or the future) are written directly.
python3 - "$WORK/hub.db" "${ID[carol]}" "${ID[erin]}" <<'PY'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10)
now = int(time.time())
db.execute("UPDATE subscriptions SET starts_at=?, ends_at=? WHERE user_id=?", (now - 31 * 86400, now - 86400, sys.argv[2]))
db.execute("UPDATE subscriptions SET starts_at=?, ends_at=? WHERE user_id=?", (now + 5 * 86400, now + 35 * 86400, sys.argv[3]))
db.commit()
PY

# One node that has checked in (only those are served), and the traffic of alice and dave.
node=$(call POST /api/v1/nodes '{"name":"Frankfurt","address":"de1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
TOKEN=$(jget "$node" "['token']") call POST /api/v1/node/usage "{\"v\":1,\"push_id\":\"de1-000000001\",\"usage\":[{\"id\":${ID[alice]},\"up\":0,\"down\":$((5 * GIB))},{\"id\":${ID[dave]},\"up\":1048576,\"down\":1048576}],\"health\":{\"connections\":1,\"uptime\":1,\"revision\":1,\"version\":\"t\"}}" >/dev/null

for hwid in gina-phone-0001 gina-phone-0002; do
  curl -fsS -o /dev/null -A 'Happ/1.63.1' -H "x-hwid: $hwid" "$BASE/sub/${TOK[gina]}" || fail "hwid fetch"
done
hdr=$(curl -sS -D - -o /dev/null -A 'Happ/1.63.1' -H 'x-hwid: gina-phone-0002' "$BASE/sub/${TOK[gina]}")
grep -qi '^x-hwid-max-devices-reached: true' <<<"$hdr" || fail "second device of gina not refused: $hdr"

# What each page must show (the browser script checks it in both languages).
python3 - "$WORK/cases.json" "$BASE" "${TOK[alice]}" "${TOK[bob]}" "${TOK[carol]}" "${TOK[dave]}" "${TOK[erin]}" "${TOK[frank]}" \
  "${TOK[gina]}" <<'PY'
import json, sys
out, base, *tok = sys.argv[1:]
spec = [("alice", "active", "5.00 GiB of 100.00 GiB", True), ("bob", "expiring", "0 B · unlimited", True),
        ("carol", "expired", "0 B of 100.00 GiB", False), ("dave", "limited", "2.00 MiB of 1.00 MiB", False),
        ("erin", "pending", "0 B of 100.00 GiB", False), ("frank", "disabled", "0 B of 100.00 GiB", False),
        ("gina", "active", "0 B · unlimited", True)]
cases = [{"name": n, "state": s, "traffic_en": t, "servers": srv, "token": tk, "url": f"{base}/sub/{tk}"}
         for (n, s, t, srv), tk in zip(spec, tok)]
cases[-1]["devices"] = "1 of 1"  # the page says the device slots are all taken
json.dump({"base": base, "title": "Veil Test", "cases": cases}, open(out, "w"))
PY

SHOTS=$BUILD/web-screenshots/sub
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
VEIL_WEB_NODE=$NODE_DIR VEIL_CHROMIUM=$CHROMIUM VEIL_WEB_CASES=$WORK/cases.json VEIL_WEB_SHOTS=$SHOTS \
  node "$SRC/tests/web/sub_page.mjs" || fail "browser checks failed (screenshots in $SHOTS)"

grep -q "${TOK[alice]}" "$WORK/hub.log" && fail "a subscription token reached the hub log"
ok "subscription page: 6 states + device limit x en/ru x 360px/desktop, QR decoded, deep links, axe (screenshots: $SHOTS)"
