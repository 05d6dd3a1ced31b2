#!/usr/bin/env bash
# Include direction is enforced, not only link direction (issue 11 #7): scripts/check-includes
# holds on the tree, and on a copy it fails for a cli file that includes a node header, for a
# private header (*_int.h) included from another folder, and for a unit test that reaches a
# module its module does not depend on.
set -euo pipefail
source "$(dirname "$0")/support/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
CHECK=$SRC/scripts/check-includes

out=$("$CHECK") || fail "the tree breaks the include rules: $out"
ok "tree: $out"

# A copy with only the build files (the module graph) and the offending files.
copy() {
  rm -rf "$WORK/t"
  mkdir -p "$WORK/t/src"
  for f in "$SRC"/src/*/CMakeLists.txt; do
    m=$(basename "$(dirname "$f")")
    mkdir -p "$WORK/t/src/$m"
    cp "$f" "$WORK/t/src/$m/"
  done
}
expect_fail() { # expect_fail WHAT PATTERN
  local rc=0
  "$CHECK" --root "$WORK/t" >"$WORK/out.log" 2>&1 || rc=$?
  [[ $rc -eq 1 ]] || fail "$1: exit $rc, want 1: $(cat "$WORK/out.log")"
  grep -qF "$2" "$WORK/out.log" || fail "$1: no '$2' in: $(cat "$WORK/out.log")"
  ok "$1 refused"
}

copy
printf '#include "core/err.h"\n#include "vless/header.h"\n' >"$WORK/t/src/cli/fine.c"
"$CHECK" --root "$WORK/t" >"$WORK/out.log" 2>&1 || fail "allowed includes refused: $(cat "$WORK/out.log")"
ok "includes along DEPS pass"

printf '#include "core/err.h"\n#include "node/services.h"\n' >"$WORK/t/src/cli/cmd_link.c"
expect_fail "cli -> node" 'src/cli/cmd_link.c:2: includes "node/services.h" but cli does not depend on node'

copy
printf '#include "tls13/tls13_int.h"\n' >"$WORK/t/src/reality/auth.c"
expect_fail "another module's private header" 'src/reality/auth.c:1: includes "tls13/tls13_int.h", private to src/tls13'

copy
mkdir -p "$WORK/t/src/hub/bot"
printf '#include "hub/store/store_int.h"\n' >"$WORK/t/src/hub/bot/bot_store.c"
expect_fail "another folder's private header" '(use "hub/store/store_sql.h")'

copy
mkdir -p "$WORK/t/tests/unit/vless"
printf '#include "tls13/tls13.h"\n' >"$WORK/t/tests/unit/vless/test_x.c"
expect_fail "a unit test beyond its module's DEPS" 'includes "tls13/tls13.h" but vless does not depend on tls13'
