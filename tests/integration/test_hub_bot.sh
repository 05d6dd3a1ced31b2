#!/usr/bin/env bash
# The Telegram bot end to end: the real veil-hub against tests/fakes/fake_telegram.py (polling).
# /start (Russian) -> menu -> trial -> the subscription link, fetched from the hub, lists the node;
# a second trial is refused; Buy -> plan -> Stars -> sendInvoice (XTR, payload = payment id) ->
# pre_checkout ok (a wrong amount is refused) -> successful_payment delivered twice -> the
# subscription is extended by the plan exactly once and the customer is told once; YooKassa through
# billing's fake (a pay URL button, the webhook settles, the bot's notice job tells the customer once,
# with the QR code as a PNG photo sent multipart)
# and the balance (pays at once); the offset
# survives a restart; expiry reminders once per event across the restart; 429 waits retry_after;
# 403 marks the chat blocked; /ref, /balance, /lang;
# webhook mode refuses a
# wrong or missing secret with 401 and a malformed update with 400, and handles a good one.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

SECRET=hook_Secret-$RANDOM$RANDOM
ALICE=7001 # a Russian-speaking customer
BOT_FIRST_NAME='A<b>&' BOT_PRESS_LANG=ru
bot_fakes yookassa

write_config() { # write_config MODE
    bot_write_config "$(bot_billing_yookassa)" "\"mode\": \"$1\", \"webhook_secret\": \"$SECRET\",
         \"trial_days\": 3, \"poll_timeout\": 1, \"support\": \"@veil_help\", \"admins\": [1]"
}
sub_field() { # sub_field USER EXPR: EXPR over the one active subscription s (-n when n != 1 are active)
    local r
    r=$(call GET "/api/v1/users/$1/subscriptions")
    python3 -c "
import json,sys
a=[x for x in json.loads(sys.argv[1].split(' ',1)[1])['subscriptions'] if x['state']=='active']
s=a[0] if len(a)==1 else None
print(eval(sys.argv[2]) if s else -len(a))" "$r" "$2"
}
sub_end() { sub_field "$1" "s['ends_at']"; }

write_config polling
start_hub polling
r=$(call POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"XTR":250,"RUB":29900}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/nodes '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
[[ $r == 201* ]] || fail "node: $r"
NODE_TOKEN=$(jget "${r#* }" "['token']")
r=$(call POST /api/v1/node/usage "" ) || true # (the node reports in below, so /sub lists it)
curl -fsS -o /dev/null -X POST "http://127.0.0.1:$HUBPORT/api/v1/node/usage" -H "Authorization: Bearer $NODE_TOKEN" \
    -H 'Content-Type: application/json' \
    --data-binary '{"v":1,"push_id":"n1-000000001","usage":[],"health":{"connections":0,"uptime":1,"revision":0,"version":"t"}}' ||
    fail "node usage push"

# /start: registered, Russian menu with the trial button; the sender's name is never echoed raw.
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $ALICE ru '/start')" >/dev/null
menu=$($TG "$TGPORT" wait sendMessage "$N" '"chat_id": 7001' 10) || fail "no menu after /start"
grep -q 'Главное меню' <<<"$menu" || fail "menu not in Russian: $menu"
grep -q '"callback_data": "trial"' <<<"$menu" || fail "no trial button: $menu"
r=$(call GET "/api/v1/users?q=$ALICE"); USER=$(jget "${r#* }" "['users'][0]['id']")
[[ $(jget "${r#* }" "['users'][0]['language']") == ru ]] || fail "language not stored: $r"
REFCODE=$(jget "${r#* }" "['users'][0]['referral_code']")
ok "/start registers the Telegram user and shows the Russian menu"

# Trial: the menu message is edited into the subscription with its link; the link works.
N=$($TG "$TGPORT" next)
q=$(press $ALICE trial 555)
$TG "$TGPORT" wait answerCallbackQuery "$N" "$q" >/dev/null || fail "trial callback not answered"
sub=$($TG "$TGPORT" wait editMessageText "$N" '/sub/') || fail "no subscription after trial"
grep -q '"message_id": 555' <<<"$sub" || fail "menu not edited in place: $sub"
URL=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['copy_text']['text'] for r in d['reply_markup']['inline_keyboard'] for b in r if 'copy_text' in b][0])" "$sub")
[[ $URL == "http://127.0.0.1:$HUBPORT/sub/"* ]] || fail "bad subscription URL: $URL"
curl -fsS -A 'v2rayNG/1.8.5' "$URL" | base64 -d | grep -q '^vless://' || fail "the link does not list the node"
END_TRIAL=$(sub_end "$USER")
(( END_TRIAL > 0 )) || fail "no active trial subscription ($END_TRIAL)"
ok "trial grants a subscription whose link serves vless:// entries"

N=$($TG "$TGPORT" next)
q=$(press $ALICE trial 555)
alert=$($TG "$TGPORT" wait answerCallbackQuery "$N" "$q") || fail "second trial not answered"
grep -q '"show_alert": true' <<<"$alert" || fail "second trial not refused: $alert"
[[ $(sub_end "$USER") == "$END_TRIAL" ]] || fail "second trial changed the subscription"
ok "the trial is once per Telegram user"

# Buy -> plan -> Stars -> invoice.
N=$($TG "$TGPORT" next)
press $ALICE buy 555 >/dev/null
$TG "$TGPORT" wait editMessageText "$N" "\"callback_data\": \"plan:$PLAN\"" >/dev/null || fail "no plan list"
press $ALICE "plan:$PLAN" 555 >/dev/null
$TG "$TGPORT" wait editMessageText "$N" "\"callback_data\": \"pay:$PLAN:stars\"" >/dev/null || fail "no Stars button"
press $ALICE "pay:$PLAN:stars" 555 >/dev/null
inv=$($TG "$TGPORT" wait sendInvoice "$N") || fail "no invoice"
PAYLOAD=$(jget "$inv" "['payload']")
[[ $(jget "$inv" "['currency']") == XTR && $(jget "$inv" "['prices'][0]['amount']") == 250 ]] || fail "invoice: $inv"
[[ $(call GET "/api/v1/payments/$PAYLOAD") == 200*'"pending"'* ]] || fail "payload is not our pending payment"
ok "Buy -> plan -> Stars sends an XTR invoice whose payload is the payment id"

precheckout() { # precheckout AMOUNT -> the answer's params
    local id="pcq$RANDOM$RANDOM" n
    n=$($TG "$TGPORT" next)
    $TG "$TGPORT" inject "{\"pre_checkout_query\": {\"id\": \"$id\", \"from\": $(user_json $ALICE ru), \"currency\": \"XTR\",
        \"total_amount\": $1, \"invoice_payload\": \"$PAYLOAD\"}}" >/dev/null
    $TG "$TGPORT" wait answerPreCheckoutQuery "$n" "$id"
}
a=$(precheckout 249) || fail "pre_checkout not answered"
[[ $(jget "$a" "['ok']") == False ]] || fail "a wrong amount was accepted: $a"
a=$(precheckout 250) || fail "pre_checkout not answered"
[[ $(jget "$a" "['ok']") == True ]] || fail "pre_checkout refused: $a"
ok "pre_checkout_query is answered through billing's check"

paid='{"message": {"message_id": 900, "date": 1, "chat": {"id": 7001, "type": "private"}, "from": '"$(user_json $ALICE ru)"',
  "successful_payment": {"currency": "XTR", "total_amount": 250, "invoice_payload": "'"$PAYLOAD"'",
  "telegram_payment_charge_id": "stxCharge1", "provider_payment_charge_id": ""}}}'
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$paid" >/dev/null
LAST=$($TG "$TGPORT" inject "$paid")
wait_for "[[ \$($TG $TGPORT state | python3 -c 'import json,sys; print(max(json.load(sys.stdin)[\"offsets\"]))') -gt $LAST ]]" 10 \
    "both deliveries handled"
# A different plan than the trial's replaces it from now (billing's rule): one active subscription
# of exactly the plan's 30 days; a second settlement would have made it 60.
[[ $(sub_field "$USER" "(s['ends_at']-s['starts_at'], s['plan_id'])") == "(2592000, $PLAN)" ]] ||
    fail "not exactly one 30-day subscription of the plan: $(call GET "/api/v1/users/$USER/subscriptions")"
[[ $(call GET "/api/v1/payments/$PAYLOAD") == 200*'"succeeded"'* ]] || fail "payment not succeeded"
[[ $($TG "$TGPORT" count sendMessage "$N" 'Оплата получена') == 1 ]] || fail "customer not told exactly once"
ok "successful_payment delivered twice extends the subscription exactly once"

# YooKassa through billing's fake: Buy -> plan -> card -> a URL button to the pay page; the fake
# pays and delivers the webhook twice; the bot's notice job tells the customer once, with the link.
N=$($TG "$TGPORT" next)
press $ALICE buy 556 >/dev/null
plans=$($TG "$TGPORT" wait editMessageText "$N" "\"callback_data\": \"plan:$PLAN\"") || fail "no plan list"
grep -q '299.00 RUB' <<<"$plans" || fail "plan button without the RUB price: $plans"
press $ALICE "plan:$PLAN" 556 >/dev/null
provs=$($TG "$TGPORT" wait editMessageText "$N" "\"callback_data\": \"pay:$PLAN:yookassa\"") || fail "no YooKassa button"
grep -q "pay:$PLAN:balance" <<<"$provs" && grep -q "pay:$PLAN:stars" <<<"$provs" || fail "providers: $provs"
press $ALICE "pay:$PLAN:yookassa" 556 >/dev/null
link=$($TG "$TGPORT" wait editMessageText "$N" 'yoomoney.fake/checkout') || fail "no pay button"
PAYURL=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['url'] for r in d['reply_markup']['inline_keyboard'] for b in r if 'url' in b][0])" "$link")
YKID=${PAYURL#*orderId=}
[[ $PAYURL == https://yoomoney.fake/checkout?orderId=* && -n $YKID ]] || fail "pay URL: $PAYURL"
N=$($TG "$TGPORT" next)
curl -fsS -X POST "http://127.0.0.1:$YKPORT/_control/pay" --data-binary "{\"id\":\"$YKID\",\"times\":2}" >/dev/null ||
    fail "the fake did not pay"
notice=$($TG "$TGPORT" wait sendMessage "$N" 'Оплата получена' 15) || fail "no payment notice after the YooKassa webhook"
grep -q "\"chat_id\": $ALICE" <<<"$notice" && grep -q '/sub/' <<<"$notice" || fail "notice: $notice"
echo "transcript: yookassa pay button -> $PAYURL; notice -> $(jget "$notice" "['text']" | tr '\n' ' ')"
photo=$($TG "$TGPORT" wait sendPhoto "$N" '"png": true' 10) || fail "no QR code photo after the payment"
python3 -c "
import json,sys
p=json.loads(sys.argv[1]); f=p['photo']
assert p['chat_id']=='$ALICE' and f['content_type']=='image/png' and f['width']==f['height']>=200, p
print('transcript: sendPhoto (multipart) -> chat %s, %s %dx%d PNG, %d bytes, caption: %s' % (p['chat_id'], f['filename'], f['width'], f['height'], f['size'], p['caption']))" "$photo" ||
    fail "QR photo: $photo"
ok "YooKassa: Buy -> plan -> card -> pay URL -> webhook -> the customer is told with the link and QR code"

# The QR button under "My subscription" sends the code again.
N=$($TG "$TGPORT" next)
q=$(press $ALICE qr 556)
$TG "$TGPORT" wait sendPhoto "$N" '"png": true' 10 >/dev/null || fail "no QR code photo from the button"
$TG "$TGPORT" wait answerCallbackQuery "$N" "$q" >/dev/null || fail "QR button not answered"
ok "the QR code button sends the subscription QR as a PNG photo"

# The balance pays at once (not enough: an alert; topped up: the notice right away).
N=$($TG "$TGPORT" next)
q=$(press $ALICE "pay:$PLAN:balance" 557)
alert=$($TG "$TGPORT" wait answerCallbackQuery "$N" "$q") || fail "balance callback not answered"
grep -q '"show_alert": true' <<<"$alert" || fail "an empty balance paid: $alert"
[[ $(call POST "/api/v1/users/$USER/balance" '{"delta": 29900}') == 200* ]] || fail "top-up"
q=$(press $ALICE "pay:$PLAN:balance" 557)
$TG "$TGPORT" wait sendMessage "$N" 'Оплата получена' 10 >/dev/null || fail "no notice after paying from the balance"
$TG "$TGPORT" wait answerCallbackQuery "$N" "$q" >/dev/null || fail "balance payment not answered"
ok "the balance pays at once and the customer is told"

# Every settled payment was announced exactly once (the job and the direct paths never both).
paid_total=$($TG "$TGPORT" count sendMessage 0 'Оплата получена')
[[ $paid_total == 3 ]] || fail "payment notices: $paid_total, want 3 (Stars, YooKassa, balance)"
ok "one notice per payment"

# Expiry reminders (the notices job): 3 days before the end, then when it has expired, once each.
db() { sqlite3 -cmd '.timeout 5000' "$WORK/hub.db" "$1"; }
r=$(call POST /api/v1/plans '{"name":"Two days","duration_days":2}'); [[ $r == 201* ]] || fail "plan: $r"
SHORT=$(jget "${r#* }" "['id']")
remind_user() { # remind_user TELEGRAM_ID -> the hub user id, with a fresh 2-day subscription
    local n r
    n=$($TG "$TGPORT" next)
    $TG "$TGPORT" inject "$(message "$1" en '/start')" >/dev/null
    $TG "$TGPORT" wait sendMessage "$n" "\"chat_id\": $1" >/dev/null || fail "no menu for $1"
    r=$(call GET "/api/v1/users?q=$1")
    local id
    id=$(jget "${r#* }" "['users'][0]['id']")
    r=$(call POST /api/v1/subscriptions "{\"user_id\": $id, \"plan_id\": $SHORT}"); [[ $r == 201* ]] || fail "grant: $r"
    echo "$id"
}
CAROL=7005
N=$($TG "$TGPORT" next)
CAROL_ID=$(remind_user $CAROL)
soon=$($TG "$TGPORT" wait sendMessage "$N" 'Your subscription ends on' 10) || fail "no 3-day reminder"
grep -q "\"chat_id\": $CAROL" <<<"$soon" || fail "reminder to the wrong chat: $soon"
echo "transcript: reminder -> $(jget "$soon" "['text']" | tr '\n' ' ')"
db "UPDATE subscriptions SET ends_at = CAST(strftime('%s','now') AS INTEGER) - 60 WHERE user_id = $CAROL_ID"
gone=$($TG "$TGPORT" wait sendMessage "$N" 'Your subscription has expired' 10) || fail "no expiry notice"
grep -q "\"chat_id\": $CAROL" <<<"$gone" || fail "expiry notice to the wrong chat: $gone"
ok "expiry reminders: 3 days before the end and when it expired"

# A reminder answered 403 marks the chat blocked; the blocked chat gets no more (checked after the
# restart below: its expiry would come before Dave's).
ERIN=7007
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $ERIN en '/start')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $ERIN" >/dev/null || fail "no menu for Erin"
r=$(call GET "/api/v1/users?q=$ERIN"); ERIN_ID=$(jget "${r#* }" "['users'][0]['id']")
$TG "$TGPORT" fail '{"method": "sendMessage", "status": 403}'
r=$(call POST /api/v1/subscriptions "{\"user_id\": $ERIN_ID, \"plan_id\": $SHORT}"); [[ $r == 201* ]] || fail "grant: $r"
wait_for "grep -q '\"event.action\":\"chat_blocked\",\"chat\":$ERIN' $WORK/hub-polling.log" 10 "Erin's reminder blocked"
db "UPDATE subscriptions SET ends_at = CAST(strftime('%s','now') AS INTEGER) - 90 WHERE user_id = $ERIN_ID"
ok "a reminder answered 403 marks the chat blocked"

# Restart: the first getUpdates continues after the last handled update.
LAST=$($TG "$TGPORT" inject "$(message $ALICE ru '/help')")
wait_for "[[ \$($TG $TGPORT state | python3 -c 'import json,sys; print(max(json.load(sys.stdin)[\"offsets\"]))') -gt $LAST ]]" 10 \
    "the last update handled"
stop_hub
BEFORE=$($TG "$TGPORT" state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["offsets"]))')
start_hub polling2
wait_for "[[ \$($TG $TGPORT state | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"offsets\"]))') -gt $BEFORE ]]" 10 "polling again"
FIRST=$($TG "$TGPORT" state | python3 -c "import json,sys; print(json.load(sys.stdin)['offsets'][$BEFORE])")
[[ $FIRST == $((LAST + 1)) ]] || fail "offset after restart is $FIRST, want $((LAST + 1))"
ok "the offset is persisted across a restart"

# After the restart no reminder goes out twice: Dave's expiry notice (a pass after the restart,
# which handles Carol's earlier-ending subscription first) arrives, Carol's stay at one each.
DAVE=7006
N=$($TG "$TGPORT" next)
DAVE_ID=$(remind_user $DAVE)
db "UPDATE subscriptions SET ends_at = CAST(strftime('%s','now') AS INTEGER) - 30 WHERE user_id = $DAVE_ID"
$TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $DAVE, \"text\": \"<b>Your subscription has expired" 10 >/dev/null ||
    fail "no expiry notice for Dave after the restart"
[[ $($TG "$TGPORT" count sendMessage 0 "\"chat_id\": $CAROL, \"text\": \"<b>Your subscription ends on") == 1 &&
   $($TG "$TGPORT" count sendMessage 0 "\"chat_id\": $CAROL, \"text\": \"<b>Your subscription has expired") == 1 ]] ||
    fail "Carol's reminders repeated after the restart"
[[ $($TG "$TGPORT" count sendMessage 0 "\"chat_id\": $ERIN, \"text\": \"<b>Your subscription has expired") == 0 ]] ||
    fail "a blocked chat got a reminder"
ok "reminders are sent once per event across a restart"

# 429: the bot waits retry_after before calling again.
N=$($TG "$TGPORT" next)
$TG "$TGPORT" fail '{"method": "sendMessage", "status": 429, "retry_after": 2}'
$TG "$TGPORT" inject "$(message $ALICE ru '/help')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'veil_help' >/dev/null || fail "no help after 429"
python3 -c "
import sys
rows=[l.split() for l in sys.stdin.read().splitlines()]
assert len(rows)==2 and rows[0][0]=='429' and rows[1][0]=='200', rows
gap=float(rows[1][1])-float(rows[0][1])
assert gap>=2.0, gap
print('ok - 429 honoured: retried after %.2f s (retry_after 2)' % gap)" <<<"$($TG "$TGPORT" attempts sendMessage "$N")" ||
    fail "429 not honoured"

# Telegram failing (500) twice: the update is handled again on the next rounds, not skipped.
N=$($TG "$TGPORT" next)
$TG "$TGPORT" fail '{"method": "sendMessage", "status": 500, "times": 2}'
$TG "$TGPORT" inject "$(message $ALICE ru '/help')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'veil_help' 20 >/dev/null || fail "update lost after Telegram errors"
[[ $($TG "$TGPORT" attempts sendMessage "$N" | cut -d' ' -f1 | tr '\n' ' ') == "500 500 200 " ]] ||
    fail "attempts: $($TG "$TGPORT" attempts sendMessage "$N")"
ok "an update whose reply failed is retried until it succeeds"

# 403: the chat is marked blocked. The newcomer came through Alice's referral link.
$TG "$TGPORT" fail '{"method": "sendMessage", "status": 403}'
$TG "$TGPORT" inject "$(message 7002 en "/start ref_$REFCODE")" >/dev/null
wait_for "grep -q '\"event.action\":\"chat_blocked\".*7002' $WORK/hub-polling2.log" 10 "chat_blocked logged"
ok "403 marks the chat blocked"
r=$(call GET "/api/v1/users?q=7002")
[[ $(jget "${r#* }" "['users'][0]['referrer_id']") == "$USER" ]] || fail "referrer not recorded: $r"
ok "/start ref_<code> records the referrer"

# Frank comes through Alice's link and pays with YooKassa (the webhook twice): Alice's 10 %
# referral reward is booked once.
FRANK=7008
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $FRANK en "/start ref_$REFCODE")" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $FRANK" >/dev/null || fail "no menu for Frank"
press $FRANK "pay:$PLAN:yookassa" 600 >/dev/null
link=$($TG "$TGPORT" wait editMessageText "$N" 'yoomoney.fake/checkout') || fail "no pay button for Frank"
PAYURL=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['url'] for r in d['reply_markup']['inline_keyboard'] for b in r if 'url' in b][0])" "$link")
curl -fsS -X POST "http://127.0.0.1:$YKPORT/_control/pay" --data-binary "{\"id\":\"${PAYURL#*orderId=}\",\"times\":2}" >/dev/null ||
    fail "the fake did not pay"
$TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $FRANK, \"text\": \"Payment received" 15 >/dev/null || fail "Frank not told"

# /ref: the personal t.me link (bot username from getMe), the invited count, the reward.
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $ALICE ru '/ref')" >/dev/null
ref=$($TG "$TGPORT" wait sendMessage "$N" "t.me/veil_test_bot?start=ref_$REFCODE") || fail "no referral link"
grep -q 'Приглашено: 2' <<<"$ref" || fail "invited count: $ref"
grep -q 'Заработано: 29.90 RUB' <<<"$ref" || fail "referral reward not booked exactly once: $ref"
echo "transcript: /ref -> $(jget "$ref" "['text']" | tr '\n' ' ')"
ok "/ref shows t.me/<bot>?start=ref_<code>, the invited count and the reward booked once"

# /balance: the amount and the ledger (the admin top-up, the purchase it paid for, the reward).
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $ALICE ru '/balance')" >/dev/null
bal=$($TG "$TGPORT" wait sendMessage "$N" 'Баланс: 29.90 RUB') || fail "no balance"
grep -q 'покупка' <<<"$bal" && grep -q 'корректировка' <<<"$bal" && grep -q '+29.90 RUB · реферальное' <<<"$bal" ||
    fail "history: $bal"
echo "transcript: /balance -> $(jget "$bal" "['text']" | tr '\n' ' ')"
ok "/balance shows the balance and its history"

# /lang: English is stored and used; the button switches back to Russian.
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $ALICE ru '/lang en')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'Language: English.' >/dev/null || fail "/lang en not answered in English"
r=$(call GET "/api/v1/users/$USER"); [[ $(jget "${r#* }" "['language']") == en ]] || fail "language not stored: $r"
$TG "$TGPORT" inject "$(message $ALICE ru '/help')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'Commands: /start' >/dev/null || fail "/help not in the stored language"
press $ALICE lang:ru 558 >/dev/null
$TG "$TGPORT" wait editMessageText "$N" 'Язык: русский.' >/dev/null || fail "lang:ru button"
r=$(call GET "/api/v1/users/$USER"); [[ $(jget "${r#* }" "['language']") == ru ]] || fail "language not stored: $r"
ok "/lang switches and stores the language"
stop_hub

# Webhook mode.
write_config webhook
start_hub webhook
hook() { # hook SECRET BODY -> status
    local h=()
    [[ -n $1 ]] && h=(-H "X-Telegram-Bot-Api-Secret-Token: $1")
    curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/telegram" "${h[@]}" \
        -H 'Content-Type: application/json' --data-binary "$2"
}
upd="{\"update_id\": 5000, $(message 7003 en '/start' | sed 's/^{//')"
[[ $(hook "wrong$SECRET" "$upd") == 401 ]] || fail "wrong secret not 401"
[[ $(hook "" "$upd") == 401 ]] || fail "missing secret not 401"
[[ $(hook "${SECRET:0:5}" "$upd") == 401 ]] || fail "secret prefix not 401"
[[ $(hook "$SECRET" '{"update_id": "x"}') == 400 ]] || fail "malformed update not 400"
[[ $(hook "$SECRET" '{"update_id": 1, "message": [') == 400 ]] || fail "truncated update not 400"
N=$($TG "$TGPORT" next)
[[ $(hook "$SECRET" "$upd") == 200 ]] || fail "good update not 200"
$TG "$TGPORT" wait sendMessage "$N" 'Main menu' >/dev/null || fail "no English menu via webhook"
ok "webhook: wrong/missing secret 401, malformed 400, a good update handled"
stop_hub
