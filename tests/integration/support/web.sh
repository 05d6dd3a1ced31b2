# Shared set-up of the browser tests (test_web_*.sh): the hub binary, Debian's chromium, zbarimg,
# and playwright-core + axe-core from tests/web/package-lock.json installed once into the build
# folder. Skips (77) only when chromium, zbarimg or npm are missing or npm cannot install.
HUB=$VEIL_BIN/veil-hub
[[ -x $HUB ]] || fail "missing $HUB"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
BUILD=$(cd "$VEIL_BIN/.." && pwd)
CHROMIUM=${VEIL_CHROMIUM:-/usr/bin/chromium}
[[ -x $CHROMIUM ]] || skip_all "no $CHROMIUM (scripts/install-deps installs chromium)"
command -v zbarimg >/dev/null || skip_all "no zbarimg (scripts/install-deps installs zbar-tools)"
command -v node >/dev/null && command -v npm >/dev/null || skip_all "no node/npm (scripts/install-deps)"
NODE_DIR=$BUILD/web-node
(
  flock 9
  if ! cmp -s "$SRC/tests/web/package-lock.json" "$NODE_DIR/package-lock.json" 2>/dev/null ||
     [[ ! -d $NODE_DIR/node_modules/playwright-core ]]; then
    mkdir -p "$NODE_DIR"
    cp "$SRC/tests/web/package.json" "$SRC/tests/web/package-lock.json" "$NODE_DIR/"
    (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1 || exit 1
  fi
) 9>"$BUILD/.web-node.lock" || { cat "$WORK/npm.log"; skip_all "npm ci failed (no registry access?)"; }
