#!/usr/bin/env bash
# "Rotate link" in one click (issue 16 item 5): with the leaked_link action "none", the bot's
# notice of a leaked_link finding carries an inline button; a non-admin's press changes nothing,
# an admin's press rotates the user's subscription token (the leaked link answers 404, the new
# one 200), writes one audit row (actor tg:<admin>, via bot) and edits the notice; a second press,
# by the same or the other admin, is answered "already rotated" and rotates nothing.
source "$(dirname "$0")/support/lib.sh"
source "$SUPPORT/bot.sh"

bot_fakes
bot_write_config "" '"mode": "polling", "poll_timeout": 1, "admins": [4242, 4343]' \
    '"analysis": {"interval": 10, "leaked_link": {"window": 600, "ips": 3, "action": "none"}}'
start_hub rotate
LEAKED=$(api POST /api/v1/users '{"username": "leaked"}')
UID_=$(field "['id']" <<<"$LEAKED"); OLD_TOK=$(field "['sub_token']" <<<"$LEAKED")

curl -fsS --interface 127.0.0.2 -o /dev/null "$BASE/sub/$OLD_TOK" 2>"$WORK/bind.log" ||
    skip_all "cannot fetch from 127.0.0.2: $(cat "$WORK/bind.log")"
for i in 3 4 5; do curl -fsS --interface "127.0.0.$i" -o /dev/null "$BASE/sub/$OLD_TOK" || fail "fetch from 127.0.0.$i"; done
wait_for "api GET '/api/v1/findings?kind=leaked_link' | grep -q '\"user:$UID_\"'" 30 "a leaked_link finding"
FID=$(api GET '/api/v1/findings?kind=leaked_link' | field "['findings'][0]['id']")
$TG "$TGPORT" wait sendMessage 0 '"chat_id": 4242' 20 >"$WORK/notice" || fail "no notice to admin 4242"
python3 -c '
import json, sys
p = json.load(open(sys.argv[1]))
b = p["reply_markup"]["inline_keyboard"][0][0]
assert b["callback_data"] == "frot:%s:%s" % (sys.argv[2], sys.argv[3]) and "Rotate" in b["text"], p
' "$WORK/notice" "$FID" "$UID_" || fail "the notice has no rotate button: $(cat "$WORK/notice")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$OLD_TOK")" = 200 ] || fail "action none rotated already"
ok "the leaked_link notice carries a Rotate link button (frot:$FID:$UID_); the link still works"

rotate_press() { # rotate_press FROM -> the answerCallbackQuery params of FROM's press on the notice
    local since q
    since=$($TG "$TGPORT" next)
    q=$(press "$1" "frot:$FID:$UID_" 7)
    $TG "$TGPORT" wait answerCallbackQuery "$since" "$q" 20 || fail "press by $1 not answered"
}
rotations() { api GET "/api/v1/audit?limit=100" | python3 -c '
import json, sys
print(len([r for r in json.load(sys.stdin)["entries"] if r["action"] == "user.rotate_token"]))'; }

rotate_press 777 | grep -q "Admins only" || fail "a non-admin press was not refused"
[ "$(rotations)" = 0 ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$OLD_TOK")" = 200 ] ||
    fail "a non-admin press rotated the link"
ok "a non-admin's press is refused and changes nothing"

SINCE=$($TG "$TGPORT" next)
rotate_press 4242 | grep -q "Link rotated" || fail "the admin's press was not answered 'Link rotated'"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$OLD_TOK")" = 404 ] || fail "the leaked link still works"
NEW_TOK=$(api GET "/api/v1/users/$UID_" | field "['sub_token']")
[ "$NEW_TOK" != "$OLD_TOK" ] && [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/sub/$NEW_TOK")" = 200 ] ||
    fail "the new link does not work"
api GET "/api/v1/audit?limit=100" | python3 -c '
import json, sys
rows = [r for r in json.load(sys.stdin)["entries"] if r["action"] == "user.rotate_token"]
assert len(rows) == 1, rows
r = rows[0]
d = r["details"] if isinstance(r["details"], dict) else json.loads(r["details"])
assert r["actor"] == "tg:4242" and r["target"] == "user:" + sys.argv[1], r
assert d == {"via": "bot", "finding": int(sys.argv[2])}, r
' "$UID_" "$FID" || fail "the rotation is not audited as the admin via bot"
$TG "$TGPORT" wait editMessageText "$SINCE" "Link rotated by tg:4242" 10 >"$WORK/edit" || fail "the notice was not edited"
python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); assert "reply_markup" not in p and p["message_id"] == 7, p' \
    "$WORK/edit" || fail "the edited notice keeps its button: $(cat "$WORK/edit")"
ok "the admin's press rotates the link (old 404, new 200), audited tg:4242 via bot, the notice edited without the button"

rotate_press 4242 | grep -q "Already rotated" || fail "a second press was not answered 'Already rotated'"
rotate_press 4343 | grep -q "Already rotated" || fail "the other admin's press was not answered 'Already rotated'"
[ "$(rotations)" = 1 ] && [ "$(api GET "/api/v1/users/$UID_" | field "['sub_token']")" = "$NEW_TOK" ] ||
    fail "a second press rotated again"
ok "second presses (same admin, other admin) rotate nothing"
