#!/usr/bin/env bash
# tls13 interop with OpenSSL 3 on loopback: our server vs `openssl s_client -tls1_3`
# and our client vs `openssl s_server -tls1_3`, each cipher suite. The work is done by
# the cmocka program test_tls13_openssl (tests/unit/tls13/test_openssl.c), which makes
# an Ed25519 certificate with openssl genpkey/req, uses ephemeral ports on 127.0.0.1
# and kills the openssl processes it starts.
set -euo pipefail
bin="${VEIL_BIN:?VEIL_BIN not set}/test_tls13_openssl"
if ! command -v openssl >/dev/null; then
    echo "SKIP: openssl not installed"
    exit 77
fi
[[ -x "$bin" ]] || { echo "missing $bin (build the test_tls13_openssl target)"; exit 1; }
exec "$bin"
