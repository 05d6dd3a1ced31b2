#!/usr/bin/env bash
# veil-node -c FILE --check: "config OK" and exit 0 for a valid config; every error (file, JSON
# path, what is wrong) and exit 2 otherwise. No sockets are opened.
set -euo pipefail
NODE="$VEIL_BIN/veil-node"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

sed -e 's/REPLACE-WITH-veil-x25519-PrivateKey-000000/EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8/' \
    -e 's/REPLACE-WITH-openssl-rand-hex-16/0123456789abcdef0123456789abcdef/' \
    "$VEIL_SOURCE_DIR/deploy/node.json" >"$TMP/ok.json"
out=$("$NODE" -c "$TMP/ok.json" --check 2>"$TMP/err")
[[ "$out" == "config OK" ]] || fail "valid config: [$out] $(cat "$TMP/err")"
[[ ! -s "$TMP/err" ]] || fail "valid sample config has warnings: $(cat "$TMP/err")"

# the sample itself: placeholder key -> exit 2 naming the field
set +e
"$NODE" -c "$VEIL_SOURCE_DIR/deploy/node.json" --check >/dev/null 2>"$TMP/err"; rc=$?
set -e
[[ $rc == 2 ]] || fail "sample placeholder: exit $rc"
grep -q "deploy/node.json: inbounds\[0\].streamSettings.realitySettings.privateKey: must be 32 bytes" "$TMP/err" \
    || fail "placeholder message: $(cat "$TMP/err")"

# several errors at once, each with its path
python3 - "$TMP/ok.json" "$TMP/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
ib = c["inbounds"][0]
ib["port"] = 70000
ib["settings"]["clients"][0]["id"] = ""
ib["streamSettings"]["security"] = "tls"
ib["streamSettings"]["realitySettings"]["shortIds"] = ["abc"]
c["api"] = {"tag": "api"}
json.dump(c, open(sys.argv[2], "w"))
PY
set +e
"$NODE" -c "$TMP/bad.json" --check >"$TMP/out" 2>"$TMP/err"; rc=$?
set -e
[[ $rc == 2 ]] || fail "bad config: exit $rc"
[[ ! -s "$TMP/out" ]] || fail "bad config printed config OK"
for want in "inbounds\[0\].port: must be between 1 and 65535" \
            "inbounds\[0\].settings.clients\[0\].id: must be a UUID or a string of 1 to 30 bytes" \
            "inbounds\[0\].streamSettings.security: \"tls\" is not supported" \
            "realitySettings.shortIds\[0\]: must be an even number of hex digits" \
            "api: the Xray gRPC API is not supported"; do
    grep -q "$want" "$TMP/err" || fail "missing message [$want]: $(cat "$TMP/err")"
done

# warnings do not fail the check
python3 - "$TMP/ok.json" "$TMP/warn.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["inbounds"][0]["port"] = 8443
json.dump(c, open(sys.argv[2], "w"))
PY
out=$("$NODE" -c "$TMP/warn.json" --check 2>"$TMP/err")
[[ "$out" == "config OK" ]] || fail "warning config"
grep -q "^warning: .*inbounds\[0\].port: REALITY is best served on port 443" "$TMP/err" || fail "port warning"

# syntax error with line/column, missing file, usage
printf '{\n "inbounds": [\n' >"$TMP/syntax.json"
set +e
"$NODE" -c "$TMP/syntax.json" --check 2>"$TMP/err" >/dev/null; r1=$?
"$NODE" -c "$TMP/missing.json" --check 2>"$TMP/err2" >/dev/null; r2=$?
"$NODE" --check 2>/dev/null >/dev/null; r3=$?
set -e
[[ $r1 == 2 && $r2 == 2 && $r3 == 2 ]] || fail "exit codes $r1 $r2 $r3"
grep -q "syntax.json: line [0-9]* column [0-9]*" "$TMP/err" || fail "syntax message: $(cat "$TMP/err")"
grep -q "missing.json: cannot open: No such file or directory" "$TMP/err2" || fail "missing file message"
"$NODE" --version | grep -q "^veil-node " || fail "version"
echo "test_node_check: OK"
