#!/usr/bin/env bash
# veil CLI: x25519 (spec vector), uuid (-i mapping, random v4 shape), link (spec example link,
# decodes back, QR printed), version/help, unknown command -> exit 2. No network.
set -euo pipefail
VEIL="$VEIL_BIN/veil"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [[ "$1" == "$2" ]] || fail "$3: got [$1], want [$2]"; }

# x25519 -i: spec/config-and-links.md §3.1 vector, Xray's three lines.
out=$("$VEIL" x25519 -i EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8)
expect_eq "$(sed -n 1p <<<"$out")" "PrivateKey: EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8" "x25519 private"
expect_eq "$(sed -n 2p <<<"$out")" "Password (PublicKey): 2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y" "x25519 public"
[[ "$(sed -n 3p <<<"$out")" =~ ^Hash32:\ [A-Za-z0-9_-]{43}$ ]] || fail "x25519 Hash32 line"
expect_eq "$(wc -l <<<"$out")" "3" "x25519 line count"
# reality-clienthello test key pair (index.json)
out=$("$VEIL" x25519 -i KBwdlfIKkauP2EUH1TmdbHflk3Uz5hy_RK-fiIFTTFw)
expect_eq "$(sed -n 2p <<<"$out")" "Password (PublicKey): sajj7aIFA8IE5wHFlAS-Lsal68qGzesjc4CpCzlSGT0" "x25519 capture key"
# an unclamped key is printed clamped and gives the same public key
out=$("$VEIL" x25519 -i __________________________________________8)
[[ "$(sed -n 1p <<<"$out")" == "PrivateKey: -P_______________________________________38" ]] || fail "clamping: $out"
out=$("$VEIL" x25519 --std-encoding -i EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8)
expect_eq "$(sed -n 2p <<<"$out")" "Password (PublicKey): 2J47rXlDfb7Z+ENBgwT0YP8Fx/6B/kqVd6gEy5Nn/2Y=" "std encoding"
# generated pairs are consistent: deriving from the printed private key gives the same output
gen=$("$VEIL" x25519)
priv=$(sed -n 's/^PrivateKey: //p' <<<"$gen")
expect_eq "$("$VEIL" x25519 -i "$priv")" "$gen" "x25519 generate/derive"
set +e
"$VEIL" x25519 -i not-a-key >/dev/null 2>&1; rc=$?
set -e
expect_eq "$rc" "2" "x25519 bad key exit code"

# uuid
expect_eq "$("$VEIL" uuid -i hello)" "b7502f40-1152-59f2-ba10-69aeed522cdf" "uuid -i hello"
expect_eq "$("$VEIL" uuid -i B831381D6324-4D53-AD4F-8CDA48B30811)" "b831381d-6324-4d53-ad4f-8cda48b30811" "uuid canonical"
[[ "$("$VEIL" uuid)" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail "uuid v4 shape"
[[ "$("$VEIL" uuid)" != "$("$VEIL" uuid)" ]] || fail "uuid not random"

# link: the spec §5.2 example
sed -e 's/REPLACE-WITH-veil-x25519-PrivateKey-000000/EBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLm8/' \
    -e 's/REPLACE-WITH-openssl-rand-hex-16/0123456789abcdef0123456789abcdef/' \
    "$VEIL_SOURCE_DIR/deploy/node.json" >"$TMP/node.json"
link=$("$VEIL" link -c "$TMP/node.json" -u alice@example --address 203.0.113.10 --name "Node 1" --sid 0123456789abcdef)
expect_eq "$link" "vless://b831381d-6324-4d53-ad4f-8cda48b30811@203.0.113.10:443?encryption=none&flow=xtls-rprx-vision&security=reality&sni=www.example.com&fp=chrome&pbk=2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y&sid=0123456789abcdef&spx=%2F&type=tcp&headerType=none#Node%201" "link"
dec=$("$VEIL" link --decode "$link")
grep -qx 'id: b831381d-6324-4d53-ad4f-8cda48b30811' <<<"$dec" || fail "decode id"
grep -qx 'host: 203.0.113.10' <<<"$dec" || fail "decode host"
grep -qx 'pbk: 2J47rXlDfb7Z-ENBgwT0YP8Fx_6B_kqVd6gEy5Nn_2Y' <<<"$dec" || fail "decode pbk"
grep -qx 'remark: Node 1' <<<"$dec" || fail "decode remark"
# by UUID, IPv6 address
link=$("$VEIL" link -c "$TMP/node.json" -u b831381d-6324-4d53-ad4f-8cda48b30811 --address 2001:db8::1)
[[ "$link" == vless://b831381d-6324-4d53-ad4f-8cda48b30811@\[2001:db8::1\]:443\?* ]] || fail "ipv6 link: $link"
grep -qx 'host: 2001:db8::1' <<<"$("$VEIL" link --decode "$link")" || fail "ipv6 decode"
# QR: link line, then a square block of half-block lines of equal width
qr=$("$VEIL" link -c "$TMP/node.json" -u alice@example --address 203.0.113.10 --qr)
lines=$(($(wc -l <<<"$qr") - 1))
(( lines > 10 )) || fail "qr too short"
widths=$(tail -n +2 <<<"$qr" | while IFS= read -r l; do echo "${#l}"; done | sort -u)
expect_eq "$(wc -l <<<"$widths")" "1" "qr lines of equal width"
(( widths >= 2 * lines - 2 && widths <= 2 * lines + 2 )) || fail "qr not square: $widths x $lines"
grep -q '▀' <<<"$qr" || fail "qr glyphs"

# users added through the node's admin API (stateDir/users.json overlay) get links too
mkdir -p "$TMP/state"
python3 - "$TMP/node.json" "$TMP/state" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["veil"]["stateDir"] = sys.argv[2]
json.dump(c, open(sys.argv[1], "w"))
json.dump({"add": [{"id": "carol", "email": "carol@example", "flow": "xtls-rprx-vision"}], "remove": ["alice@example"]},
          open(sys.argv[2] + "/users.json", "w"))
PY
link=$("$VEIL" link -c "$TMP/node.json" -u carol@example --address 203.0.113.10)
[[ "$link" == vless://carol@203.0.113.10:443\?* ]] || fail "overlay user link: $link"
set +e
"$VEIL" link -c "$TMP/node.json" -u alice@example --address 203.0.113.10 >/dev/null 2>&1; r0=$?
set -e
expect_eq "$r0" "2" "removed user has no link"

# --all: one link per user, remark "<name> <email>"
all=$("$VEIL" link -c "$TMP/node.json" --all --address 203.0.113.10 --name DE)
expect_eq "$(wc -l <<<"$all")" "1" "--all line count"
[[ "$all" == *"#DE%20carol%40example" ]] || fail "--all remark: $all"

# errors: unknown user, missing address, bad config, unknown command
set +e
"$VEIL" link -c "$TMP/node.json" -u nobody --address 1.2.3.4 >/dev/null 2>&1; r1=$?
"$VEIL" link -c "$TMP/node.json" -u carol@example 2>"$TMP/err" >/dev/null; r2=$?
"$VEIL" link -c "$VEIL_SOURCE_DIR/deploy/node.json" 2>"$TMP/err2" >/dev/null; r3=$?
"$VEIL" frobnicate >/dev/null 2>"$TMP/err3"; r4=$?
"$VEIL" link --decode "vless://x@h" >/dev/null 2>&1; r5=$?
set -e
expect_eq "$r1" "2" "unknown user"
expect_eq "$r2" "2" "missing address"
grep -q -- "an address is required (the inbound listens on 0.0.0.0); use --address HOST" "$TMP/err" || fail "address message: $(cat "$TMP/err")"
expect_eq "$r3" "2" "bad config"
grep -q "privateKey: must be 32 bytes" "$TMP/err2" || fail "config message"
expect_eq "$r4" "2" "unknown command"
grep -q "usage: veil" "$TMP/err3" || fail "usage on unknown command"
expect_eq "$r5" "2" "bad link"

[[ "$("$VEIL" version)" == veil\ * ]] || fail "version"
"$VEIL" help | grep -q x25519 || fail "help"

# Issue 10 item 12: an empty QR text is a usage error (was "out of memory", exit 1), and a link
# host must be a domain name or an IP literal (a space was printed into the link).
set +e
err=$("$VEIL" qr '' 2>&1 >/dev/null); rc=$?
set -e
expect_eq "$rc" "2" "qr '' exit code"
[[ "$err" == *empty* && "$err" != *memory* ]] || fail "qr '' message: $err"
for bad in 'evil host' 'a/b' 'x..y' '-' 'host:80' '[::1]' 'a@b' "$(printf 'x%.0s' {1..64}).com"; do
    set +e
    out=$("$VEIL" link -c "$TMP/node.json" -u carol@example --address "$bad" 2>&1); rc=$?
    set -e
    expect_eq "$rc" "2" "link --address '$bad' exit code"
    [[ "$out" != vless://* && "$out" == *"not a domain name"* ]] || fail "link --address '$bad': $out"
done
for good in node-1.example.com 192.0.2.1 2001:db8::2 example.com. my_host.lan; do
    "$VEIL" link -c "$TMP/node.json" -u carol@example --address "$good" | grep -q '^vless://' || fail "link --address $good"
done
echo "test_cli: OK"
