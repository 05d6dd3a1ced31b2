#!/usr/bin/env bash
# Suspicious-activity analysis in a running veil-hub (issue 16 item 5): one customer's /sub link
# is fetched from twelve loopback source addresses (127.0.0.2-13, curl --interface), another's
# from one; within an analysis pass the leaked_link finding appears for the first only, in
# GET /api/v1/findings and veil_hub_findings_open; with "action": "rotate" the leaked link stops
# working (404) and the rotation is audited; the bot's admins are told once (fake Telegram);
# POST .../ack closes it and the gauge drops to 0; SIGHUP applies new thresholds.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

bot_fakes
bot_write_config "" '"mode": "polling", "poll_timeout": 1, "admins": [4242, 4343]' \
    '"analysis": {"interval": 10, "leaked_link": {"window": 600, "ips": 10, "action": "rotate"}}'
start_hub analysis
LEAKED=$(api POST /api/v1/users '{"username": "leaked"}')
LEAKED_ID=$(field "['id']" <<<"$LEAKED"); LEAKED_TOK=$(field "['sub_token']" <<<"$LEAKED")
QUIET=$(api POST /api/v1/users '{"username": "quiet"}')
QUIET_TOK=$(field "['sub_token']" <<<"$QUIET")

curl -fsS --interface 127.0.0.2 -o /dev/null "$BASE/sub/$LEAKED_TOK" 2>"$WORK/bind.log" ||
    skip_all "cannot fetch from 127.0.0.2: $(cat "$WORK/bind.log")"
for i in $(seq 3 13); do
    curl -fsS --interface "127.0.0.$i" -A "v2rayNG/1.8.$i" -o /dev/null "$BASE/sub/$LEAKED_TOK" ||
        fail "fetch from 127.0.0.$i"
done
for i in 1 2 3; do curl -fsS --interface 127.0.0.20 -o /dev/null "$BASE/sub/$QUIET_TOK" || fail "quiet fetch"; done
ok "/sub fetched from 12 loopback addresses (leaked) and from one (quiet)"

findings() { api GET "/api/v1/findings?kind=leaked_link"; }
wait_for "findings | grep -q '\"user:$LEAKED_ID\"'" 30 "a leaked_link finding for user:$LEAKED_ID"
F=$(findings)
python3 -c '
import json, sys
f = json.load(sys.stdin)["findings"]
assert len(f) == 1, f  # the quiet user has none
f = f[0]
assert f["subject"] == "user:" + sys.argv[1] and f["state"] == "open" and f["severity"] == "critical", f
assert f["details"]["addresses"] == 12, f
assert "127.0.0.13" in f["details"]["seen"], f
' "$LEAKED_ID" <<<"$F" || fail "findings: $F"
FID=$(field "['findings'][0]['id']" <<<"$F")
ok "leaked_link finding $FID for user:$LEAKED_ID (12 addresses), none for the quiet user"

gauge() { curl -fsS -H "Authorization: Bearer $ADMIN" "$BASE/metrics" |
          awk '$1 == "veil_hub_findings_open{kind=\"leaked_link\"}" {print $2}'; }
[ "$(gauge)" = 1 ] || fail "veil_hub_findings_open{kind=\"leaked_link\"} is '$(gauge)', not 1"
ok "veil_hub_findings_open{kind=\"leaked_link\"} 1"

# The bot tells each admin once.
for chat in 4242 4343; do
    $TG "$TGPORT" wait sendMessage 0 "\"chat_id\": $chat" 20 >"$WORK/notice.$chat" ||
        fail "no notice to admin $chat"
    grep -q "leaked_link" "$WORK/notice.$chat" || fail "the notice to $chat: $(cat "$WORK/notice.$chat")"
done
# A later analysis pass (count 2) comes after many notice passes (every scheduler second).
wait_for "[ \"\$(findings | field \"['findings'][0]['count']\")\" -ge 2 ]" 30 "a second analysis pass"
[ "$($TG "$TGPORT" count sendMessage 0 leaked_link)" = 2 ] || fail "admins told more than once"
ok "the bot told both admins of the finding, once"

code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$LEAKED_TOK")
[ "$code" = 404 ] || fail "the leaked link still answers $code after rotation"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$QUIET_TOK")
[ "$code" = 200 ] || fail "the quiet user's link answers $code"
api GET "/api/v1/audit?limit=50" | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin)["entries"] if r["action"] == "user.rotate_token"]
assert len(rows) == 1 and rows[0]["actor"] == "analysis" and rows[0]["target"] == "user:" + sys.argv[1], rows
' "$LEAKED_ID" || fail "no audited rotation by analysis"
ok "action rotate: the leaked link answers 404, the rotation is audited (actor analysis)"

api POST "/api/v1/findings/$FID/ack" >/dev/null
[ "$(api GET "/api/v1/findings?state=acknowledged" | field "['findings'][0]['id']")" = "$FID" ] || fail "ack"
[ "$(gauge)" = 0 ] || fail "gauge after ack is '$(gauge)'"
ok "ack: the finding is acknowledged and the gauge drops to 0"

# SIGHUP applies new thresholds live: with "ips": 1 the quiet user's single address is enough.
sed -i 's/"ips": 10, "action": "rotate"/"ips": 1/' "$WORK/hub.json"
grep -q '"ips": 1}' "$WORK/hub.json" || fail "config edit"
kill -HUP "$HUBPID"
wait_for "grep -q '\"log.logger\":\"analysis\",\"event.action\":\"reloaded\"' '$WORK/hub-analysis.log'" 10 "the analysis reload"
QUIET_ID=$(field "['id']" <<<"$QUIET")
wait_for "findings | grep -q '\"user:$QUIET_ID\"'" 30 "a finding for user:$QUIET_ID under the new threshold"
ok "SIGHUP: the new leaked_link threshold applies without a restart"
