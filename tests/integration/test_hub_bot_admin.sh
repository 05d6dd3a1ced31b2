#!/usr/bin/env bash
# The bot's admin side against tests/fakes/fake_telegram.py: a non-admin's /stats, /grant,
# /refund and /broadcast get the normal menu and change nothing; /stats matches the database;
# /find by id, Telegram id, @username and UUID; /grant extends (or creates) a subscription, seen
# through the admin API, and junk arguments get a clear reply; a Stars payment refunded with
# /refund calls refundStarPayment (user_id + charge id) and marks the payment refunded; every
# admin action has an audit row with actor tg:<admin>; per-user flood control drops a burst
# from one user while another is served (metric counted); a broadcast to 1,000 users is paced
# (<= 25 messages in any second, one per chat), survives kill -9 midway without sending anyone
# the text twice, and reports delivered / blocked / failed to the admin.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

command -v sqlite3 >/dev/null || skip_all "no sqlite3 command-line shell"
BOSS=9001  # the admin
ALICE=7001 # a customer
BOB=7002   # another customer, never subscribed
BULK=1000  # broadcast recipients besides the few above
BLOCK_FAKE=40 # of them, this many have blocked the bot without the hub knowing (403 on send)
BLOCK_KNOWN=15 # and this many are known blocked (bot_chats): not recipients

bot_fakes
bot_write_config '"stars": {"enabled": true}' "\"mode\": \"polling\", \"poll_timeout\": 1, \"admins\": [$BOSS]"
say() { # say FROM TEXT: injects a private message
    local text
    text=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$2")
    $TG "$TGPORT" inject "{\"message\": {\"message_id\": $RANDOM, \"date\": 1, \"chat\": {\"id\": $1, \"type\": \"private\"},
        \"from\": $(user_json "$1"), \"text\": $text}}" >/dev/null
}
ask() { # ask FROM TEXT [MATCH] -> the params of the bot's next sendMessage to FROM (containing MATCH)
    local n
    n=$($TG "$TGPORT" next)
    say "$1" "$2"
    $TG "$TGPORT" wait sendMessage "$n" "${3:-\"chat_id\": $1,}" 10
}
burst() { # burst FROM COUNT TEXT|press:DATA: COUNT updates injected back to back
    python3 - "$TGPORT" "$@" <<'PY'
import json, sys, urllib.request
port, who, count, what = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
user = {"id": who, "is_bot": False, "first_name": "U", "language_code": "en"}
chat = {"id": who, "type": "private"}
for i in range(count):
    if what.startswith("press:"):
        u = {"callback_query": {"id": "cqb%d" % i, "from": user, "chat_instance": "1", "data": what[6:],
                                "message": {"message_id": 555, "date": 1, "chat": chat}}}
    else:
        u = {"message": {"message_id": 1000 + i, "date": 1, "chat": chat, "from": user, "text": what}}
    urllib.request.urlopen(urllib.request.Request("http://127.0.0.1:%s/control/inject" % port,
                                                  data=json.dumps(u).encode(), method="POST"), timeout=10)
PY
}
text_of() { jget "$1" "['text']"; }
audits() { db "SELECT COUNT(*) FROM audit_log WHERE actor = 'tg:$BOSS' AND action = '$1'"; }
sub_of() { # sub_of USER -> "ends_at state" of the current subscription ("" when none)
    call GET "/api/v1/users/$1/subscriptions" | python3 -c "
import json,sys
a=json.loads(sys.stdin.read().split(' ',1)[1])['subscriptions']
r=[x for x in a if x['state'] in ('active','limited')]
print('%d %s' % (r[0]['ends_at'], r[0]['state']) if r else '')"
}

start_hub first
r=$(call POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"XTR":250}}'); [[ $r == 201* ]] || fail "plan: $r"
PLAN=$(jget "${r#* }" "['id']")
r=$(call POST /api/v1/nodes '{"name":"n1","address":"n1.vpn.test","public_key":"Z84J2IelR9ch3k8VtlVhhs5ycBUlXA7wHBWcBrjqnAw","short_ids":["ab12"]}')
[[ $r == 201* ]] || fail "node: $r"

ask $ALICE /start >/dev/null || fail "no menu for alice"
ask $BOB /start >/dev/null || fail "no menu for bob"
ALICE_ID=$(db "SELECT id FROM users WHERE telegram_id = $ALICE")
BOB_ID=$(db "SELECT id FROM users WHERE telegram_id = $BOB")
[[ -n $ALICE_ID && -n $BOB_ID ]] || fail "customers not registered"

# A Stars purchase by alice (the payment /refund takes back below).
N=$($TG "$TGPORT" next)
press $ALICE "pay:$PLAN:stars" >/dev/null
inv=$($TG "$TGPORT" wait sendInvoice "$N") || fail "no invoice"
PAY=$(jget "$inv" "['payload']")
$TG "$TGPORT" inject "{\"message\": {\"message_id\": 901, \"date\": 1, \"chat\": {\"id\": $ALICE, \"type\": \"private\"},
  \"from\": $(user_json $ALICE), \"successful_payment\": {\"currency\": \"XTR\", \"total_amount\": 250,
  \"invoice_payload\": \"$PAY\", \"telegram_payment_charge_id\": \"stxAdminCharge1\", \"provider_payment_charge_id\": \"\"}}}" >/dev/null
wait_for "[[ \$(db \"SELECT status FROM payments WHERE id = $PAY\") == succeeded ]]" 10 "the Stars payment settled"
$TG "$TGPORT" wait sendPhoto "$N" "\"chat_id\": \"$ALICE\"" >/dev/null || fail "no payment notice for alice"
ALICE_END=$(sub_of "$ALICE_ID"); ALICE_END=${ALICE_END%% *}

# A non-admin: the normal menu, nothing acted on.
for cmd in /stats "/find $ALICE" "/grant $BOB_ID 30" "/refund $PAY" "/broadcast hello all" /broadcast; do
    m=$(ask $ALICE "$cmd") || fail "no answer to a non-admin's $cmd"
    grep -q '"callback_data": "buy"' <<<"$m" || fail "a non-admin's $cmd did not get the menu: $m"
done
say $ALICE "not a broadcast text"
m=$(ask $ALICE /help) || fail "no help"
[[ $(db "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'bot.%' AND action <> 'bot.trial'") == 0 ]] ||
    fail "a non-admin's command was audited as an admin action"
[[ -z $(sub_of "$BOB_ID") && $(db "SELECT status FROM payments WHERE id = $PAY") == succeeded ]] ||
    fail "a non-admin's command changed something"
[[ $(db "SELECT COUNT(*) FROM bot_broadcasts") == 0 ]] || fail "a non-admin queued a broadcast"
[[ $($TG "$TGPORT" count refundStarPayment 0) == 0 ]] || fail "a non-admin's /refund reached Telegram"
ok "admin commands from a non-admin get the normal menu and change nothing"

# /stats: the numbers the database has.
m=$(ask $BOSS /stats) || fail "no /stats answer"
t=$(text_of "$m")
users=$(db "SELECT COUNT(*) FROM users")
paying=$(db "SELECT COUNT(DISTINCT user_id) FROM payments WHERE status IN ('succeeded','refunded')")
stars=$(db "SELECT SUM(amount_minor) FROM payments WHERE status = 'succeeded' AND provider <> 'balance' AND currency = 'XTR'")
nodes=$(db "SELECT COUNT(*) FROM nodes"); up=$(db "SELECT COUNT(*) FROM nodes WHERE health = 'up'")
grep -q "Users: $users (paying: $paying)" <<<"$t" || fail "/stats users: $t (db: $users, $paying)"
grep -q "Revenue today: $stars ⭐" <<<"$t" && grep -q "Revenue this month: $stars ⭐" <<<"$t" || fail "/stats revenue: $t"
grep -q "Nodes: $up up, $((nodes - up)) down (of $nodes)" <<<"$t" || fail "/stats nodes: $t"
ok "/stats: users $users, paying $paying, revenue $stars ⭐ today and this month, nodes as in the database"

# /find: by Telegram id, @username, UUID and user id; unknown and malformed names.
UUID=$(db "SELECT vless_uuid FROM users WHERE id = $ALICE_ID")
for who in "$ALICE" "tg:$ALICE" "@tg$ALICE" "$UUID" "$ALICE_ID"; do
    t=$(text_of "$(ask $BOSS "/find $who")") || fail "no /find $who answer"
    grep -q "User $ALICE_ID" <<<"$t" && grep -q "Telegram: $ALICE" <<<"$t" && grep -q "#$PAY · stars · 250 ⭐ · succeeded" <<<"$t" &&
        grep -q "Subscription .*: active until" <<<"$t" && grep -q "Traffic: 0 B of unlimited" <<<"$t" ||
        fail "/find $who: $t"
    [[ $t != *"$UUID"* ]] || fail "/find shows the UUID (a credential): $t"
done
grep -q "No user" <<<"$(text_of "$(ask $BOSS "/find @nobody_here")")" || fail "/find of nobody"
grep -q "Name the user" <<<"$(text_of "$(ask $BOSS "/find <b>x")")" || fail "/find of a malformed name"
ok "/find shows state, subscription end, traffic and payments by id, tg id, @username and UUID"

# /grant: extends alice's subscription by exactly 30 days, creates one for bob; junk refused.
t=$(text_of "$(ask $BOSS "/grant tg:$ALICE 30")")
grep -q "^Extended subscription" <<<"$t" || fail "/grant alice: $t"
e=$(sub_of "$ALICE_ID")
[[ ${e%% *} == $((ALICE_END + 30 * 86400)) ]] || fail "alice's subscription not extended by 30 days: $ALICE_END -> $e"
before=$(date +%s)
t=$(text_of "$(ask $BOSS "/grant $BOB_ID 7")")
grep -q "^Granted subscription" <<<"$t" || fail "/grant bob: $t"
e=$(sub_of "$BOB_ID")
(( ${e%% *} >= before + 7 * 86400 && ${e%% *} <= $(date +%s) + 7 * 86400 )) && [[ ${e#* } == active ]] ||
    fail "bob's granted subscription: $e"
for junk in "/grant" "/grant $BOB_ID" "/grant $BOB_ID abc" "/grant $BOB_ID 0" "/grant $BOB_ID -5" "/grant $BOB_ID 3661" \
    "/grant $BOB_ID 99999999999999999999999" "/grant $BOB_ID 7 extra" "/grant @nobody_here 7" "/refund" "/refund x1" \
    "/refund 99999999999999999999"; do
    t=$(text_of "$(ask $BOSS "$junk")") || fail "no answer to $junk"
    grep -Eq "Usage|Days must be|Too many|No user|whole number" <<<"$t" || fail "$junk: unclear reply: $t"
done
[[ $(sub_of "$BOB_ID") == "$e" ]] || fail "a junk /grant changed bob's subscription"
[[ $(audits bot.grant) == 2 ]] || fail "grants audited $(audits bot.grant) times, not 2"
ok "/grant extends or creates through the store and audits; junk arguments get a clear reply"

# /refund: refundStarPayment with the customer and the charge, then billing marks it refunded.
N=$($TG "$TGPORT" next)
t=$(text_of "$(ask $BOSS "/refund $PAY")")
grep -q "^Refunded payment $PAY: 250 ⭐ to Telegram user $ALICE" <<<"$t" || fail "/refund: $t"
rf=$($TG "$TGPORT" wait refundStarPayment "$N") || fail "no refundStarPayment call"
[[ $(jget "$rf" "['user_id']") == "$ALICE" && $(jget "$rf" "['telegram_payment_charge_id']") == stxAdminCharge1 ]] ||
    fail "refundStarPayment params: $rf"
[[ $(curl -fsS "http://127.0.0.1:$TGPORT/control/charges") == *'"refunded": true'* ]] || fail "the fake did not refund"
[[ $(db "SELECT status FROM payments WHERE id = $PAY") == refunded ]] || fail "payment not refunded in the database"
t=$(text_of "$(ask $BOSS "/refund $PAY")")
grep -q "Only a succeeded payment" <<<"$t" || fail "second /refund: $t"
[[ $($TG "$TGPORT" count refundStarPayment "$N") == 1 ]] || fail "refundStarPayment called again"
for a in bot.stats bot.find bot.refund; do
    (( $(audits $a) >= 1 )) || fail "no $a audit row with actor tg:$BOSS"
done
[[ $(db "SELECT COUNT(*) FROM audit_log WHERE action = 'payment.refund'") == 1 ]] ||
    fail "billing's refund not audited once"
ok "/refund: refundStarPayment(user_id, charge id) seen by the fake, payment refunded, audited with actor tg:$BOSS"

# Flood control: a burst of 40 messages from carol, then dave is answered at once.
CAROL=7003 DAVE=7004
N=$($TG "$TGPORT" next)
burst $CAROL 40 /help
m=$(ask $DAVE /help) || fail "dave not served during carol's burst"
wait_for "[[ \$($TG $TGPORT state | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"pending\"])') == 0 ]]" 20 \
    "the burst consumed"
served=$($TG "$TGPORT" count sendMessage "$N" "\"chat_id\": $CAROL,")
(( served >= 10 && served <= 20 )) || fail "carol's burst of 40: $served answered (want the bucket's 10 plus refill)"
dropped=$(curl -fsS "http://127.0.0.1:$HUBPORT/metrics" -H "Authorization: Bearer $ADMIN" |
    awk '$1 == "veil_hub_bot_updates_dropped_total" {print $2}')
(( dropped == 40 - served )) || fail "metric says $dropped dropped, $((40 - served)) were"
N=$($TG "$TGPORT" next)
burst $CAROL 12 press:help
$TG "$TGPORT" wait answerCallbackQuery "$N" 'Too fast' >/dev/null || fail "a dropped press was not answered"
ok "flood control: carol's burst of 40 got $served answers ($dropped dropped, counted), dave was served"

# Broadcast to 1,000 more users: some blocked the bot unknown to the hub (403), some known.
db "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BULK)
    INSERT INTO users (telegram_id, username, language, vless_uuid, sub_token, referral_code, currency, created_at,
                       updated_at, revision)
    SELECT 100000 + i, 'bulk' || i, 'en', printf('00000000-0000-4000-8000-%012d', i), 'tok' || i, 'ref' || i, 'RUB',
           0, 0, 0 FROM n;
    INSERT INTO bot_chats (telegram_id, blocked, updated_at) SELECT 100000 + i, 1, 0 FROM
      (WITH RECURSIVE m(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM m WHERE i < $BLOCK_KNOWN) SELECT i FROM m);"
python3 -c "
import json,urllib.request
ids=[100000 + $BLOCK_KNOWN + 1 + 7 * k for k in range($BLOCK_FAKE)]
urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$TGPORT/control/block',
    data=json.dumps({'chats': ids}).encode(), method='POST'), timeout=10)"
TEXT='Maintenance tonight <b>&</b> 5% off — «спасибо»'
# A bare /broadcast is cancelled by any other command: the next plain text is not broadcast.
ask $BOSS /broadcast "Send the broadcast text" >/dev/null || fail "bare /broadcast not answered"
ask $BOSS /start >/dev/null || fail "/start after /broadcast"
m=$(ask $BOSS "stray words") || fail "no answer to stray words"
grep -q '"callback_data": "buy"' <<<"$m" || fail "stray words after a cancelled /broadcast: $m"
[[ $(db "SELECT COUNT(*) FROM bot_broadcasts") == 0 ]] || fail "a cancelled /broadcast queued one"
EXPECT=$(db "SELECT COUNT(*) FROM users u WHERE telegram_id > 0 AND enabled = 1 AND NOT EXISTS
             (SELECT 1 FROM bot_chats c WHERE c.telegram_id = u.telegram_id AND c.blocked = 1)")
BC_START=$($TG "$TGPORT" next)
t=$(text_of "$(ask $BOSS /broadcast)"); grep -q "Send the broadcast text" <<<"$t" || fail "bare /broadcast: $t"
t=$(text_of "$(ask $BOSS "$TEXT" "queued for")"); grep -q "queued for $EXPECT users" <<<"$t" || fail "broadcast not queued: $t"
sent() { $TG "$TGPORT" count sendMessage "$BC_START" 'Maintenance tonight'; }
wait_for "(( \$(sent) >= 300 ))" 60 "a third of the broadcast"
kill -9 "$HUBPID"
wait "$HUBPID" 2>/dev/null || true
at_kill=$(sent)
start_hub second
(( $(sent) >= at_kill )) || fail "count went backwards"
REPORT_AT=$BC_START
rep=$($TG "$TGPORT" wait sendMessage "$REPORT_AT" "finished:" 120) || fail "no broadcast report"
python3 - "$TGPORT" "$BC_START" "$EXPECT" "$BLOCK_FAKE" "$(jget "$rep" "['text']")" "$TEXT" <<'EOF' || fail "broadcast checks"
import collections, json, re, sys, urllib.request
port, since, expect, block_fake, report, text = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
calls = json.load(urllib.request.urlopen("http://127.0.0.1:%s/control/calls?since=%d" % (port, since)))["calls"]
esc = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
bc = [c for c in calls if c["method"] == "sendMessage" and c["params"].get("text") == esc]
ok = [c for c in bc if c["status"] == 200]
per_chat = collections.Counter(c["params"]["chat_id"] for c in bc)
dup = [k for k, v in per_chat.items() if v > 1]
assert not dup, "chats sent the broadcast twice: %s" % dup[:5]
m = re.search(r"(\d+) delivered, (\d+) blocked, (\d+) failed \((\d+) of them interrupted.*of (\d+)", report)
assert m, "report: " + report
delivered, blocked, failed, unknown, total = map(int, m.groups())
assert total == expect, "report total %d, expected %d" % (total, expect)
# A send the kill interrupted is counted unknown whether or not it reached Telegram.
assert delivered <= len(ok) <= delivered + unknown, "report delivered %d (%d unknown), the fake got %d" % (
    delivered, unknown, len(ok))
assert blocked == block_fake == sum(1 for c in bc if c["status"] == 403), "blocked %d" % blocked
assert failed == unknown <= 1, "failed %d unknown %d" % (failed, unknown)
# Every recipient got it once, but for one a kill may have left unknown (never resent).
assert len(per_chat) in (expect - unknown, expect), "%d chats reached of %d (unknown %d)" % (len(per_chat), expect, unknown)
ts = sorted(c["t"] for c in bc)
j, worst = 0, 0
for i in range(len(ts)):
    while ts[i] - ts[j] >= 1.0:
        j += 1
    worst = max(worst, i - j + 1)
assert worst <= 25, "%d broadcast messages within one second" % worst
print("broadcast: %d sends, %d delivered, %d blocked, %d unknown; busiest second %d" %
      (len(bc), delivered, blocked, unknown, worst))
EOF
[[ $(db "SELECT COUNT(*) FROM bot_broadcasts WHERE done = 1") == 1 ]] || fail "broadcast not marked done"
(( $(db "SELECT COUNT(*) FROM bot_chats WHERE blocked = 1") >= BLOCK_KNOWN + BLOCK_FAKE )) || fail "403s not marked blocked"
[[ $(audits bot.broadcast) == 1 ]] || fail "broadcast not audited"
ok "broadcast to $EXPECT users: paced, killed at $at_kill sent, resumed without a duplicate, report correct"

stop_hub
ok "hub stopped cleanly"
