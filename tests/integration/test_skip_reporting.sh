#!/usr/bin/env bash
# A test that cannot run is reported as skipped, never as passed, and CI fails on it:
#   1. a cmocka unit test whose tests call skip() exits 77 (tests/support/cmocka_skip.c), shown
#      with test_tls13_openssl when no openssl binary is on PATH;
#   2. an integration script that calls skip_part still runs the rest, then exits 77 (lib.sh);
#   3. scripts/ctest-no-skip fails on a skipped test, accepts it when .allowed-skips gives a
#      reason, refuses an entry without one, and ignores the list under CI (VEIL_CI=1).
source "$(dirname "$0")/support/lib.sh"
SRC=${VEIL_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

# 1.
mkdir -p "$WORK/emptypath"
rc=0
PATH="$WORK/emptypath" "$VEIL_BIN/test_tls13_openssl" >"$WORK/cmocka.log" 2>&1 || rc=$?
[[ $rc == 77 ]] || fail "cmocka test with skipped tests exited $rc, want 77: $(tail -5 "$WORK/cmocka.log")"
grep -q 'SKIPPED' "$WORK/cmocka.log" || fail "cmocka did not list the skipped tests"
ok "cmocka: skipped tests make the executable exit 77"

# 2.
cat >"$WORK/part.sh" <<EOF
source "$SUPPORT/lib.sh"
skip_part "no such server here"
echo "the rest ran"
EOF
rc=0
bash "$WORK/part.sh" >"$WORK/part.log" 2>&1 || rc=$?
[[ $rc == 77 ]] || fail "skip_part: exit $rc, want 77"
grep -q "the rest ran" "$WORK/part.log" || fail "skip_part stopped the script"
ok "lib.sh: skip_part runs the rest, then exits 77"

# 3.
mkdir -p "$WORK/proj"
cat >"$WORK/proj/CMakeLists.txt" <<'EOF'
cmake_minimum_required(VERSION 3.25)
project(skips NONE)
enable_testing()
add_test(NAME passes COMMAND true)
add_test(NAME cannot_run COMMAND sh -c "echo 'SKIP: needs a thing'; exit 77")
set_tests_properties(cannot_run PROPERTIES SKIP_RETURN_CODE 77)
EOF
cmake -S "$WORK/proj" -B "$WORK/proj/b" >/dev/null
run() { VEIL_ALLOWED_SKIPS=$1 VEIL_CI=${2:-0} "$SRC/scripts/ctest-no-skip" "$WORK/proj/b" >"$WORK/ctest.log" 2>&1; }
run /dev/null && fail "ctest-no-skip passed with a skipped test"
grep -q "NOT RUN: cannot_run: SKIP: needs a thing" "$WORK/ctest.log" || fail "no reason shown: $(cat "$WORK/ctest.log")"
echo "cannot_run  the thing is not installed on this machine" >"$WORK/allowed"
run "$WORK/allowed" || fail "an allowed skip failed the run: $(tail -3 "$WORK/ctest.log")"
echo "cannot_run" >"$WORK/noreason"
run "$WORK/noreason" && fail "an allowed skip without a reason was accepted"
run "$WORK/allowed" 1 && fail "under CI an allowed skip passed"
ok "ctest-no-skip: a skip fails the run unless allowed with a reason on this machine; never under CI"
