#!/usr/bin/env bash
# Constant-time check of ML-KEM-768 with valgrind memcheck ("ctgrind"): bench/bench_mlkem_ctgrind.c
# marks the secrets (d, z, m, dk_pke, the rejection seed z) undefined, and memcheck reports every
# branch or memory index that depends on them. Built here with plain cc (memcheck cannot run under
# ASan), at -O1 and -O2 since the optimiser is what could turn mask arithmetic back into branches.
# CC=clang works too (-gdwarf-4: valgrind 3.19 cannot read clang's default DWARF 5).
# Skips (exit 77, prints SKIP) when valgrind or its memcheck.h header is missing.
set -euo pipefail

src="${VEIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}"
cc="${CC:-cc}"

if ! command -v valgrind >/dev/null 2>&1; then
    echo "SKIP: valgrind not installed (apt-get install valgrind)"
    exit 77
fi
if ! echo '#include <valgrind/memcheck.h>' | "$cc" -E -x c - >/dev/null 2>&1; then
    echo "SKIP: <valgrind/memcheck.h> not found (the Debian valgrind package ships it)"
    exit 77
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# libcrypto's SHA-3 processes secret input without data-dependent branches; if a libcrypto
# version ever makes memcheck complain inside its own frames, suppress only those frames here
# (obj:*libcrypto*) and say so. None are needed with Debian 12's OpenSSL 3.0.
supp="$tmp/libcrypto.supp"
: >"$supp"

fail=0
for opt in -O1 -O2; do
    bin="$tmp/ctgrind$opt"
    "$cc" -std=c11 -D_GNU_SOURCE -DMLKEM768_CTGRIND "$opt" -gdwarf-4 -I"$src/src" \
        "$src/bench/bench_mlkem_ctgrind.c" "$src"/src/crypto/mlkem768*.c "$src/src/crypto/crypto.c" \
        -lcrypto -lsodium -o "$bin"
    log="$tmp/valgrind$opt.log"
    rc=0
    valgrind --tool=memcheck --error-exitcode=1 --track-origins=yes --suppressions="$supp" \
        "$bin" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ] || grep -Eq 'Conditional jump or move depends on uninitialised value|Use of uninitialised value' "$log"; then
        echo "FAIL: secret-dependent branch or index at $opt (valgrind exit $rc):"
        cat "$log"
        fail=1
    else
        grep -E 'ctgrind:|ERROR SUMMARY' "$log" | sed "s/^/$opt: /"
    fi
done
if [ "$fail" -ne 0 ]; then
    exit 1
fi
echo "PASS: no secret-dependent branches or memory indexes in ML-KEM-768 keygen/encaps/decaps"
