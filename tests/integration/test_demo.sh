#!/usr/bin/env bash
# The README's quick start runs scripts/demo; this keeps it true: hub + node + a customer's
# traffic through a real tunnel, with the binaries under test.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(VEIL_BIN=${VEIL_BIN:?} bash "$root/scripts/demo" 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -n 4
grep -q "OK: the customer's traffic went through veil-node" <<<"$out" || { echo "$out"; exit 1; }
grep -q "sees the target instead: subject=CN = www.example.com" <<<"$out" || { echo "$out"; exit 1; }
echo "demo: ok"
