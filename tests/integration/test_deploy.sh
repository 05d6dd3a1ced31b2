#!/usr/bin/env bash
# deploy/ (issue 14 item 1): every systemd unit and drop-in passes `systemd-analyze verify` with
# no warning at all; the LB config passes `haproxy -c`; `deploy/install ROLE` is idempotent for
# every role (staged under VEIL_ROOT: the second run changes nothing, secrets are not
# regenerated, an operator's edit survives, a tampered unit is restored); and the shipped
# node.json / hub.json read their secrets from $CREDENTIALS_DIRECTORY as systemd provides it.
source "$(dirname "$0")/support/lib.sh"
SRC=${VEIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
DEPLOY=$SRC/deploy
command -v systemd-analyze >/dev/null || skip_all "systemd-analyze not installed"
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

# 1. systemd-analyze verify: our units (binaries pointed at the build), and each drop-in on a
#    copy of the Debian unit it extends. verify exits 0 on unknown keys; any output is a failure.
verify() { # verify UNITFILE
    local out
    out=$(cd "$(dirname "$1")" && systemd-analyze verify "$(basename "$1")" 2>&1) || fail "systemd-analyze verify $1: $out"
    [ -z "$out" ] || fail "systemd-analyze verify $1 warns: $out"
}
mkdir -p "$WORK/units"
for u in node/veil-node.service hub/veil-hub.service; do
    sed -e "s|/usr/local/bin/|$VEIL_BIN/|g" "$DEPLOY/$u" >"$WORK/units/$(basename "$u")"
    verify "$WORK/units/$(basename "$u")"
done
# The check itself catches a typo (so the loop above is not vacuous).
sed 's/^NoNewPrivileges=yes/NoNewPrivilege=yes/' "$WORK/units/veil-node.service" >"$WORK/units/typo.service"
(verify "$WORK/units/typo.service") >/dev/null && fail "verify missed a misspelt key"
rm "$WORK/units/typo.service"
for u in node/veil-node.service hub/veil-hub.service; do
    for key in ProtectSystem=strict NoNewPrivileges=yes UMask=0077 LoadCredential= LimitNOFILE= CapabilityBoundingSet=; do
        grep -q "^$key" "$DEPLOY/$u" || fail "$u lacks $key"
    done
done
grep -qx 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE' "$DEPLOY/node/veil-node.service" || fail "node capabilities"
grep -qx 'CapabilityBoundingSet=' "$DEPLOY/hub/veil-hub.service" || fail "hub capabilities"
ok "systemd-analyze verify: veil-node.service, veil-hub.service (hardening keys present)"
n=0
for d in "$DEPLOY"/*/*.service.d; do
    unit=$(basename "$d" .d)
    rm -rf "$WORK/dropin" && mkdir -p "$WORK/dropin/$unit.d"
    if [ -f "/lib/systemd/system/$unit" ]; then
        cp "/lib/systemd/system/$unit" "$WORK/dropin/"
    else # the package is not installed here: the drop-in's own keys are still checked
        printf '[Unit]\nDescription=stand-in for %s\n[Service]\nExecStart=/bin/true\n' "$unit" >"$WORK/dropin/$unit"
    fi
    cp "$d"/*.conf "$WORK/dropin/$unit.d/"
    name=$unit
    # A template is verified through one instance.
    [[ $unit == *@.service ]] && { name=${unit/@.service/@15-main.service}; }
    (cd "$WORK/dropin" && ln -sf "$unit" "$name" 2>/dev/null || true)
    verify "$WORK/dropin/$name"
    n=$((n + 1))
done
ok "systemd-analyze verify: $n drop-ins on the Debian units"

# 2. haproxy -c on the shipped LB config with the shipped environment (certificate made here).
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/h.key" -out "$WORK/h.crt" -days 2 -nodes \
    -subj /CN=hub.test >/dev/null 2>&1
cat "$WORK/h.crt" "$WORK/h.key" >"$WORK/hub.pem"
if [ -x "$HAPROXY" ]; then
    out=$(set -a; . "$DEPLOY/lb/haproxy.env"; VEIL_LB_HUB_CERT=$WORK/hub.pem "$HAPROXY" -c -f "$DEPLOY/lb/haproxy.cfg" 2>&1) ||
        fail "haproxy -c: $out"
    grep -qi warning <<<"$out" && fail "haproxy -c warns: $out"
    ok "haproxy -c deploy/lb/haproxy.cfg: valid, no warnings"
else
    skip_part "haproxy not installed: haproxy -c not run"
fi

# The nginx alternative for the hub side: `nginx -t`, then a request through it to a real hub
# (TLS terminated, X-Forwarded-For into the audit log) further below.
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ -x "$NGINX" ]; then
    NG_PORT=$(free_port) NG_HUB=$(free_port)
    mkdir -p "$WORK/nginx"
    sed -e "s|203.0.113.11:443|127.0.0.1:$NG_PORT|" -e "s|10.0.2.21:8080|127.0.0.1:$NG_HUB|" \
        -e '/10.0.2.22:8080/d' -e "s|/etc/nginx/certs/hub.pem|$WORK/hub.pem|" \
        "$DEPLOY/lb/nginx-hub.conf" >"$WORK/nginx/veil-hub.conf"
    cat >"$WORK/nginx/nginx.conf" <<NGINX
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx-error.log;
daemon off;
events {}
http {
    access_log off;
    client_body_temp_path $WORK/nginx;
    proxy_temp_path $WORK/nginx;
    include $WORK/nginx/veil-hub.conf;
}
NGINX
    out=$("$NGINX" -t -c "$WORK/nginx/nginx.conf" 2>&1) || fail "nginx -t: $out"
    ok "nginx -t deploy/lb/nginx-hub.conf"
else
    skip_part "nginx not installed: the nginx alternative not checked"
fi

# 3. deploy/install ROLE twice under a staging root.
export VEIL_BIN_DIR=$VEIL_BIN
snapshot() { (cd "$1" && find . -type f -exec sha256sum {} + | sort; find . -printf '%p %m\n' | sort); }
for role in node hub lb db db-ha redis monitoring; do
    export VEIL_ROOT=$WORK/root-$role
    "$DEPLOY/install" "$role" >"$WORK/install-$role-1.log" 2>&1 || fail "install $role: $(cat "$WORK/install-$role-1.log")"
    snapshot "$VEIL_ROOT" >"$WORK/snap1"
    "$DEPLOY/install" "$role" >"$WORK/install-$role-2.log" 2>&1 || fail "install $role again: $(cat "$WORK/install-$role-2.log")"
    grep -q "nothing to change" "$WORK/install-$role-2.log" || fail "second install $role changed: $(cat "$WORK/install-$role-2.log")"
    snapshot "$VEIL_ROOT" >"$WORK/snap2"
    cmp -s "$WORK/snap1" "$WORK/snap2" || fail "second install $role changed files: $(diff "$WORK/snap1" "$WORK/snap2")"
    if [ -d "$VEIL_ROOT/etc/veil/credentials" ]; then
        [ "$(stat -c %a "$VEIL_ROOT/etc/veil/credentials")" = 700 ] || fail "$role: credentials dir not 0700"
        for s in "$VEIL_ROOT"/etc/veil/credentials/*; do
            [ "$(stat -c %a "$s")" = 600 ] || fail "$role: $s not 0600"
        done
    fi
done
ok "deploy/install {node,hub,lb,db,db-ha,redis,monitoring}: second run changes nothing"
VEIL_ROOT=$WORK/root-node
echo '{"edited": true}' >"$VEIL_ROOT/etc/veil/node.json.mine"
cp "$VEIL_ROOT/etc/veil/node.json" "$WORK/node.json.orig"
echo ' ' >>"$VEIL_ROOT/etc/veil/node.json"
echo '# tampered' >>"$VEIL_ROOT/etc/systemd/system/veil-node.service"
tok=$(cat "$VEIL_ROOT/etc/veil/credentials/node-admin-token")
"$DEPLOY/install" node >"$WORK/install-node-3.log" 2>&1 || fail "install node (3)"
cmp -s "$VEIL_ROOT/etc/systemd/system/veil-node.service" "$DEPLOY/node/veil-node.service" || fail "tampered unit kept"
cmp -s "$VEIL_ROOT/etc/veil/node.json" "$WORK/node.json.orig" && fail "operator's node.json overwritten"
[ "$(cat "$VEIL_ROOT/etc/veil/credentials/node-admin-token")" = "$tok" ] || fail "admin token regenerated"
ok "install again: tampered unit restored, operator's config and generated secret kept"
"$DEPLOY/install" bogus >/dev/null 2>&1 && fail "unknown role accepted"

# 4. The shipped configs take their secrets from $CREDENTIALS_DIRECTORY.
CRED=$WORK/root-node/etc/veil/credentials
printf 'hubtoken-0123456789abcdef\n' >"$CRED/node-hub-token"
mkdir -p "$WORK/creds"
cp "$CRED/node-admin-token" "$WORK/creds/admin-token"
cp "$CRED/node-hub-token" "$WORK/creds/hub-token"
cp "$CRED/node-reality-private-key" "$WORK/creds/reality-private-key" # made by deploy/install node
chmod 600 "$WORK/creds"/* # secret files others may read are refused (core/secret_file.h)
[ -s "$WORK/root-node/etc/veil/node-reality-public-key" ] || fail "install node left no REALITY public key"
sed -e 's|10.0.1.11|127.0.0.1|g' -e 's|/var/lib/veil-node|'"$WORK"'/state|' "$DEPLOY/node/node.json" >"$WORK/node.json"
grep -q '"privateKey"' "$WORK/node.json" && fail "the shipped node.json holds a REALITY private key"
CREDENTIALS_DIRECTORY=$WORK/creds "$VEIL_BIN/veil-node" -c "$WORK/node.json" --check >"$WORK/check.log" 2>&1 ||
    fail "shipped node.json with credentials: $(cat "$WORK/check.log")"
if "$VEIL_BIN/veil-node" -c "$WORK/node.json" --check >"$WORK/check2.log" 2>&1; then
    fail "node.json with relative credential names passed without \$CREDENTIALS_DIRECTORY"
fi
grep -q 'adminTokenFile.*CREDENTIALS_DIRECTORY' "$WORK/check2.log" || fail "no clear error: $(cat "$WORK/check2.log")"
grep -q "$(cat "$WORK/creds/admin-token")" "$WORK/check.log" "$WORK/check2.log" && fail "the admin token was printed"
ok "veil-node: privateKeyFile / adminTokenFile / hub.tokenFile read from \$CREDENTIALS_DIRECTORY, clear error without it"

# The hub: admin_token_file and redis_url_file (a real redis-server with a password) from the
# credentials directory; the API answers that token.
PORT=$(free_port) R_PORT=$(free_port)
cp "$WORK/root-hub/etc/veil/credentials/hub-admin-token" "$WORK/creds/admin-token"
REDIS_PW=$(openssl rand -hex 16)
printf 'redis://:%s@127.0.0.1:%s/0\n' "$REDIS_PW" "$R_PORT" >"$WORK/creds/redis-url"
chmod 600 "$WORK/creds/admin-token" "$WORK/creds/redis-url"
REDIS=$(command -v redis-server || true)
if [ -n "$REDIS" ]; then
    bg redis "$REDIS" --port "$R_PORT" --bind 127.0.0.1 --requirepass "$REDIS_PW" --save '' --appendonly no
    wait_port "$R_PORT" 10
else
    skip_part "redis-server not installed: the hub's redis_url_file is read but nothing answers"
fi
python3 - "$DEPLOY/hub/hub.json" "$WORK/hub.json" "$PORT" "$WORK/hub.db" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.update(listen="127.0.0.1", port=int(sys.argv[3]), database="sqlite:" + sys.argv[4],
         trusted_proxies=["127.0.0.1/32"])
c["scheduler"]["enabled"] = False
json.dump(c, open(sys.argv[2], "w"))
PY
CREDENTIALS_DIRECTORY=$WORK/creds bg hub "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
wait_port "$PORT" 20
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$WORK/creds/admin-token")" "http://127.0.0.1:$PORT/api/v1/stats")
[ "$code" = 200 ] || fail "hub with admin_token_file: /api/v1/stats gave $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer wrong-token-0123456789" "http://127.0.0.1:$PORT/api/v1/stats")
[ "$code" = 401 ] || fail "hub accepted a wrong token ($code)"
grep -q "$(cat "$WORK/creds/admin-token")" "$WORK/hub.log" && fail "the hub logged its admin token"
if [ -n "$REDIS" ]; then
    redis_in_use() {
        curl -s -H "Authorization: Bearer $(cat "$WORK/creds/admin-token")" "http://127.0.0.1:$PORT/metrics" |
            grep -q '^veil_hub_cache_mode{mode="redis"} 1'
    }
    wait_for redis_in_use 10 "the hub using Redis with the password from redis_url_file"
fi
grep -q "$REDIS_PW" "$WORK/hub.log" && fail "the hub logged the Redis password"
ok "veil-hub: admin_token_file and redis_url_file read from \$CREDENTIALS_DIRECTORY (token 200/401, Redis with its password in use)"

# The shipped sentinel.conf (addresses moved to loopback, the auth-pass line deploy/install adds)
# watching that password-protected Redis: Sentinel accepts every line and names the master.
if [ -n "$REDIS" ]; then
    S_PORT=$(free_port)
    sed -e "s/^port 26379/port $S_PORT/" -e "s/^bind .*/bind 127.0.0.1/" -e "s|^dir .*|dir $WORK|" \
        -e "s/^sentinel monitor veil 10.0.4.41 6379 2/sentinel monitor veil 127.0.0.1 $R_PORT 1/" \
        "$DEPLOY/redis/sentinel.conf" >"$WORK/sentinel.conf"
    printf 'sentinel auth-pass veil %s\n' "$REDIS_PW" >>"$WORK/sentinel.conf"
    grep -q "^sentinel monitor veil 127.0.0.1 $R_PORT 1" "$WORK/sentinel.conf" || fail "sentinel.conf: no monitor line to move"
    bg sentinel "$REDIS" "$WORK/sentinel.conf" --sentinel
    wait_port "$S_PORT" 10 || fail "sentinel with the shipped sentinel.conf: $(tail -3 "$WORK/sentinel.log")"
    sentinel_ok() {
        redis-cli -p "$S_PORT" SENTINEL master veil | tr '\n' ' ' | grep -q "flags master "
    }
    wait_for sentinel_ok 10 "Sentinel (shipped sentinel.conf) to see the master as up"
    [[ $(redis-cli -p "$S_PORT" SENTINEL get-master-addr-by-name veil | tr '\n' ' ') == "127.0.0.1 $R_PORT " ]] ||
        fail "sentinel names another master"
    ok "deploy/redis/sentinel.conf: Sentinel runs it and follows the password-protected master"
fi

if [ -x "$NGINX" ]; then
    # The same hub again on the port nginx forwards to, behind nginx with the shipped site file.
    sed -i "s|\"port\": $PORT|\"port\": $NG_HUB|" "$WORK/hub.json"
    CREDENTIALS_DIRECTORY=$WORK/creds bg hub-ng "$VEIL_BIN/veil-hub" -c "$WORK/hub.json"
    bg nginx "$NGINX" -c "$WORK/nginx/nginx.conf"
    wait_port "$NG_HUB" 20
    wait_port "$NG_PORT" 10
    code=$(curl -sk -o /dev/null -w '%{http_code}' --interface 127.0.0.9 -H "X-Forwarded-For: 6.6.6.6" \
        -H "Authorization: Bearer $(cat "$WORK/creds/admin-token")" -H 'Content-Type: application/json' \
        --data '{"username":"via-nginx"}' "https://127.0.0.1:$NG_PORT/api/v1/users")
    [ "$code" = 201 ] || fail "create a user through nginx: $code"
    curl -sk -H "Authorization: Bearer $(cat "$WORK/creds/admin-token")" "https://127.0.0.1:$NG_PORT/api/v1/audit" >"$WORK/audit.json"
    python3 - "$WORK/audit.json" <<'PY' || fail "audit through nginx: $(head -c 400 "$WORK/audit.json")"
import json, sys
rows = json.load(open(sys.argv[1]))["entries"]
ips = {r["details"].get("username"): r["source_ip"] for r in rows if r["action"] == "user.create"}
assert ips.get("via-nginx") == "127.0.0.9", ips
PY
    codes=$(for i in $(seq 1 150); do echo "url = \"https://127.0.0.1:$NG_PORT/healthz\""; echo "output = /dev/null"; done |
        curl -sk --interface 127.0.0.10 -w '%{http_code}\n' -K - | sort | uniq -c | awk '{printf "%s:%s ", $2, $1}')
    case "$codes" in *429:*) ;; *) fail "nginx per-IP limit: 150 requests at once gave $codes (want some 429)";; esac
    ok "nginx alternative: TLS to a real hub, X-Forwarded-For into its audit log (forged header ignored), per-IP 429 ($codes)"
fi
echo "deploy: all checks passed"
