# Shared fixture of the bot integration tests (test_hub_bot.sh, _admin, _customer, _e2e), sourced after
# lib.sh: the real veil-hub against tests/fakes/fake_telegram.py (and billing's fake YooKassa on
# request), and the helpers those tests share. BOT_FIRST_NAME (default U) is the senders'
# first_name, BOT_PRESS_LANG (default en) the language_code of button presses.
HUB=$VEIL_BIN/veil-hub
FAKES=$(cd "$SUPPORT/../../fakes" && pwd)
TG="python3 $SUPPORT/tg_client.py"
[[ -x $HUB ]] || fail "missing $HUB"
ADMIN=bot-admin-token-$RANDOM$RANDOM$RANDOM
TOKEN=123456:TESTtoken_abc-DEF
HUBPID=

# bot_fakes [yookassa]: starts the fake Bot API (TGPORT), picks the hub's port (HUBPORT, its URL
# BASE) and, when asked, starts the fake YooKassa (YKPORT) with its webhook pointed at the hub.
bot_fakes() {
    bg fake python3 "$FAKES/fake_telegram.py" --port-file "$WORK/tg.port" --token "$TOKEN"
    wait_for "[[ -s $WORK/tg.port ]]" 10 "the fake Bot API"
    TGPORT=$(cat "$WORK/tg.port")
    HUBPORT=$(free_port)
    BASE=http://127.0.0.1:$HUBPORT
    if [[ ${1:-} == yookassa ]]; then
        bg yk python3 "$FAKES/fake_yookassa.py" --port-file "$WORK/yk.port" --shop-id shop1 --secret sk_test \
            --hook "http://127.0.0.1:$HUBPORT/webhooks/yookassa"
        wait_for "[[ -s $WORK/yk.port ]]" 10 "the fake YooKassa"
        YKPORT=$(cat "$WORK/yk.port")
    fi
}

# The "billing" members for Stars, the balance, 10 % referral rewards and the fake YooKassa.
bot_billing_yookassa() {
    cat <<JSON
"stars": {"enabled": true}, "balance": {"enabled": true}, "referral_percent": 10,
   "yookassa": {"shop_id": "shop1", "secret_key": "sk_test", "api_url": "http://127.0.0.1:$YKPORT/v3",
                "return_url": "https://t.me/veil_bot", "trusted_networks": ["127.0.0.1/32"]}
JSON
}

# bot_write_config BILLING BOT [TOP] [TITLE]: $WORK/hub.json for the fakes. BILLING: the members of
# "billing"; BOT: the members of "bot" after its token and api_url; TOP: more top-level members.
# Nodes here never run: fleet.dead_after 0 and no probe serve them anyway (test_hub_node_health.sh
# covers both).
bot_write_config() {
    cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HUBPORT, "threads": 4, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 ${3:+$3,}
 "log_level": "info", "fleet": {"dead_after": 0, "probe_interval": 0}, "scheduler": {"enabled": true, "interval": 1},
 "subscription": {"title": "${4:-Veil}", "public_url": "http://127.0.0.1:$HUBPORT"},
 "billing": {$1},
 "bot": {"token": "$TOKEN", "api_url": "http://127.0.0.1:$TGPORT", $2}}
JSON
}

start_hub() { # start_hub LOGNAME: runs the hub on $WORK/hub.json until /healthz answers (HUBPID)
    bg "hub-$1" "$HUB" -c "$WORK/hub.json"
    HUBPID=$LASTPID
    wait_for "curl -fsS http://127.0.0.1:$HUBPORT/healthz" 20 "the hub"
}
stop_hub() {
    kill -TERM "$HUBPID"
    wait "$HUBPID" || fail "hub exit status $? on SIGTERM"
}
call() { # call METHOD PATH [BODY] -> "status body" (admin token)
    local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$HUBPORT$2" -H "Authorization: Bearer $ADMIN")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$WORK/body")"
}
api() { # api METHOD PATH [BODY] -> the body (admin token)
    curl -sS -X "$1" "http://127.0.0.1:$HUBPORT$2" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
        ${3:+--data-binary "$3"}
}
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; } # field EXPR <JSON
db() { sqlite3 -cmd '.timeout 5000' "$WORK/hub.db" "$1"; }
user_json() { # user_json ID [LANG]
    printf '{"id": %s, "is_bot": false, "first_name": "%s", "language_code": "%s"}' "$1" "${BOT_FIRST_NAME:-U}" "${2:-en}"
}
message() { # message FROM LANG TEXT
    printf '{"message": {"message_id": %s, "date": 1, "chat": {"id": %s, "type": "private"}, "from": %s, "text": "%s"}}' \
        "$RANDOM" "$1" "$(user_json "$1" "$2")" "$3"
}
press() { # press FROM DATA [MESSAGE_ID] -> the callback query id (a press on message 555 by default)
    local qid="cq$RANDOM$RANDOM"
    $TG "$TGPORT" inject "{\"callback_query\": {\"id\": \"$qid\", \"from\": $(user_json "$1" "${BOT_PRESS_LANG:-en}"),
        \"chat_instance\": \"1\", \"data\": \"$2\", \"message\": {\"message_id\": ${3:-555}, \"date\": 1,
        \"chat\": {\"id\": $1, \"type\": \"private\"}}}}" >/dev/null
    echo "$qid"
}
