#!/usr/bin/env bash
# Billing end to end with the real veil-hub against the local provider fakes (tests/fakes/), on
# SQLite and on a real PostgreSQL: per provider, invoice -> pay URL -> the fake marks it paid ->
# the same webhook 20 times (10 at once) -> the subscription is extended by the plan exactly once.
# Forged, untrusted (127.0.0.2), truncated and oversized notifications are refused with 4xx and a
# webhook_rejected audit row, never 5xx; a lost webhook is settled by reconciliation; a YooKassa
# payment is refunded through the API.
source "$(dirname "$0")/support/lib.sh"

HUB=$VEIL_BIN/veil-hub
FAKES=$(cd "$(dirname "$0")/../fakes" && pwd)
[[ -x $HUB ]] || fail "missing $HUB"
# The untrusted-source check sends from 127.0.0.2 (any 127/8 address is local on Linux).
python3 -c 'import socket; socket.socket().bind(("127.0.0.2", 0))' 2>/dev/null ||
    { echo "SKIP: cannot bind 127.0.0.2 (needed for the untrusted-source case)"; exit 77; }
ADMIN=billing-admin-token-$RANDOM$RANDOM$RANDOM
PLAN_DAYS=30

# call METHOD PATH [BODY] -> "status body" (admin token)
call() {
    local args=(-sS -o "$WORK/body" -w '%{http_code}' -X "$1" "http://127.0.0.1:$HUBPORT$2" -H "Authorization: Bearer $ADMIN")
    [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
    local code
    code=$(curl "${args[@]}")
    echo "$code $(cat "$WORK/body")"
}
jget() { python3 -c "import json,sys; d=json.loads(sys.argv[1]); print(eval('d'+sys.argv[2]))" "$1" "$2"; }
# control FAKE PATH JSON -> the fake's answer
control() { curl -fsS -X POST "http://127.0.0.1:$(cat "$WORK/$1.port")$2" --data-binary "$3"; }
# deliveries_all ANSWER STATUS [BODY_PREFIX]: every delivery got STATUS (and a body starting so)
deliveries_all() {
    python3 -c "
import json,sys
d=json.loads(sys.argv[1])['deliveries']
ok=len(d)>0 and all(x['status']==int(sys.argv[2]) and x['body'].startswith(sys.argv[3]) for x in d)
sys.exit(0 if ok else 1)" "$1" "$2" "${3:-}"
}
sub_span() { # days between the current subscription's start and end
    local r
    r=$(call GET "/api/v1/users/$USER_ID/subscriptions")
    python3 -c "
import json,sys
subs=[s for s in json.loads(sys.argv[1].split(' ',1)[1])['subscriptions'] if s['state']=='active']
print((subs[0]['ends_at']-subs[0]['starts_at'])//86400 if subs else 0)" "$r"
}
pay_status() { jget "$(call GET "/api/v1/payments/$1" | cut -d' ' -f2-)" "['status']"; }
rejected_count() {
    local r
    r=$(call GET "/api/v1/audit?limit=500")
    python3 -c "
import json,sys
rows=json.loads(sys.argv[1].split(' ',1)[1])
rows=rows.get('audit', rows.get('entries', [])) if isinstance(rows, dict) else rows
print(sum(1 for x in rows if x['action']=='webhook_rejected' and (not sys.argv[2] or x.get('source_ip')==sys.argv[2])))" "$r" "${1:-}"
}

scenario() { # scenario DATABASE_URL LABEL
    local db=$1 label=$2
    HUBPORT=$(free_port)
    rm -f "$WORK"/*.port
    bg "yk-$label" python3 "$FAKES/fake_yookassa.py" --port-file "$WORK/yk.port" --shop-id shop1 --secret sk_test \
        --hook "http://127.0.0.1:$HUBPORT/webhooks/yookassa"
    bg "rk-$label" python3 "$FAKES/fake_robokassa.py" --port-file "$WORK/rk.port" --login demo --password1 p1 \
        --password2 p2 --hash md5 --hook "http://127.0.0.1:$HUBPORT/webhooks/robokassa"
    bg "cb-$label" python3 "$FAKES/fake_cryptobot.py" --port-file "$WORK/cb.port" --token 123:AAtok \
        --hook "http://127.0.0.1:$HUBPORT/webhooks/cryptobot"
    wait_for "[[ -s $WORK/yk.port && -s $WORK/rk.port && -s $WORK/cb.port ]]" 10 "the fakes"
    cat >"$WORK/hub-$label.json" <<JSON
{"listen": "127.0.0.1", "port": $HUBPORT, "threads": 4, "database": "$db", "admin_token": "$ADMIN",
 "log_level": "info", "scheduler": {"enabled": true, "interval": 1},
 "billing": {"referral_percent": 10, "reconcile_after": 1, "reconcile_interval": 1,
   "yookassa": {"shop_id": "shop1", "secret_key": "sk_test", "api_url": "http://127.0.0.1:$(cat "$WORK/yk.port")/v3",
                "return_url": "https://t.me/veil_bot", "trusted_networks": ["127.0.0.1/32"]},
   "robokassa": {"merchant_login": "demo", "password1": "p1", "password2": "p2",
                 "pay_url": "http://127.0.0.1:$(cat "$WORK/rk.port")/Merchant/Index.aspx"},
   "cryptobot": {"token": "123:AAtok", "api_url": "http://127.0.0.1:$(cat "$WORK/cb.port")/api"},
   "stars": {"enabled": true}}}
JSON
    bg "hub-$label" "$HUB" -c "$WORK/hub-$label.json"
    local hubpid=$LASTPID
    wait_for "curl -fsS http://127.0.0.1:$HUBPORT/healthz" 20 "hub on $label"

    local r
    r=$(call POST /api/v1/plans '{"name":"Month","duration_days":30,"prices":{"RUB":29900,"XTR":250}}')
    [[ $r == 201* ]] || fail "plan: $r"
    PLAN_ID=$(jget "${r#* }" "['id']")
    r=$(call POST /api/v1/users '{"username":"referrer","language":"ru","currency":"RUB"}')
    [[ $r == 201* ]] || fail "referrer: $r"
    REF_ID=$(jget "${r#* }" "['id']")
    r=$(call POST /api/v1/users "{\"username\":\"buyer\",\"language\":\"ru\",\"currency\":\"RUB\",\"referrer_id\":$REF_ID}")
    [[ $r == 201* ]] || fail "user: $r"
    USER_ID=$(jget "${r#* }" "['id']")
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"paypal\"}")
    [[ $r == 422* ]] || fail "unknown provider: $r"

    local expect=0 prov
    for prov in yookassa robokassa cryptobot; do
        r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"$prov\"}")
        [[ $r == 201* ]] || fail "$label $prov invoice: $r"
        local body=${r#* } id ext url ans
        id=$(jget "$body" "['payment_id']")
        ext=$(jget "$body" "['external_id']")
        url=$(jget "$body" "['pay_url']")
        [[ $(jget "$body" "['amount_minor']") == 29900 && $(jget "$body" "['status']") == pending ]] || fail "$prov: $body"
        case $prov in
        yookassa)
            [[ $url == https://yoomoney.fake/checkout* ]] || fail "yookassa pay_url $url"
            ans=$(control yk /_control/pay "{\"id\":\"$ext\",\"times\":20,\"concurrent\":10}")
            deliveries_all "$ans" 200 || fail "yookassa deliveries: $ans"
            YK_PAYMENT=$id ;;
        robokassa)
            curl -fsS "$url" >/dev/null || fail "the fake refused our payment link (signature): $url"
            ans=$(control rk /_control/pay "{\"inv_id\":\"$ext\",\"times\":20,\"concurrent\":10}")
            deliveries_all "$ans" 200 "OK$id" || fail "robokassa deliveries: $ans" ;;
        cryptobot)
            [[ $url == https://t.me/CryptoBot?start=IV* ]] || fail "cryptobot pay_url $url"
            ans=$(control cb /_control/pay "{\"invoice_id\":$ext,\"times\":20,\"concurrent\":10}")
            deliveries_all "$ans" 200 || fail "cryptobot deliveries: $ans" ;;
        esac
        [[ $(pay_status "$id") == succeeded ]] || fail "$prov payment $id not succeeded"
        expect=$((expect + PLAN_DAYS))
        [[ $(sub_span) == "$expect" ]] || fail "$label $prov: subscription spans $(sub_span) days, want $expect"
        ok "$label $prov: paid, 20 deliveries (10 concurrent), extended once"
    done

    # Forgeries and bad input: 4xx, audited, nothing credited, never 5xx.
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"yookassa\"}")
    local yk2 yk2ext ans
    yk2=$(jget "${r#* }" "['payment_id']")
    yk2ext=$(jget "${r#* }" "['external_id']")
    ans=$(control yk /_control/pay "{\"id\":\"$yk2ext\",\"times\":3,\"source\":\"127.0.0.2\"}")
    deliveries_all "$ans" 403 || fail "untrusted source not refused: $ans"
    [[ $(rejected_count 127.0.0.2) -ge 3 ]] || fail "untrusted deliveries not audited"
    local code
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/cryptobot" \
        -H 'crypto-pay-api-signature: 00ff' -H 'Content-Type: application/json' \
        --data-binary '{"update_type":"invoice_paid","payload":{"invoice_id":1000}}')
    [[ $code == 401 ]] || fail "cryptobot forged signature: $code"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/robokassa" \
        --data-binary "OutSum=299.000000&InvId=$yk2&SignatureValue=0123456789abcdef0123456789abcdef")
    [[ $code == 403 ]] || fail "robokassa forged signature: $code"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/yookassa" \
        -H 'Content-Type: application/json' --data-binary '{"type":"notification","event":"payment.succ')
    [[ $code == 400 ]] || fail "truncated yookassa body: $code"
    python3 -c "print('{\"pad\":\"' + 'x'*100000 + '\"}')" >"$WORK/big.json"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/yookassa" \
        -H 'Content-Type: application/json' --data-binary "@$WORK/big.json")
    [[ $code == 413 ]] || fail "oversized body: $code"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/yookassa" \
        -H 'Content-Type: application/json' \
        --data-binary '{"type":"notification","event":"payment.succeeded","object":{"id":"no-such"}}')
    [[ $code == 404 ]] || fail "unknown yookassa payment: $code"
    [[ $(rejected_count) -ge 8 ]] || fail "rejections not audited ($(rejected_count))"
    ok "$label forged/untrusted/truncated/oversized refused and audited"

    # The refused YooKassa payment was really paid: reconciliation asks the API and settles it.
    wait_for "[[ \$(pay_status $yk2) == succeeded ]]" 20 "reconciliation of a YooKassa payment"
    expect=$((expect + PLAN_DAYS))
    # A Crypto Pay webhook that never arrives: reconciliation (getInvoices) settles it.
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"cryptobot\"}")
    local cb2 cb2ext
    cb2=$(jget "${r#* }" "['payment_id']")
    cb2ext=$(jget "${r#* }" "['external_id']")
    control cb /_control/pay "{\"invoice_id\":$cb2ext,\"deliver\":false}" >/dev/null
    wait_for "[[ \$(pay_status $cb2) == succeeded ]]" 20 "reconciliation of a lost Crypto Pay webhook"
    expect=$((expect + PLAN_DAYS))
    [[ $(sub_span) == "$expect" ]] || fail "$label after reconciliation: $(sub_span) days, want $expect"
    ok "$label lost and refused webhooks settled once by reconciliation"

    # A percent promo, once per customer; the referrer earned 10% of every payment.
    r=$(call POST /api/v1/promo-codes '{"code":"SPRING10","kind":"percent","value":10,"max_uses":100}')
    [[ $r == 201* ]] || fail "promo: $r"
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"cryptobot\",\"promo_code\":\"SPRING10\"}")
    [[ $r == 201* && $(jget "${r#* }" "['amount_minor']") == 26910 ]] || fail "promo invoice: $r"
    ans=$(control cb /_control/pay "{\"invoice_id\":$(jget "${r#* }" "['external_id']"),\"times\":2}")
    deliveries_all "$ans" 200 || fail "promo payment deliveries: $ans"
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"cryptobot\",\"promo_code\":\"SPRING10\"}")
    [[ $r == 422* ]] || fail "promo used twice: $r"
    expect=$((expect + PLAN_DAYS))
    [[ $(sub_span) == "$expect" ]] || fail "$label after the promo payment: $(sub_span) days, want $expect"
    r=$(call GET "/api/v1/users/$REF_ID/ledger")
    [[ $(jget "${r#* }" "['balance_minor']") == $((5 * 2990 + 2691)) ]] || fail "referral ledger: $r"
    r=$(call GET "/api/v1/stats/revenue")
    [[ $(jget "${r#* }" "['by_currency'][0]['revenue_minor']") == $((5 * 29900 + 26910)) ]] || fail "revenue: $r"
    [[ $(jget "${r#* }" "['by_currency'][0]['referral_commission_minor']") == $((5 * 2990 + 2691)) ]] ||
        fail "revenue referral payouts: $r"
    ok "$label promo code, referral commission, revenue figures"

    r=$(call GET "/api/v1/payments?provider=cryptobot&status=succeeded")
    [[ $(jget "${r#* }" "['payments'].__len__()") == 3 ]] || fail "payment list filter: $r"
    r=$(call POST "/api/v1/payments/$YK_PAYMENT/refund")
    [[ $r == 200* && $(jget "${r#* }" "['status']") == refunded ]] || fail "refund: $r"
    r=$(call POST "/api/v1/payments/$cb2/refund")
    [[ $r == 422* ]] || fail "cryptobot refund should be unsupported: $r"
    curl -fsS -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$HUBPORT/metrics" >"$WORK/metrics" ||
        fail "metrics"
    grep -q '^veil_hub_payments{provider="cryptobot",outcome="succeeded"} 3$' "$WORK/metrics" ||
        fail "payment metrics: $(grep veil_hub_payments "$WORK/metrics")"
    ok "$label refunds, listing, payment metrics"

    # The admin CLI (veil pay) on the same hub.
    local out
    out=$(VEIL_HUB_URL=http://127.0.0.1:$HUBPORT VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" pay list --provider cryptobot \
        --status succeeded) || fail "veil pay list"
    [[ $(grep -c ' succeeded ' <<<"$out") == 3 ]] || fail "veil pay list: $out"
    out=$(VEIL_HUB_URL=http://127.0.0.1:$HUBPORT VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" pay invoice --user "$USER_ID" \
        --plan "$PLAN_ID" --provider robokassa) || fail "veil pay invoice"
    [[ $out == *"299.00 RUB via robokassa, pending"*"pay at: http://127.0.0.1:"* ]] || fail "veil pay invoice: $out"
    if VEIL_HUB_URL=http://127.0.0.1:$HUBPORT VEIL_HUB_TOKEN=$ADMIN "$VEIL_BIN/veil" pay refund "$cb2" 2>"$WORK/err"; then
        fail "veil pay refund of a Crypto Pay payment should fail"
    fi
    grep -q refund_unsupported "$WORK/err" || fail "veil pay refund: $(cat "$WORK/err")"
    ok "$label veil pay invoice/list/refund"

    # SIGHUP applies a new billing section: a rotated Crypto Pay token signs from now on.
    signed_post() { # signed_post TOKEN -> HTTP status of a signed update for an unknown invoice
        local body='{"update_id":99,"update_type":"invoice_paid","payload":{"invoice_id":999999,"status":"paid","currency_type":"fiat","fiat":"RUB","amount":"1.00","payload":"999999"}}'
        local sig
        sig=$(python3 -c 'import hashlib,hmac,sys; print(hmac.new(hashlib.sha256(sys.argv[1].encode()).digest(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$1" "$body")
        curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$HUBPORT/webhooks/cryptobot" \
            -H "crypto-pay-api-signature: $sig" -H 'Content-Type: application/json' --data-binary "$body"
    }
    [[ $(signed_post 123:AAtok) == 404 ]] || fail "a validly signed unknown invoice should be 404"
    sed -i 's/"token": "123:AAtok"/"token": "123:AArotated"/' "$WORK/hub-$label.json"
    kill -HUP "$hubpid"
    wait_for "[[ \$(signed_post 123:AArotated) == 404 ]]" 10 "the rotated token after SIGHUP"
    [[ $(signed_post 123:AAtok) == 401 ]] || fail "the old token still signs after SIGHUP"
    sed -i 's/"token": "123:AArotated"/"token": "123:AAtok"/' "$WORK/hub-$label.json"
    kill -HUP "$hubpid"
    wait_for "[[ \$(signed_post 123:AAtok) == 404 ]]" 10 "the token restored after SIGHUP"
    ok "$label SIGHUP applies the billing section"

    # kill -9 after the provider took the money and before any webhook reached us: after the
    # restart the provider's retries (5 at once) and reconciliation settle it exactly once.
    r=$(call POST /api/v1/invoices "{\"user_id\":$USER_ID,\"plan_id\":$PLAN_ID,\"provider\":\"yookassa\"}")
    local crash crashext
    crash=$(jget "${r#* }" "['payment_id']")
    crashext=$(jget "${r#* }" "['external_id']")
    control yk /_control/pay "{\"id\":\"$crashext\",\"deliver\":false}" >/dev/null
    kill -KILL "$hubpid"
    wait "$hubpid" 2>/dev/null || true
    bg "hub-$label-restart" "$HUB" -c "$WORK/hub-$label.json"
    hubpid=$LASTPID
    wait_for "curl -fsS http://127.0.0.1:$HUBPORT/healthz" 20 "hub restart on $label"
    ans=$(control yk /_control/pay "{\"id\":\"$crashext\",\"times\":5,\"concurrent\":5}")
    deliveries_all "$ans" 200 || fail "deliveries after the restart: $ans"
    [[ $(pay_status "$crash") == succeeded ]] || fail "payment after kill -9 not settled"
    expect=$((expect + PLAN_DAYS))
    [[ $(sub_span) == "$expect" ]] || fail "$label after kill -9: $(sub_span) days, want $expect"
    ok "$label kill -9 before the webhook: settled once after the restart"

    ! grep -q '"status":5[0-9][0-9]' "$WORK/hub-$label.log" "$WORK/hub-$label-restart.log" || fail "a 5xx was logged"
    kill -TERM "$hubpid"
    local rc=0
    wait "$hubpid" 2>/dev/null || rc=$?
    [[ $rc -eq 0 ]] || fail "$label: hub exit status $rc after SIGTERM"
    ! grep -q 'Sanitizer' "$WORK/hub-$label.log" "$WORK/hub-$label-restart.log" || fail "$label: sanitizer report"
}

scenario "sqlite:$WORK/hub.db" sqlite

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [[ ! -x $PGBIN/initdb ]]; then
    echo "SKIP: PostgreSQL half (no binaries at $PGBIN)"
    exit 77
fi
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PGDIR=$(mktemp -d /tmp/veil-billpg.XXXXXX)
chmod 755 "$PGDIR"
[[ $(id -u) -eq 0 ]] && chown postgres "$PGDIR"
pg_stop() { as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PGDIR"; }
trap 'rc=$?; set +e; pg_stop; (exit $rc); cleanup' EXIT
PGPORT=$(free_port)
as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U veil --auth=trust -E UTF8 --no-locale >"$WORK/initdb.log" 2>&1 ||
    fail "initdb"
as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/pg.log" -w -t 60 \
    -o "-k $PGDIR -c listen_addresses=127.0.0.1 -p $PGPORT -c fsync=off" start >/dev/null || fail "pg start"
as_pg "$PGBIN/createdb" -h 127.0.0.1 -p "$PGPORT" -U veil veil_billing
scenario "postgresql://veil@127.0.0.1:$PGPORT/veil_billing" pg
