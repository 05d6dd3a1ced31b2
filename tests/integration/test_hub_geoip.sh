#!/usr/bin/env bash
# GeoIP countries for the account_sharing rule (issue 16 item 5) in a running veil-hub: a country
# database written here with Debian's MaxMind::DB::Writer (127.0.1.0/24 in DE, 127.0.2.0/24 in
# US) as analysis.country_db; a one-device customer's /sub fetched from 127.0.1.5 and 127.0.2.5
# (two networks: within per_device 2, so only the countries can tell) gets an account_sharing
# finding listing DE and US; a customer fetching from two German networks gets none. A file that
# is not a MaxMind DB stops the hub at start, naming it.
source "$(dirname "$0")/support/lib.sh"
perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null || skip_all "libmaxmind-db-writer-perl not installed (scripts/install-deps)"
python3 -c 'import socket; socket.socket().bind(("127.0.1.5", 0))' 2>/dev/null || skip_all "cannot bind 127.0.1.5"
perl - "$WORK/country.mmdb" <<'PL' || fail "writing the country database"
use MaxMind::DB::Writer::Tree;
my $t = MaxMind::DB::Writer::Tree->new(ip_version => 6, record_size => 24, remove_reserved_networks => 0,
  database_type => 'Veil-Test-Country', languages => ['en'], description => {en => 'veil test'},
  map_key_type_callback => sub { {country => 'map', iso_code => 'utf8_string'}->{$_[0]} });
$t->insert_network('127.0.1.0/24', {country => {iso_code => 'DE'}});
$t->insert_network('127.0.3.0/24', {country => {iso_code => 'DE'}});
$t->insert_network('127.0.2.0/24', {country => {iso_code => 'US'}});
open my $fh, '>:raw', $ARGV[0] or die; $t->write_tree($fh); close $fh;
PL

PORT=$(free_port)
ADMIN=admin-$RANDOM$RANDOM$RANDOM
hubcfg() { # hubcfg COUNTRY_DB
  cat >"$WORK/hub.json" <<JSON
{"listen": "127.0.0.1", "port": $PORT, "threads": 2, "database": "sqlite:$WORK/hub.db", "admin_token": "$ADMIN",
 "scheduler": {"enabled": true, "interval": 1}, "fleet": {"dead_after": 0, "probe_interval": 0},
 "analysis": {"interval": 10, "country_db": "$1"}}
JSON
}
printf 'not a database\n' >"$WORK/broken.mmdb"
hubcfg "$WORK/broken.mmdb"
rc=0; timeout 20 "$VEIL_BIN/veil-hub" -c "$WORK/hub.json" >"$WORK/refused.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && grep -q "broken.mmdb" "$WORK/refused.log" || fail "a broken country_db did not stop the hub ($rc)"
ok "a country_db that is not a MaxMind DB stops the hub: $(grep -o 'broken.mmdb[^"]*' "$WORK/refused.log" | head -1)"

hubcfg "$WORK/country.mmdb"
bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT"
grep -q country_db_opened "$WORK/hub.log" || fail "country_db not opened"
BASE=http://127.0.0.1:$PORT
api() { curl -fsS -X "$1" "$BASE$2" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
             ${3:+--data-binary "$3"}; }
field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
PLAN=$(api POST /api/v1/plans '{"name":"Solo","duration_days":30,"device_limit":1,"prices":{"RUB":100}}' | field "['id']")
customer() { # customer NAME -> "id token" with an active one-device subscription
  local u
  u=$(api POST /api/v1/users "{\"username\":\"$1\"}")
  api POST /api/v1/subscriptions "{\"user_id\":$(field "['id']" <<<"$u"),\"plan_id\":$PLAN}" >/dev/null
  echo "$(field "['id']" <<<"$u") $(field "['sub_token']" <<<"$u")"
}
read -r TRAVELLER TTOK < <(customer traveller)
read -r HOME_ID HTOK < <(customer homebody)
for src in 127.0.1.5 127.0.2.5; do curl -fsS --interface $src -o /dev/null "$BASE/sub/$TTOK" || fail "fetch from $src"; done
for src in 127.0.1.6 127.0.3.6; do curl -fsS --interface $src -o /dev/null "$BASE/sub/$HTOK" || fail "fetch from $src"; done
findings() { api GET "/api/v1/findings?kind=account_sharing"; }
wait_for "findings | grep -q '\"user:$TRAVELLER\"'" 30 "an account_sharing finding for user:$TRAVELLER"
python3 -c '
import json, sys
f = json.load(sys.stdin)["findings"]
assert len(f) == 1, f  # none for the German homebody
d = f[0]["details"]
assert f[0]["subject"] == "user:" + sys.argv[1] and d["countries"] == ["DE", "US"] and d["networks"] == 2, f
' "$TRAVELLER" <<<"$(findings)" || fail "findings: $(findings)"
ok "one-device customer seen from DE and US: account_sharing with countries [DE, US]; two German networks: none"
