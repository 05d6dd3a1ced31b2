#!/usr/bin/env bash
# The dashboard's pages in a real browser (issue 17): veil-hub with billing on the YooKassa fake
# (tests/fakes), a node, a customer who paid through YooKassa and one without a subscription.
# tests/web/admin_pages.mjs drives Debian's chromium: support sees every page and changes
# nothing; without the CSRF token nothing changes; the admin creates and edits a plan (prices as
# money) and deletes one (refused while in use), grants and extends a subscription, frees a
# device, disables the user and rotates the link, drains the node and sets its weight, rotates its
# token and registers another (install command shown), filters payments and refunds the YooKassa
# one through billing's refund; the REST API confirms each step; axe-core on every page; settings
# show no secret. Screenshots in <build>/web-screenshots/admin-pages/.
source "$(dirname "$0")/support/lib.sh"
source "$(dirname "$0")/support/web.sh"
FAKES=$SRC/tests/fakes

PORT=$(free_port)
BOOT=boot-admin-token-$RANDOM$RANDOM$RANDOM
YK_SECRET=sk_test_secret_$RANDOM$RANDOM
BASE=http://127.0.0.1:$PORT
bg yk python3 "$FAKES/fake_yookassa.py" --port-file "$WORK/yk.port" --shop-id shop1 --secret "$YK_SECRET" \
  --hook "$BASE/webhooks/yookassa"
wait_for "[[ -s $WORK/yk.port ]]" 10 "the YooKassa fake"
cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db",
 "admin_token": "$BOOT", "log_level": "info", "scheduler": {"enabled": false},
 "billing": {"yookassa": {"shop_id": "shop1", "secret_key": "$YK_SECRET",
   "api_url": "http://127.0.0.1:$(cat "$WORK/yk.port")/v3", "return_url": "https://t.me/veil_bot",
   "trusted_networks": ["127.0.0.1/32"]}}}
JSON
SUPPORT_TOKEN=$("$HUB" -c "$WORK/hub.json" --create-admin-token --role support --name web 2>>"$WORK/cli.log")
bg hub "$HUB" -c "$WORK/hub.json"
wait_port "$PORT" 20

api() { # api METHOD PATH [BODY] -> "status body"
  local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "$BASE$2" -H "Authorization: Bearer $BOOT")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  echo "$(curl "${args[@]}") $(cat "$WORK/body")"
}
jget() { python3 -c "import json,sys; print(json.loads(sys.argv[1])$2)" "$1"; }

r=$(api POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"RUB":29900}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN=$(jget "${r#* }" "['id']")
r=$(api POST /api/v1/users '{"username":"payer","currency":"RUB"}'); [[ $r == 201* ]] || fail "payer: $r"
PAYER=$(jget "${r#* }" "['id']")
r=$(api POST /api/v1/users '{"username":"dave","currency":"RUB"}'); [[ $r == 201* ]] || fail "dave: $r"
DAVE=$(jget "${r#* }" "['id']")
KEY=$("$VEIL_BIN/veil" x25519 | awk '/[Pp]ublic/ {print $NF}')
r=$(api POST /api/v1/nodes "{\"name\":\"fra-1\",\"address\":\"10.0.0.7\",\"public_key\":\"$KEY\",\"server_names\":[\"www.example.com\"]}")
[[ $r == 201* ]] || fail "node: $r"
NODE=$(jget "${r#* }" "['id']")
# The payer buys the plan through YooKassa; the fake pays and notifies the hub.
r=$(api POST /api/v1/invoices "{\"user_id\":$PAYER,\"plan_id\":$PLAN,\"provider\":\"yookassa\"}")
[[ $r == 201* ]] || fail "invoice: $r"
PAYMENT=$(jget "${r#* }" "['payment_id']")
EXT=$(jget "${r#* }" "['external_id']")
curl -fsS -X POST "http://127.0.0.1:$(cat "$WORK/yk.port")/_control/pay" --data-binary "{\"id\":\"$EXT\"}" >/dev/null
wait_for "[[ \$(api GET /api/v1/payments/$PAYMENT) == *'\"status\":\"succeeded\"'* ]]" 10 "the YooKassa payment to succeed"

SHOTS=$BUILD/web-screenshots/admin-pages
rm -rf "$SHOTS" && mkdir -p "$SHOTS"
out=$(VEIL_WEB_NODE=$NODE_DIR VEIL_CHROMIUM=$CHROMIUM VEIL_WEB_BASE=$BASE VEIL_WEB_ADMIN=$BOOT \
  VEIL_WEB_SUPPORT=$SUPPORT_TOKEN VEIL_WEB_USER=$DAVE VEIL_WEB_PAYER=$PAYER VEIL_WEB_NODE_ID=$NODE \
  VEIL_WEB_PAYMENT=$PAYMENT VEIL_WEB_KEY2=$("$VEIL_BIN/veil" x25519 | awk '/[Pp]ublic/ {print $NF}') VEIL_WEB_SECRETS="$BOOT $SUPPORT_TOKEN $YK_SECRET" VEIL_WEB_SHOTS=$SHOTS \
  node "$SRC/tests/web/admin_pages.mjs" 2>&1) || { echo "$out" | grep -v dbus; fail "browser checks failed"; }
echo "$out" | grep -E '^(ok|not ok)'
# The refund went to the provider, not only into our database.
grep -q '"POST /v3/refunds HTTP/1.1" 200' "$WORK/yk.log" || fail "the YooKassa fake saw no refund: $(tail -5 "$WORK/yk.log")"
grep -q "$BOOT\|$SUPPORT_TOKEN\|$YK_SECRET" "$WORK/hub.log" && fail "a secret reached the hub log"
ok "dashboard pages: plans, user actions, nodes, payments + refund, audit, settings; support read-only; CSRF (screenshots: $SHOTS)"
