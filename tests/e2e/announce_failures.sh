#!/usr/bin/env bash
# announce_failures: `ringseed serve` against a tracker that misbehaves on
# request (tests/lib/announce_tracker.py), one torrent per behaviour. Each
# failure is one clear log line (torrent, URL, what went wrong, when it is
# retried), the retries follow announce.retry_min doubling up to retry_max
# (checked on the tracker's arrival times), a redirect is followed, warnings
# are logged, and good trackers see started / re-announces without event
# (with their tracker id, one UDP connection id) / stopped on SIGTERM.
# timeout: 120
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"

serve_need
if ! grep -q -- '-RS0100-' "$RINGSEED"; then
	echo "skip: $RINGSEED has no announcer yet (master/announce/announce.c is not wired into serve)"
	exit 77
fi
CHK=$E2E_LIB/announce_check.py
TLOG=$work/tracker.log

bg "$PY" "$E2E_LIB/announce_tracker.py" --ports "$work/ports" --log "$TLOG" --interval 2 \
	--slow 2.5 --lifetime 200
wait_until 10 test -s "$work/ports" || { fail "the test tracker did not start"; exit 1; }
HP=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ports")
udp_port() {
	"$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["udp"][sys.argv[2]])' \
		"$work/ports" "$1"
}

serve_init "$work/s"
serve_conf_add "[announce]" "retry_min = 1" "retry_max = 4" "timeout = 1" "min_interval = 1" \
	"per_host = 64" "in_flight = 64"
HTTP_MODES="ok nocounts warn fail garbage trunc 500 redirect slow"
UDP_MODES="ok error silent badtxid"
for m in $HTTP_MODES; do
	"$PY" "$LT" mkfile "$S_DIR/data/h-$m" 1000 "$m" &&
		serve_torrent "$S_DIR/data/h-$m" "h-$m" -a "http://127.0.0.1:$HP/$m/announce" || exit 1
done
for m in $UDP_MODES; do
	"$PY" "$LT" mkfile "$S_DIR/data/u-$m" 1000 "u$m" &&
		serve_torrent "$S_DIR/data/u-$m" "u-$m" -a "udp://127.0.0.1:$(udp_port "$m")" || exit 1
done
serve_settle
serve_start || exit 1
sleep 13
serve_stop 10

# check CMD...: a check of announce_check.py, its output shown
check() {
	"$PY" "$CHK" "$@" "$TLOG" >"$work/check.out" 2>&1 || fail "announce_check.py $*"
	sed -e 's/^/  /' "$work/check.out"
}

# one log line per failure: torrent, URL, what, retry time
logline() {
	local name=$1 url=$2 what=$3 min=$4 n
	n=$(grep -cE "warning: announce failed: torrent $name, $url: started: .*($what).*; retry in [0-9.]+ s$" "$S_LOG")
	echo "  $name: $n failure lines"
	[ "$n" -ge "$min" ] || {
		fail "$name: $n log lines 'announce failed: torrent $name, $url: started: $what; retry in N s', want $min or more"
		grep -m 3 "torrent $name" "$S_LOG" | sed -e 's/^/    | /'
	}
}

echo "retry schedules (retry_min 1 s doubling to retry_max 4 s):"
for m in fail garbage trunc 500; do
	check retries --proto http --mode "$m" --expect 1,2,4,4
done
check retries --proto http --mode slow --expect 1,2,4 --extra 1
check retries --proto udp --mode error --expect 1,2,4,4
# BEP 15: the connect is sent again after timeout * 2^n (1 s, 2 s), fails after 7 s, then backoff
check retries --proto udp --mode silent --kind connect --expect 1,2,5

echo "log lines:"
U="http://127.0.0.1:$HP"
logline h-fail "$U/fail/announce" 'failure reason "test says no"' 4
logline h-garbage "$U/garbage/announce" 'malformed reply' 4
logline h-trunc "$U/trunc/announce" 'partial file|malformed reply' 4
logline h-500 "$U/500/announce" 'HTTP 500' 4
logline h-slow "$U/slow/announce" 'curl: Timeout was reached' 3
logline u-error "udp://127.0.0.1:$(udp_port error)" 'tracker error "udp test refusal"' 4
logline u-silent "udp://127.0.0.1:$(udp_port silent)" 'no reply to connect after 3 tries' 1
grep -q "warning: tracker warning: torrent h-warn, $U/warn/announce: \"test warning\"" "$S_LOG" ||
	fail "no 'tracker warning' line for h-warn"
grep -q "announce: $U/redirect/announce redirects to $U/redirected/announce" "$S_LOG" ||
	fail "no line saying that $U/redirect/announce redirects"
for n in h-ok h-nocounts h-warn h-redirect u-ok u-badtxid; do
	! grep -q "announce failed: torrent $n," "$S_LOG" || fail "$n: an announce failed"
done

echo "good trackers:"
check reannounce --proto http --mode ok
check reannounce --proto udp --mode ok
check reannounce --proto udp --mode badtxid
check count --proto http --mode ok --kind announce --event stopped --min 1 --max 1
check count --proto udp --mode ok --kind announce --event stopped --min 1 --max 1
check count --proto udp --mode ok --kind connect --min 1 --max 1 # the id is good for 60 s
check count --proto http --mode nocounts --kind scrape --min 1 --max 1 # BEP 48, once
check count --proto http --mode redirect --kind announce --min 3
check reannounce --proto http --mode redirected
serve_logs_clean
[ "$fails" -eq 0 ]
