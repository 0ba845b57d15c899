#!/usr/bin/env bash
# timeout: 60
#
# The sd_notify protocol, checked with a listener standing in for systemd
# (tests/lib/notify_listener.py) as $NOTIFY_SOCKET:
# - READY=1 (with STATUS= and MAINPID=) comes once, from the master, when
#   the peer port and the admin port already accept connections;
# - SIGHUP: RELOADING=1 (with MONOTONIC_USEC=), then READY=1 again;
# - SIGTERM: STOPPING=1; nothing ever comes from a worker.
# Without NOTIFY_SOCKET nothing changes (every other serve test).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1

serve_init "$work/s"
serve_add_file a.bin 300000 || exit 1
S_PORT=$(free_port)
SOCK=$work/notify.sock
OUT=$work/notify.log
bg "$PY" "$E2E_LIB/notify_listener.py" "$SOCK" "$OUT" "$S_PORT" "$S_ADMIN"
wait_until 5 grep -q listening "$OUT" 2>/dev/null || { fail "the listener did not start"; exit 1; }
S_WRAP="env NOTIFY_SOCKET=$SOCK" serve_start || exit 1
MAIN=$S_PID

wait_until 5 grep -q 'READY=1' "$OUT" || fail "no READY=1"
line=$(grep -m1 'READY=1' "$OUT")
echo "ready: $line"
[[ $line == "$MAIN "* ]] || fail "READY=1 not from the master ($MAIN): $line"
[[ $line == *"MAINPID=$MAIN"* ]] || fail "READY=1 without MAINPID=$MAIN"
[[ $line == *"STATUS=serving 1 torrents"* ]] || fail "READY=1 without a STATUS= line"
[[ $line == *"connect peer=ok admin=ok"* ]] || fail "READY=1 before listening: $line"

kill -HUP "$MAIN"
wait_until 5 sh -c "[ \$(grep -c 'READY=1' '$OUT') -ge 2 ]" || fail "no READY=1 after the reload"
grep -n . "$OUT" | sed -n '/RELOADING=1/,$p' | grep -q 'READY=1' || fail "RELOADING=1 did not come before the second READY=1"
grep -q 'RELOADING=1|MONOTONIC_USEC=[0-9]' "$OUT" || fail "RELOADING=1 without MONOTONIC_USEC"

serve_stop || true
wait_until 3 grep -q 'STOPPING=1' "$OUT" || fail "no STOPPING=1 after SIGTERM"
awk -v m="$MAIN" '$1 != "listening" && $1 != m { bad = 1; print "    | not from the master: " $0 } END { exit bad }' "$OUT" ||
	fail "a notification came from another process than the master"
sed -e 's/^/    | /' "$OUT"
serve_logs_clean
[ "$fails" -eq 0 ]
