#!/usr/bin/env bash
# The storefront end to end, in both transports: a Telegram user the hub has never seen starts the
# bot (tests/fakes/fake_telegram.py), buys a plan with Telegram Stars (Buy -> plan -> Stars ->
# sendInvoice -> pre_checkout_query -> successful_payment), and the link the bot sent, fetched
# from the hub, carries traffic through a real veil-node with our `veil client`. First with the
# bot polling, then, on the same database and node, a second user (invited by the first) buys in
# webhook mode (every update POSTed to /webhooks/telegram with the secret); the first user's
# referral reward is booked once (billing credits it to a balance in the payment's currency, so
# her balance is in XTR).
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

[[ -x $VEIL_BIN/veil-node && -x $VEIL_BIN/veil ]] || fail "missing binaries in $VEIL_BIN"
command -v openssl >/dev/null || skip_all "openssl not installed"
SECRET=hook_Secret-$RANDOM$RANDOM
POLL=5
BOT_FIRST_NAME=New
bot_fakes
N_PORT=$(free_port) T_PORT=$(free_port) H_PORT=$(free_port)

write_config() { # write_config MODE
    cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $HUBPORT, "threads": 4, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 "log_level": "info", "scheduler": {"enabled": true, "interval": 1},
 "subscription": {"title": "Veil", "public_url": "http://127.0.0.1:$HUBPORT"},
 "billing": {"stars": {"enabled": true}, "referral_percent": 10},
 "bot": {"token": "$TOKEN", "api_url": "http://127.0.0.1:$TGPORT", "mode": "$1", "webhook_secret": "$SECRET",
         "poll_timeout": 1}}
JSON
}
start_hub_in() { # start_hub_in MODE: the hub with the bot polling or behind the webhook
    write_config "$1"
    start_hub "$1"
}
api() { curl -fsS -X "$1" "http://127.0.0.1:$HUBPORT$2" -H "Authorization: Bearer $ADMIN" \
             -H 'Content-Type: application/json' ${3:+--data-binary "$3"}; }

# Transport: polling injects into the fake's getUpdates queue; webhook POSTs to the hub itself.
MODE=polling
NEXT_UPDATE=100000
deliver() { # deliver UPDATE_JSON_WITHOUT_ID
    if [[ $MODE == polling ]]; then
        $TG "$TGPORT" inject "$1" >/dev/null
    else
        NEXT_UPDATE=$((NEXT_UPDATE + 1))
        local code
        code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/telegram" \
            -H "X-Telegram-Bot-Api-Secret-Token: $SECRET" -H 'Content-Type: application/json' \
            --data-binary "{\"update_id\": $NEXT_UPDATE, ${1#\{}")
        [[ $code == 200 ]] || fail "webhook answered $code"
    fi
}
say() { # say FROM TEXT
    deliver "{\"message\": {\"message_id\": $RANDOM, \"date\": 1, \"chat\": {\"id\": $1, \"type\": \"private\"},
        \"from\": $(user_json "$1"), \"text\": \"$2\"}}"
}
press() { # press FROM DATA
    deliver "{\"callback_query\": {\"id\": \"cq$RANDOM$RANDOM\", \"from\": $(user_json "$1"), \"chat_instance\": \"1\",
        \"data\": \"$2\", \"message\": {\"message_id\": 42, \"date\": 1, \"chat\": {\"id\": $1, \"type\": \"private\"}}}}"
}

# The node, its REALITY target and an origin behind it.
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes -subj /CN=example.com \
    >/dev/null 2>&1
bg target openssl s_server -accept "127.0.0.1:$T_PORT" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg http python3 "$SUPPORT/http_sink.py" "$H_PORT"
start_hub_in polling
KEYS=$("$VEIL_BIN/veil" x25519)
PRIV=$(sed -n 's/^PrivateKey: //p' <<<"$KEYS")
PUB=$(sed -n 's/^Password (PublicKey): //p' <<<"$KEYS")
SID=a1b2c3d4e5f60718
r=$(api POST /api/v1/plans '{"name": "Month", "duration_days": 30, "prices": {"XTR": 250}}') || fail "plan"
PLAN=$(jget "$r" "['id']")
r=$(api POST /api/v1/nodes "{\"name\": \"n1\", \"address\": \"127.0.0.1\", \"port\": $N_PORT,
  \"public_key\": \"$PUB\", \"short_ids\": [\"$SID\"], \"server_names\": [\"example.com\"]}") || fail "node"
NODE_TOKEN=$(jget "$r" "['token']")
mkdir -p "$WORK/state"
cat >"$WORK/node.json" <<EOF
{
  "log": {"loglevel": "info"},
  "inbounds": [{"listen": "127.0.0.1", "port": $N_PORT, "protocol": "vless",
    "settings": {"clients": [], "decryption": "none"},
    "streamSettings": {"network": "raw", "security": "reality",
      "realitySettings": {"target": "127.0.0.1:$T_PORT", "serverNames": ["example.com"],
        "privateKey": "$PRIV", "shortIds": ["$SID"]}}}],
  "outbounds": [{"protocol": "freedom"}],
  "veil": {"workers": 2, "allowPrivateDestinations": true, "stateDir": "$WORK/state",
           "hub": {"url": "http://127.0.0.1:$HUBPORT", "token": "$NODE_TOKEN", "pollSec": $POLL, "pushSec": 10}}
}
EOF
bg node "$VEIL_BIN/veil-node" -c "$WORK/node.json"
wait_port "$N_PORT"; wait_port "$T_PORT"; wait_port "$H_PORT"

# buy TELEGRAM_ID [START_PAYLOAD] -> the subscription URL the bot sent after the payment
buy() {
    local tg=$1 n inv payload id notice url
    n=$($TG "$TGPORT" next)
    say "$tg" "/start${2:+ $2}"
    $TG "$TGPORT" wait sendMessage "$n" "\"chat_id\": $tg" 10 >/dev/null || fail "$MODE: no menu for $tg"
    press "$tg" buy
    $TG "$TGPORT" wait editMessageText "$n" "\"callback_data\": \"plan:$PLAN\"" 10 >/dev/null || fail "$MODE: no plans"
    press "$tg" "plan:$PLAN"
    $TG "$TGPORT" wait editMessageText "$n" "\"callback_data\": \"pay:$PLAN:stars\"" 10 >/dev/null ||
        fail "$MODE: no Stars button"
    press "$tg" "pay:$PLAN:stars"
    inv=$($TG "$TGPORT" wait sendInvoice "$n" "\"chat_id\": $tg" 10) || fail "$MODE: no invoice"
    payload=$(jget "$inv" "['payload']")
    [[ $(jget "$inv" "['currency']") == XTR && $(jget "$inv" "['prices'][0]['amount']") == 250 ]] || fail "invoice: $inv"
    id="pcq$RANDOM$RANDOM"
    deliver "{\"pre_checkout_query\": {\"id\": \"$id\", \"from\": $(user_json "$tg"), \"currency\": \"XTR\",
        \"total_amount\": 250, \"invoice_payload\": \"$payload\"}}"
    [[ $(jget "$($TG "$TGPORT" wait answerPreCheckoutQuery "$n" "$id" 10)" "['ok']") == True ]] ||
        fail "$MODE: pre_checkout refused"
    deliver "{\"message\": {\"message_id\": $RANDOM, \"date\": 1, \"chat\": {\"id\": $tg, \"type\": \"private\"},
        \"from\": $(user_json "$tg"), \"successful_payment\": {\"currency\": \"XTR\", \"total_amount\": 250,
        \"invoice_payload\": \"$payload\", \"telegram_payment_charge_id\": \"stx-$MODE-$tg\",
        \"provider_payment_charge_id\": \"\"}}}"
    notice=$($TG "$TGPORT" wait sendMessage "$n" "\"chat_id\": $tg, \"text\": \"Payment received" 15) ||
        fail "$MODE: no payment notice"
    $TG "$TGPORT" wait sendPhoto "$n" '"png": true' 10 >/dev/null || fail "$MODE: no QR photo"
    [[ $(db "SELECT status || ' ' || charge_id FROM payments WHERE id = $payload") == "succeeded stx-$MODE-$tg" ]] ||
        fail "$MODE: payment row: $(db "SELECT * FROM payments WHERE id = $payload")"
    echo "transcript ($MODE): invoice $payload 250 XTR -> $(jget "$notice" "['text']" | tr '\n' ' ')" >&2
    url=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['copy_text']['text'] for r in d['reply_markup']['inline_keyboard'] for b in r if 'copy_text' in b][0])" "$notice")
    [[ $url == "http://127.0.0.1:$HUBPORT/sub/"* ]] || fail "$MODE: link in the notice: $url"
    echo "$url"
}

C_PORTS=()
# tunnel URL: the first vless link /sub lists, through `veil client`, reaches the origin.
tunnel() {
    local link="" c_port
    for _ in $(seq 1 50); do
        link=$(curl -fsS -A 'v2rayNG/1.9.30' "$1" | base64 -d | grep -m1 '^vless://') && break
        sleep 0.2
    done
    [[ -n $link ]] || fail "$MODE: the link lists no node"
    c_port=$(free_port)
    bg "client-$MODE" "$VEIL_BIN/veil" client --link "$link" --listen "127.0.0.1:$c_port"
    wait_port "$c_port"
    local end=$((SECONDS + POLL * 3 + 5)) got=""
    until got=$(curl -s --max-time 5 --socks5-hostname "127.0.0.1:$c_port" "http://127.0.0.1:$H_PORT/hello") &&
        [[ $got == "hello through the tunnel" ]]; do
        ((SECONDS < end)) || fail "$MODE: the bought link does not tunnel (got '$got')"
        sleep 0.3
    done
    local sum want
    sum=$(curl -s --max-time 10 --socks5-hostname "127.0.0.1:$c_port" "http://127.0.0.1:$H_PORT/bytes/500000" | sha256sum | cut -d' ' -f1)
    want=$(curl -s -D - -o /dev/null "http://127.0.0.1:$H_PORT/bytes/500000" | tr -d '\r' | sed -n 's/^[Xx]-[Ss]ha256: //p')
    [[ -n $want && $sum == "$want" ]] || fail "$MODE: 500 kB through the tunnel corrupted ($sum vs $want)"
}

ALICE=9101
URL=$(buy $ALICE) || { echo "$URL"; exit 1; }
tunnel "$URL"
ok "polling: a new Telegram user buys with Stars and the link the bot sent carries traffic through veil-node"

stop_hub
MODE=webhook
start_hub_in webhook
REFCODE=$(db "SELECT referral_code FROM users WHERE telegram_id = $ALICE")
ALICE_ID=$(db "SELECT id FROM users WHERE telegram_id = $ALICE")
# Billing credits a referral reward only to a balance in the payment's currency: Alice keeps Stars.
api PATCH "/api/v1/users/$ALICE_ID" '{"currency": "XTR"}' >/dev/null || fail "currency"
BOB=9102
URL=$(buy $BOB "ref_$REFCODE") || { echo "$URL"; exit 1; }
tunnel "$URL"
ok "webhook: the same purchase over /webhooks/telegram, and that link tunnels too"
BOB_ID=$(db "SELECT id FROM users WHERE telegram_id = $BOB")
[[ $(db "SELECT referrer_id FROM users WHERE id = $BOB_ID") == "$ALICE_ID" ]] || fail "referrer not recorded"
[[ $(db "SELECT count(*) || ' ' || sum(amount_minor) || ' ' || currency FROM referral_rewards WHERE referrer_id = $ALICE_ID") == "1 25 XTR" ]] ||
    fail "referral reward: $(db "SELECT * FROM referral_rewards")"
[[ $(db "SELECT balance_minor || ' ' || currency FROM users WHERE id = $ALICE_ID") == "25 XTR" ]] || fail "reward not on the balance"
$TG "$TGPORT" wait sendMessage 0 "\"chat_id\": $ALICE, \"text\": \"<b>You earned a referral reward: 25 " 10 >/dev/null ||
    fail "the referrer was not told"
ok "the referrer's reward for the webhook purchase is booked once (10 % of 250 Stars on her XTR balance)"
stop_hub
if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.log; then
    fail "sanitizer reports"
fi
