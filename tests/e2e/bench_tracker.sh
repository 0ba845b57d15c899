#!/usr/bin/env bash
# timeout: 90
#
# ringseed-tracker-bench against the built-in tracker of `ringseed serve`
# (--tracker-listen, tracker.open = yes): a swarm of 2,000 peers, six runs of
# 1 s each (HTTP keep-alive with 1, 8, 64 connections; UDP with 1, 4, 16 in
# flight). It must exit 0 and print six lines, each with a non-zero rate and
# the tracker's CPU per announce (--pid), and the tracker must count at least
# the swarm's announces plus one a run. Against the tracker with
# tracker.open = no, the made-up info-hash must be refused: exit 1, the
# tracker's reason named; the info-hash of the torrent ringseed serves
# (--info-hash) is taken. A bad option is a usage error (exit 2).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
TBENCH=$(dirname "$RINGSEED")/ringseed-tracker-bench

if [ ! -x "$TBENCH" ]; then
	echo "skip: $TBENCH not built (make builds it beside ringseed)"
	exit 77
fi
if ! "$RINGSEED" serve --help >/dev/null 2>&1; then
	echo "skip: $RINGSEED has no working 'serve --help'"
	exit 77
fi
cd "$work" || exit 1

serve_init "$work/s"
head -c 100000 /dev/urandom >"$S_DIR/data/t.bin"
serve_torrent "$S_DIR/data/t.bin" t || exit 1
HASH=$(sed -n 's/.*, info-hash \([0-9a-f]\{40\}\)$/\1/p' "$S_DIR/create-t.out")
serve_settle
TP=$(free_port)
serve_start --tracker-listen "127.0.0.1:$TP" -o tracker.open=yes -o serve.stats_interval=1 || exit 1

"$TBENCH" -d 1 -n 2000 --pid "$S_PID" "127.0.0.1:$TP" >"$work/run.out" 2>"$work/run.err"
rc=$?
[ $rc -eq 0 ] || { fail "ringseed-tracker-bench exited $rc, want 0"; show "$work/run.err"; }
cat "$work/run.out"
grep -qx 'swarm: 2000 peers, numwant 50' "$work/run.out" || fail "no 'swarm: 2000 peers, numwant 50' line"
line='^(HTTP keep-alive, +[0-9]+ connections|UDP, 4 sockets x +[0-9]+ in flight): '
line+=' +[1-9][0-9]* announces/s( \([0-9]+ lost\))?, tracker CPU [0-9.]+ us each '
n=$(grep -cE "$line" "$work/run.out")
[ "$n" -eq 6 ] || fail "$n of 6 runs with a non-zero rate and the tracker's CPU per announce"
serve_wait_stat tracker_announces $((2000 + 6)) 5 ||
	fail "tracker_announces=$(serve_stat tracker_announces), want 2006 or more"
serve_stop

# The same tracker, closed to info-hashes it does not serve.
serve_start --tracker-listen "127.0.0.1:$TP" || exit 1
"$TBENCH" -d 1 -n 10 "127.0.0.1:$TP" >"$work/closed.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { fail "a refused info-hash: exit $rc, want 1"; show "$work/closed.out"; }
grep -q '^ringseed-tracker-bench: UDP: the tracker refused: ' "$work/closed.out" ||
	{ fail "a refused info-hash: the tracker's reason is not named"; show "$work/closed.out"; }
"$TBENCH" -d 0.2 -n 10 --info-hash "$HASH" "127.0.0.1:$TP" >"$work/served.out" 2>&1 ||
	{ fail "--info-hash ${HASH:-(none from create)} of the served torrent: exit $?, want 0"; show "$work/served.out"; }
serve_stop

"$TBENCH" --duration 0 "127.0.0.1:$TP" >"$work/usage.out" 2>&1
rc=$?
[ $rc -eq 2 ] || { fail "--duration 0: exit $rc, want 2"; show "$work/usage.out"; }
grep -q -- '--duration wants seconds' "$work/usage.out" || { fail "--duration 0: no clear error"; show "$work/usage.out"; }

serve_logs_clean
sanitizer_clean "$work"/*.out "$work"/*.err || fail "sanitizer report in ringseed-tracker-bench's output"
[ "$fails" -eq 0 ]
