# Waiting for an event with a deadline instead of sleeping a fixed time before an assertion.
# lib.sh sources it; scripts that keep their own cleanup source it alone. The caller defines fail.
# wait_for 'COMMAND' SECONDS [WHAT]: polls COMMAND (run with eval) every 50 ms until it succeeds;
# fails the test naming WHAT (or COMMAND) if it has not within SECONDS (an integer). Use it
# instead of a fixed sleep before an assertion.
wait_for() {
  local cond=$1 what=${3:-$1}
  local deadline=$(( ${EPOCHREALTIME//[.,]/} + $2 * 1000000 ))
  until eval "$cond" >/dev/null 2>&1; do
    (( ${EPOCHREALTIME//[.,]/} < deadline )) || fail "timed out after $2 s waiting for: $what"
    sleep 0.05
  done
}
