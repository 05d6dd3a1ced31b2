#!/usr/bin/env bash
# `veil scan`: the REALITY target scanner against loopback targets:
# - openssl s_server -tls1_3 with RSA-2048 (separate records, X25519): suitable;
# - openssl s_server -tls1_2: not suitable (no TLS 1.3); -groups P-256: HelloRetryRequest;
#   -alpn h2,http/1.1: h2 reported;
# - the synthetic hybrid target (tests/tools/hybrid_target.c): X25519MLKEM768, combined flight,
#   suitable; with --no-pq: X25519;
# - the hybrid target restricted to the hybrid group with a small chain: an X25519-only hello is
#   refused (alert), and the hybrid hello gets one small packed record (not followable);
# - a closed port, a silent server, and usage errors.
source "$(dirname "$0")/support/lib.sh"

P13=$(free_port) P12=$(free_port) PH=$(free_port) PHO=$(free_port) PS=$(free_port) PC=$(free_port)
PHRR=$(free_port) PH2=$(free_port)
openssl req -x509 -newkey rsa:2048 -keyout "$WORK/t.key" -out "$WORK/t.crt" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
openssl x509 -in "$WORK/t.crt" -outform DER -out "$WORK/ca.der"
openssl req -x509 -newkey ed25519 -keyout "$WORK/leaf.key" -out "$WORK/leaf.pem" -days 2 -nodes \
  -subj /CN=example.com >/dev/null 2>&1
openssl x509 -in "$WORK/leaf.pem" -outform DER -out "$WORK/leaf.der"
openssl pkey -in "$WORK/leaf.key" -outform DER -out "$WORK/leaf.key.der"

bg t13 openssl s_server -accept "127.0.0.1:$P13" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet
bg t12 openssl s_server -accept "127.0.0.1:$P12" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_2 -www -quiet
# P-256 only: the client lists secp256r1 without a share, so the server asks for a retry.
bg hrr openssl s_server -accept "127.0.0.1:$PHRR" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet \
  -groups P-256
bg h2 openssl s_server -accept "127.0.0.1:$PH2" -cert "$WORK/t.crt" -key "$WORK/t.key" -tls1_3 -www -quiet \
  -alpn h2,http/1.1
bg hybrid "$VEIL_BIN/hybrid_target" --port "$PH" --cert "$WORK/leaf.der" --key "$WORK/leaf.key.der" \
  --chain "$WORK/ca.der"
bg hybrid-only "$VEIL_BIN/hybrid_target" --port "$PHO" --cert "$WORK/leaf.der" --key "$WORK/leaf.key.der" \
  --hybrid-only
# A server that accepts and never answers.
bg silent python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1',$PS)); s.listen(); c=s.accept(); time.sleep(30)"
for p in $P13 $P12 $PH $PHO $PS $PHRR $PH2; do wait_port "$p"; done

scan() { # scan NAME ARGS...: output in $WORK/NAME.out, exit code in $RC
  RC=0
  "$VEIL_BIN/veil" scan "${@:2}" >"$WORK/$1.out" 2>&1 || RC=$?
}
has() { grep -qE -- "$2" "$WORK/$1.out" || { cat "$WORK/$1.out"; fail "$1: no '$2'"; }; }

scan t13 "127.0.0.1:$P13" --sni example.com
[ $RC = 0 ] || { cat "$WORK/t13.out"; fail "TLS 1.3 RSA target: exit $RC"; }
has t13 '^TLS 1.3 +yes$'
has t13 '^suite +TLS_AES_(128_GCM_SHA256|256_GCM_SHA384) '
has t13 '^group +X25519 \(0x001d\)$'
has t13 '^CCS +yes$'
has t13 '^flight +ServerHello [0-9]+, separate: EncryptedExtensions [0-9]+ Certificate [0-9]+ CertificateVerify [0-9]+ Finished [0-9]+'
has t13 '^certificate +1 certificate, [0-9]{3,4} bytes'
has t13 '^verdict +suitable$'
ok "openssl -tls1_3 RSA-2048: TLS 1.3, X25519, CCS, separate records, suitable"

scan t12 "127.0.0.1:$P12"
[ $RC = 1 ] || fail "TLS 1.2 target: exit $RC"
has t12 '^TLS 1.3 +no'
has t12 '^verdict +not suitable: no TLS 1.3$'
ok "openssl -tls1_2: not suitable"

scan hrr "127.0.0.1:$PHRR"
[ $RC = 1 ] || fail "HRR target: exit $RC"
has hrr '^TLS 1.3 +yes, but HelloRetryRequest$'
has hrr '^verdict +not suitable: the target asked for HelloRetryRequest'
ok "P-256-only target: HelloRetryRequest, not suitable"

scan h2 "127.0.0.1:$PH2"
[ $RC = 0 ] || fail "h2 target: exit $RC"
has h2 '^ALPN +h2 \(h2 supported\)$'
has t13 '^ALPN +none selected \(no h2\)$'
ok "ALPN: h2 seen when the target supports it"

scan hybrid "127.0.0.1:$PH" --sni example.com
[ $RC = 0 ] || { cat "$WORK/hybrid.out"; fail "hybrid target: exit $RC"; }
has hybrid '^group +X25519MLKEM768 \(0x11ec\)$'
has hybrid '^records +22:1215 20:6 23:[0-9]+$'
has hybrid '^flight +ServerHello 1215, combined: one encrypted record of [0-9]+'
has hybrid '^ALPN +http/1.1 \(no h2\)$'
has hybrid '^certificate +2 certificates'
has hybrid '^verdict +suitable$'
ok "hybrid target: X25519MLKEM768, combined flight, suitable"
scan hybrid-nopq "127.0.0.1:$PH" --sni example.com --no-pq
[ $RC = 0 ] || fail "hybrid target --no-pq: exit $RC"
has hybrid-nopq '^group +X25519 \(0x001d\)$'
has hybrid-nopq 'offering X25519$'
ok "hybrid target, --no-pq: X25519"

scan ho-nopq "127.0.0.1:$PHO" --no-pq
[ $RC = 1 ] || fail "hybrid-only target --no-pq: exit $RC"
has ho-nopq '^verdict +not suitable: the target refused the hello with an alert: handshake_failure$'
scan ho "127.0.0.1:$PHO"
[ $RC = 1 ] || fail "hybrid-only small target: exit $RC"
has ho '^group +X25519MLKEM768'
has ho '^verdict +not suitable: the encrypted flight packs messages into a first record of <= 512 bytes'
ok "hybrid-only target with one certificate: alert for X25519 only; small packed flight not followable"

scan closed "127.0.0.1:$PC"
[ $RC = 1 ] || fail "closed port: exit $RC"
has closed 'cannot connect'
scan silent "127.0.0.1:$PS" --timeout 1
[ $RC = 1 ] || fail "silent server: exit $RC"
has silent '^verdict +not suitable: the target did not answer'
scan usage1
[ $RC = 2 ] || fail "no argument: exit $RC"
scan usage2 "a:b:c"
[ $RC = 2 ] || fail "bad HOST:PORT: exit $RC"
ok "closed port, silent server, usage errors"

# The certificate checks: a name the certificate does not carry is not suitable.
scan wrongname "127.0.0.1:$P13" --sni other.example.org
[ $RC = 1 ] || fail "wrong name: exit $RC"
has wrongname '^names +CN example.com, does not name the SNI'
has wrongname '^verdict +not suitable: the certificate is for another name$'
ok "a certificate for another name: not suitable"

# Ranking: candidates (hosts, a CIDR, a file) checked and listed best first as JSON; an IP
# without --sni is checked again with the name its certificate gives.
printf '# candidates\n127.0.0.1:%s\n127.0.0.1:%s  # TLS 1.2\n' "$P12" "$PH2" > "$WORK/cands.txt"
scan rank --json --file "$WORK/cands.txt" "127.0.0.1:$PHRR" "127.0.0.1:$PC" 127.0.0.1/31 --port "$P13" --timeout 2
[ $RC = 0 ] || { cat "$WORK/rank.out"; fail "ranking: exit $RC"; }
python3 - "$WORK/rank.out" "$PH2" "$P12" "$PHRR" "$PC" "$P13" <<'PY' || fail "ranking: unexpected JSON"
import json, sys
rows = json.load(open(sys.argv[1]))
ph2, p12, phrr, pc, p13 = map(int, sys.argv[2:])
by = {(r["host"], r["port"]): r for r in rows}
assert len(rows) == 6, rows
assert rows[0]["port"] == ph2 and rows[0]["h2"] and rows[0]["suitable"], rows[0]   # h2 ranks first
assert by[("127.0.0.1", p13)]["suitable"] and by[("127.0.0.1", p13)]["sni"] == "example.com"
assert by[("127.0.0.1", p12)]["verdict"] == "no_tls13"
assert by[("127.0.0.1", phrr)]["verdict"] == "no_x25519"
assert by[("127.0.0.1", pc)]["verdict"] == "down"
assert by[("127.0.0.0", p13)]["verdict"] == "down"
assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
PY
scan badcidr --json 10.0.0.0/8
[ $RC = 2 ] || fail "a /8: exit $RC"
ok "ranked JSON over hosts, a file and a CIDR"

if grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$WORK"/*.out "$WORK"/*.log; then
  fail "sanitizer reports"
fi
echo "cli scan: all checks passed"
