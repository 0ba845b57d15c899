#!/usr/bin/env bash
# announce_many: thousands of torrents on one tracker. Start-up must not be a
# burst: the tracker (tests/lib/announce_tracker.py) records every arrival,
# and the peak of announces in any one-second bin must stay within the pace
# the announcer promises: max(10, ceil(N / min_interval)) per second plus a
# burst of per_host (1500 / 10 -> 150 + 4 = 154/s), every torrent announced
# once (event=started) within about min_interval. Then SIGTERM: the
# 'stopped' announces go out in parallel, bounded by stop_timeout.
# ANNOUNCE_MANY=10000 ANNOUNCE_MIN_INTERVAL=60 is the full-size run with the
# default min_interval (about three minutes; the default here, the same pace
# of 150/s over 10 s, keeps CI short: making, checking and announcing 1,500
# torrents takes half the time of 3,000).
# timeout: 300
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"

serve_need
if ! grep -q -- '-RS0100-' "$RINGSEED"; then
	echo "skip: $RINGSEED has no announcer yet (master/announce/announce.c is not wired into serve)"
	exit 77
fi
N=${ANNOUNCE_MANY:-1500}
MIN_INTERVAL=${ANNOUNCE_MIN_INTERVAL:-10} # announce.min_interval (default 60)
PER_HOST=4      # announce.per_host's default
TLOG=$work/tracker.log

bg "$PY" "$E2E_LIB/announce_tracker.py" --ports "$work/ports" --log "$TLOG" --lifetime 280
wait_until 10 test -s "$work/ports" || { fail "the test tracker did not start"; exit 1; }
HP=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ports")

serve_init "$work/s"
"$PY" "$E2E_LIB/announce_many.py" "$S_DIR/data" "$S_DIR/torrents" "$N" \
	"http://127.0.0.1:$HP/ok/announce" || { fail "announce_many.py"; exit 1; }
serve_settle
S_READY_TIMEOUT=120 serve_start -o announce.min_interval=$MIN_INTERVAL || exit 1

started() {
	grep -c '"event": "started"' "$TLOG"
}
all_started() {
	[ "$(started)" -ge "$N" ]
}
if ! wait_until $((MIN_INTERVAL + 60)) all_started; then
	fail "$(started) of $N torrents announced within $((MIN_INTERVAL + 60)) s"
fi
t_stop=$(date +%s.%N)
serve_stop 20
echo "shutdown took $(printf '%.1f' "$(echo "$(date +%s.%N) - $t_stop" | bc)") s;" \
	"'stopped' received: $(grep -c '"event": "stopped"' "$TLOG") of $N (stop_timeout 5 s)"

bound=$(((N + MIN_INTERVAL - 1) / MIN_INTERVAL))
[ "$bound" -ge 10 ] || bound=10
bound=$((bound + PER_HOST))
# a second's bin at the tracker may catch a few early or late arrivals: 5 %
"$PY" "$E2E_LIB/announce_check.py" peak "$TLOG" --bound $((bound + bound / 20)) \
	--expect-total "$N" >"$work/peak.out" 2>&1 || fail "announces per second"
sed -e 's/^/  /' "$work/peak.out"
echo "  (the pace promises $bound/s)"
if grep -E ' (warning|error): announce' "$S_LOG" >"$work/ann-errors"; then
	fail "$(wc -l <"$work/ann-errors") announce failures in the log"
	show "$work/ann-errors"
fi
serve_logs_clean
[ "$fails" -eq 0 ]
