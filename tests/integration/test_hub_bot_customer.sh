#!/usr/bin/env bash
# The bot's customer screens and notices against tests/fakes/fake_telegram.py (polling) and
# billing's fake YooKassa: quota notices at 80 % and 100 % once per reset period; the referrer
# told of a referral reward once; a notice held while the chat blocked the bot and sent when
# my_chat_member says "member"; /start promo_<code> (applied to the next invoice; unknown and
# expired codes refused); Balance -> Top up -> amount -> YooKassa -> paid -> the balance grows and
# the customer is told; Devices (the HWIDs of /sub fetches) and freeing a slot; the "add to app"
# buttons and the /add/<app>/<token> redirect. Assertions on what the fake received and the DB.
# The hub seals personal columns (master_key_file): Telegram ids are opened for every notice.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

command -v sqlite3 >/dev/null || skip_all "sqlite3 not installed"
BOT_FIRST_NAME=C
bot_fakes yookassa

head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$WORK/master.key"
chmod 600 "$WORK/master.key"
bot_write_config "$(bot_billing_yookassa)" '"mode": "polling", "poll_timeout": 1' "\"master_key_file\": \"$WORK/master.key\"" \
    "Veil VPN"
start_hub hub

member() { # member FROM STATUS: a my_chat_member update
    $TG "$TGPORT" inject "{\"my_chat_member\": {\"chat\": {\"id\": $1, \"type\": \"private\"}, \"from\": $(user_json "$1" en),
        \"date\": 1, \"old_chat_member\": {\"status\": \"member\", \"user\": {\"id\": 1, \"is_bot\": true, \"first_name\": \"B\"}},
        \"new_chat_member\": {\"status\": \"$2\", \"user\": {\"id\": 1, \"is_bot\": true, \"first_name\": \"B\"}}}}"
}
handled() { # handled UPDATE_ID: waits until the poller moved past it
    wait_for "[[ \$($TG $TGPORT state | python3 -c 'import json,sys; print(max(json.load(sys.stdin)[\"offsets\"]))') -gt $1 ]]" 10 \
        "update $1 handled"
}
start_user() { # start_user TELEGRAM_ID LANG [PAYLOAD] -> the hub user id
    local n r
    n=$($TG "$TGPORT" next)
    $TG "$TGPORT" inject "$(message "$1" "$2" "/start${3:+ $3}")" >/dev/null
    $TG "$TGPORT" wait sendMessage "$n" "\"chat_id\": $1" >/dev/null || fail "no menu for $1"
    r=$(call GET "/api/v1/users?q=$1")
    jget "${r#* }" "['users'][0]['id']"
}
pay_url_of() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['url'] for r in d['reply_markup']['inline_keyboard'] for b in r if 'url' in b][0])" "$1"; }
yk_pay() { # yk_pay PAY_URL TIMES: the fake YooKassa pays and sends the webhook TIMES times
    curl -fsS -X POST "http://127.0.0.1:$YKPORT/_control/pay" --data-binary "{\"id\":\"${1#*orderId=}\",\"times\":$2}" >/dev/null ||
        fail "the fake did not pay"
}

r=$(call POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"XTR":250,"RUB":29900}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/plans '{"name":"Quota","duration_days":30,"quota_bytes":1000000000,"reset_strategy":"monthly"}')
[[ $r == 201* ]] || fail "plan: $r"
QPLAN=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/plans '{"name":"Two devices","duration_days":30,"device_limit":2}'); [[ $r == 201* ]] || fail "plan: $r"
DPLAN=$(jget "${r#* }" "['id']")

# ---- 1a. Quota: 80 % then 100 %, once each per reset period (the event names last_reset_at). ----
QUINN=8101
Q_ID=$(start_user $QUINN en)
[[ $(db "SELECT count(*) FROM users WHERE telegram_id IS NOT NULL") == 0 && $(db "SELECT count(*) FROM users WHERE telegram_enc IS NOT NULL") == 1 ]] ||
    fail "Telegram ids not sealed: $(db "SELECT id, telegram_id, telegram_enc IS NOT NULL FROM users")"
r=$(call POST /api/v1/subscriptions "{\"user_id\": $Q_ID, \"plan_id\": $QPLAN}"); [[ $r == 201* ]] || fail "grant: $r"
Q_SUB=$(jget "${r#* }" "['id']")
N=$($TG "$TGPORT" next)
db "UPDATE subscriptions SET used_up = 100000000, used_down = 700000000 WHERE id = $Q_SUB" # 80 %
q80=$($TG "$TGPORT" wait sendMessage "$N" 'You have used 80 % of your traffic.' 10) || fail "no 80 % notice"
grep -q "\"chat_id\": $QUINN" <<<"$q80" && grep -q 'Used: 762.94 MiB / 953.67 MiB' <<<"$q80" || fail "80 % notice: $q80"
echo "transcript: quota -> $(jget "$q80" "['text']" | tr '\n' ' ')"
db "UPDATE subscriptions SET used_down = 950000000 WHERE id = $Q_SUB" # 105 %
$TG "$TGPORT" wait sendMessage "$N" 'Your traffic is used up' 10 >/dev/null || fail "no 100 % notice"
RESET=$(db "SELECT last_reset_at FROM subscriptions WHERE id = $Q_SUB")
sleep 2.5 # two more notice passes (interval 1 s): nothing is sent twice
[[ $($TG "$TGPORT" count sendMessage "$N" 'You have used 80 %') == 1 && $($TG "$TGPORT" count sendMessage "$N" 'Your traffic is used up') == 1 ]] ||
    fail "quota notices repeated"
[[ $(db "SELECT kind FROM bot_notices WHERE ref_id = $Q_SUB AND kind LIKE 'q%' ORDER BY kind") == "q100@$RESET"$'\n'"q80@$RESET" ]] ||
    fail "bot_notices: $(db "SELECT * FROM bot_notices WHERE ref_id = $Q_SUB")"
# A new period (the reset moves last_reset_at): told again. Written as the scheduler's reset would
# leave it (active, under the quota), so its own pass has nothing to write back over it.
N2=$($TG "$TGPORT" next) # wait for the new notice, not the first period's
db "UPDATE subscriptions SET state = 'active', last_reset_at = last_reset_at + 1, used_up = 0, used_down = 850000000 WHERE id = $Q_SUB"
$TG "$TGPORT" wait sendMessage "$N2" 'You have used 80 %' 10 >/dev/null && [[ $($TG "$TGPORT" count sendMessage "$N" 'You have used 80 %') == 2 ]] ||
    fail "no 80 % notice in the new period"
$TG "$TGPORT" inject "$(message $QUINN en '/sub')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'Traffic: 810.62 MiB / 953.67 MiB' 10 >/dev/null || fail "My subscription without the traffic"
ok "quota notices: 80 % and 100 % once per subscription per reset period"

# ---- 2. Promo codes: /start promo_<code>; the next invoice is discounted; bad codes explained. ----
[[ $(call POST /api/v1/promo-codes '{"code":"HALF-OFF","kind":"percent","value":50}') == 201* ]] || fail "promo"
[[ $(call POST /api/v1/promo-codes '{"code":"OLD","kind":"percent","value":10,"valid_until":1000}') == 201* ]] || fail "promo"
PAULA=8102
N=$($TG "$TGPORT" next)
P_ID=$(start_user $PAULA ru promo_HALF-OFF)
promo=$($TG "$TGPORT" wait sendMessage "$N" 'Промокод применится к следующей покупке' 10) || fail "promo not confirmed"
grep -q '<b>HALF-OFF</b> (50 % скидки)' <<<"$promo" || fail "promo text: $promo"
[[ $(db "SELECT c.code FROM bot_state s JOIN promo_codes c ON c.id = s.value WHERE s.name = 'promo:u$P_ID'") == HALF-OFF ]] ||
    fail "promo not kept"
press $PAULA "plan:$PLAN" 700 >/dev/null
$TG "$TGPORT" wait editMessageText "$N" 'Промокод: <b>HALF-OFF</b>' 10 >/dev/null || fail "the plan screen does not show the kept code"
press $PAULA "pay:$PLAN:stars" 700 >/dev/null
inv=$($TG "$TGPORT" wait sendInvoice "$N" "\"chat_id\": $PAULA") || fail "no invoice"
[[ $(jget "$inv" "['prices'][0]['amount']") == 125 ]] || fail "promo not applied to the invoice: $inv"
PAYLOAD=$(jget "$inv" "['payload']")
[[ $(db "SELECT p.discount_minor || ' ' || c.code FROM payments p JOIN promo_codes c ON c.id = p.promo_id WHERE p.id = $PAYLOAD") == "125 HALF-OFF" ]] ||
    fail "payment row without the promo"
ok "/start promo_<code> keeps billing's promo code and the next invoice is discounted (250 -> 125 Stars)"
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $PAULA ru '/start promo_NOPE')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'Такого промокода нет.' 10 >/dev/null || fail "unknown code not explained"
$TG "$TGPORT" inject "$(message $PAULA ru '/start promo_OLD')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" 'Срок действия промокода истёк' 10 >/dev/null || fail "expired code not explained"
[[ $(db "SELECT c.code FROM bot_state s JOIN promo_codes c ON c.id = s.value WHERE s.name = 'promo:u$P_ID'") == HALF-OFF ]] ||
    fail "a refused code replaced the kept one"
ok "unknown and expired promo codes get a clear message"

# ---- 3. Top-up: Balance -> Top up -> 100.00 RUB -> YooKassa -> paid -> balance + notice. ----
TOM=8103
T_ID=$(start_user $TOM en)
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $TOM en '/balance')" >/dev/null
$TG "$TGPORT" wait sendMessage "$N" '"callback_data": "topup"' 10 >/dev/null || fail "no Top up button under the balance"
press $TOM topup 710 >/dev/null
$TG "$TGPORT" wait editMessageText "$N" '"callback_data": "topup:10000"' 10 >/dev/null || fail "no amounts"
press $TOM topup:10000 710 >/dev/null
provs=$($TG "$TGPORT" wait editMessageText "$N" '"callback_data": "tpay:10000:yookassa"' 10) || fail "no top-up providers"
grep -q 'tpay:10000:stars\|tpay:10000:balance' <<<"$provs" && fail "Stars or the balance offered for a RUB top-up: $provs"
press $TOM tpay:10000:yookassa 710 >/dev/null
link=$($TG "$TGPORT" wait editMessageText "$N" 'yoomoney.fake/checkout' 10) || fail "no top-up pay button"
PAYURL=$(pay_url_of "$link")
[[ $(db "SELECT coalesce(plan_id, 0) || ' ' || amount_minor || ' ' || currency || ' ' || status FROM payments WHERE user_id = $T_ID") == "0 10000 RUB pending" ]] ||
    fail "top-up payment row: $(db "SELECT * FROM payments WHERE user_id = $T_ID")"
yk_pay "$PAYURL" 2
topped=$($TG "$TGPORT" wait sendMessage "$N" 'Your balance was topped up: +100.00 RUB' 15) || fail "no top-up notice"
grep -q "\"chat_id\": $TOM" <<<"$topped" && grep -q 'Balance: 100.00 RUB' <<<"$topped" || fail "top-up notice: $topped"
[[ $(db "SELECT balance_minor FROM users WHERE id = $T_ID") == 10000 ]] || fail "balance not credited once"
[[ $(db "SELECT count(*) || ' ' || sum(delta_minor) FROM balance_ledger WHERE user_id = $T_ID AND reason = 'topup'") == "1 10000" ]] ||
    fail "ledger: $(db "SELECT * FROM balance_ledger WHERE user_id = $T_ID")"
sleep 1.5
[[ $($TG "$TGPORT" count sendMessage "$N" 'Your balance was topped up') == 1 ]] || fail "top-up notice repeated"
echo "transcript: top-up -> $(jget "$topped" "['text']" | tr '\n' ' ')"
ok "Balance -> Top up -> amount -> YooKassa -> webhook (twice): the balance grows once and the customer is told once"

# ---- 1b. Referral reward: Tom's referee pays; Tom is told once (the webhook comes twice). ----
REFCODE=$(db "SELECT referral_code FROM users WHERE id = $T_ID")
RITA=8104
N=$($TG "$TGPORT" next)
start_user $RITA en "ref_$REFCODE" >/dev/null
press $RITA "pay:$PLAN:yookassa" 720 >/dev/null
link=$($TG "$TGPORT" wait editMessageText "$N" 'yoomoney.fake/checkout' 10) || fail "no pay button for Rita"
yk_pay "$(pay_url_of "$link")" 2
reward=$($TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $TOM, \"text\": \"<b>You earned a referral reward: 29.90 RUB" 15) ||
    fail "no referral reward notice"
sleep 1.5
[[ $($TG "$TGPORT" count sendMessage "$N" 'You earned a referral reward') == 1 ]] || fail "reward notice repeated"
[[ $(db "SELECT count(*) FROM bot_notices n JOIN referral_rewards r ON r.id = n.ref_id WHERE n.kind = 'reward' AND r.referrer_id = $T_ID") == 1 ]] ||
    fail "reward notice not recorded"
echo "transcript: reward -> $(jget "$reward" "['text']" | tr '\n' ' ')"
ok "the referrer is told of the referral reward once"

# ---- 1c. Blocked: a notice waits while the chat blocked the bot, and goes out when it is back. ----
N=$($TG "$TGPORT" next)
handled "$(member $TOM kicked)"
# bot_chats names a sealed user by the keyed ref on the user row, never by the Telegram id
[[ $(db "SELECT count(*) FROM bot_chats WHERE telegram_id = $TOM") == 0 ]] || fail "bot_chats holds a plaintext Telegram id"
[[ $(db "SELECT c.blocked FROM bot_chats c JOIN users u ON c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id) WHERE u.id = $T_ID") == 1 ]] || fail "kicked not recorded"
r=$(call POST /api/v1/invoices "{\"user_id\": $T_ID, \"plan_id\": $PLAN, \"provider\": \"balance\"}") # 299.00 > 100.00 + 29.90
[[ $r == 409* ]] || fail "balance invoice: $r"
[[ $(call POST "/api/v1/users/$T_ID/balance" '{"delta": 29900}') == 200* ]] || fail "admin top-up"
r=$(call POST /api/v1/invoices "{\"user_id\": $T_ID, \"plan_id\": $PLAN, \"provider\": \"balance\"}"); [[ $r == 201* ]] || fail "balance invoice: $r"
BAL_PAY=$(jget "${r#* }" "['payment_id']")
sleep 2.5
[[ $($TG "$TGPORT" count sendMessage "$N" "\"chat_id\": $TOM") == 0 ]] || fail "a blocked chat was sent to"
[[ $(db "SELECT count(*) FROM bot_notices WHERE kind = 'paid' AND ref_id = $BAL_PAY") == 0 ]] || fail "the held notice was claimed"
member $TOM member >/dev/null
back=$($TG "$TGPORT" wait sendMessage "$N" "\"chat_id\": $TOM, \"text\": \"Payment received" 10) || fail "not sent after member"
[[ $(db "SELECT c.blocked FROM bot_chats c JOIN users u ON c.telegram_id = COALESCE(u.telegram_ref, u.telegram_id) WHERE u.id = $T_ID") == 0 ]] || fail "member did not clear blocked"
ok "a payment notice held while the chat was blocked goes out after my_chat_member \"member\""

# ---- 4. Devices: the HWIDs of /sub fetches, freeing a slot. ----
DORA=8105
D_ID=$(start_user $DORA en)
r=$(call POST /api/v1/subscriptions "{\"user_id\": $D_ID, \"plan_id\": $DPLAN}"); [[ $r == 201* ]] || fail "grant: $r"
D_TOKEN=$(db "SELECT sub_token FROM users WHERE id = $D_ID")
fetch() { curl -sS -o /dev/null -D - -A "$2" -H "x-hwid: $1" "http://127.0.0.1:$HUBPORT/sub/$D_TOKEN"; }
fetch hwid-phone-0001 'Happ/1.63.1' | grep -qi 'x-hwid-max-devices-reached' && fail "first device refused"
fetch hwid-laptop-002 'v2rayN/7.0' | grep -qi 'x-hwid-max-devices-reached' && fail "second device refused"
fetch hwid-tablet-003 'Hiddify/2.0' | grep -qi 'x-hwid-max-devices-reached' || fail "third device allowed past the limit"
N=$($TG "$TGPORT" next)
$TG "$TGPORT" inject "$(message $DORA en '/sub')" >/dev/null
sub=$($TG "$TGPORT" wait sendMessage "$N" '"callback_data": "devices"' 10) || fail "no Devices button under My subscription"
grep -q 'Traffic: 0 B / unlimited' <<<"$sub" || fail "traffic of an unlimited plan: $sub"
$TG "$TGPORT" inject "$(message $DORA en '/devices')" >/dev/null
devs=$($TG "$TGPORT" wait sendMessage "$N" 'Devices: 2 / 2' 10) || fail "no device list"
grep -q 'Happ/1.63.1' <<<"$devs" && grep -q 'v2rayN/7.0' <<<"$devs" && grep -q 'Free a slot' <<<"$devs" || fail "devices: $devs"
DEV=$(db "SELECT id FROM devices WHERE user_id = $D_ID AND hwid = 'hwid-phone-0001'")
grep -q "\"callback_data\": \"devdel:$DEV\"" <<<"$devs" || fail "no free button for device $DEV: $devs"
# Someone else's device id is refused (an alert) and nothing is deleted.
OTHER=$(db "SELECT id FROM devices WHERE user_id = $D_ID AND hwid = 'hwid-laptop-002'")
q=$(press $QUINN "devdel:$OTHER" 730)
alert=$($TG "$TGPORT" wait answerCallbackQuery "$N" "$q") || fail "foreign devdel not answered"
grep -q '"show_alert": true' <<<"$alert" || fail "foreign device freed: $alert"
[[ $(db "SELECT count(*) FROM devices WHERE user_id = $D_ID") == 2 ]] || fail "a foreign devdel deleted something"
q=$(press $DORA "devdel:$DEV" 731)
$TG "$TGPORT" wait editMessageText "$N" 'The slot is free.' 10 >/dev/null || fail "slot not freed"
$TG "$TGPORT" wait answerCallbackQuery "$N" "$q" >/dev/null || fail "devdel not answered"
[[ $(db "SELECT count(*) FROM devices WHERE user_id = $D_ID") == 1 ]] || fail "device not deleted"
[[ $(db "SELECT count(*) FROM audit_log WHERE actor = 'bot' AND action = 'device.delete'") == 1 ]] || fail "not audited"
fetch hwid-tablet-003 'Hiddify/2.0' | grep -qi 'x-hwid-max-devices-reached' && fail "the freed slot is not usable"
ok "Devices lists the HWIDs and a freed slot takes a new device"

# ---- 5. Add to app: URL buttons under My subscription -> /add/<app>/<token> -> 302 deep link. ----
ADD=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); print([b['url'] for r in d['reply_markup']['inline_keyboard'] for b in r if b.get('text')=='Add to Happ'][0])" "$sub") ||
    fail "no Add to Happ button: $sub"
[[ $ADD == "http://127.0.0.1:$HUBPORT/add/happ/$D_TOKEN" ]] || fail "add URL: $ADD"
SUBURL="http://127.0.0.1:$HUBPORT/sub/$D_TOKEN"
loc() { curl -sS -o "$WORK/add.html" -D - "$1" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p'; }
[[ $(loc "$ADD") == "happ://add/$SUBURL" ]] || fail "happ redirect: $(loc "$ADD")"
grep -q "href=\"happ://add/$SUBURL\"" "$WORK/add.html" || fail "page without the link: $(cat "$WORK/add.html")"
ENC=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$SUBURL")
[[ $(loc "http://127.0.0.1:$HUBPORT/add/v2rayng/$D_TOKEN") == "v2rayng://install-config?name=Veil%20VPN&url=$ENC" ]] ||
    fail "v2rayng redirect: $(loc "http://127.0.0.1:$HUBPORT/add/v2rayng/$D_TOKEN")"
code() { curl -sS -o /dev/null -w '%{http_code}' "$1"; }
[[ $(code "http://127.0.0.1:$HUBPORT/add/happ/$D_TOKEN") == 302 ]] || fail "not 302"
[[ $(code "http://127.0.0.1:$HUBPORT/add/nosuchapp/$D_TOKEN") == 404 ]] || fail "unknown app not 404"
[[ $(code "http://127.0.0.1:$HUBPORT/add/happ/AAAAAAAAAAAAAAAAAAAAAA") == 404 ]] || fail "unknown token not 404"
[[ $(code "http://127.0.0.1:$HUBPORT/add/happ/short") == 404 ]] || fail "malformed token not 404"
[[ $(code "http://127.0.0.1:$HUBPORT/add/happ/%22%3E%3Cscript%3E") == 404 ]] || fail "hostile token not 404"
ok "add-to-app buttons open /add/<app>/<token>, which redirects into the app's scheme (unknown app/token 404)"

stop_hub
