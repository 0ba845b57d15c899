#!/usr/bin/env bash
# timeout: 180
#
# The splice and send_zc strategies over a long run, one worker each: 48
# ringseed-bench connections each download all of a 24 MiB torrent (1 MiB
# pieces), every piece checked with SHA-1. That is 73,728 piece messages, so
# the worker's header log (WK_HLOG_SIZE, 20,164 headers a chunk) is retired
# and replaced three times, while some batches wait for room in a full socket
# (splice: headers not yet in their pipe; send_zc: a sendmsg in flight, or
# its pages not yet released). Every connection must finish with no bad
# piece, and the seeder must drop nobody for an I/O error.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
BENCH=$(dirname "$RINGSEED")/ringseed-bench
N=48
MB=24

[ -x "$BENCH" ] || { echo "skip: $BENCH not built"; exit 77; }
cd "$work" || exit 1

S_PL=1M
serve_init "$work/s"
head -c $((MB * 1048576)) /dev/urandom >"$S_DIR/data/long.bin"
serve_torrent "$S_DIR/data/long.bin" long || exit 1
one_strategy() {
	local strategy=$1 rc want
	serve_start -w 1 --send-strategy "$strategy" -o serve.stats_interval=1 || return 1

	"$BENCH" -t "$S_DIR/torrents/long.torrent" -c "127.0.0.1:$S_PORT" -n $N -b all --verify \
		--max-opening $N --timeout 120 --json --quiet >"$work/run.json" 2>"$work/run.err"
	rc=$?
	[ $rc -eq 0 ] || { fail "$strategy: ringseed-bench exited $rc, want 0"; show "$work/run.err"; }
	if ! "$PY" - "$work/run.json" $N $MB <<'PYEOF' >"$work/check" 2>&1; then
import json, sys
j, n, mb = json.load(open(sys.argv[1])), int(sys.argv[2]), int(sys.argv[3])
c, v, bad = j["connections"], j["verify"], []
if c["done"] != n: bad.append("done %d, want %d: %s" % (c["done"], n, c["failures"]))
if v["mismatches"]: bad.append("%d pieces failed their SHA-1" % v["mismatches"])
if v["pieces_ok"] != n * mb: bad.append("%d pieces verified, want %d" % (v["pieces_ok"], n * mb))
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("ok: %d pieces verified, %.0f MB/s" % (v["pieces_ok"], j["throughput"]["MBps"]))
PYEOF
		fail "$strategy: the run's JSON says:"
		show "$work/check"
	else
		cat "$work/check"
	fi
	want=$((N * MB * 1048576))
	serve_wait_stat up_bytes $want 5 || fail "$strategy: up_bytes=$(serve_stat up_bytes), want >= $want"
	[ "$(serve_stat drop_io)" = 0 ] || fail "$strategy: drop_io=$(serve_stat drop_io), want 0"
	serve_stop
}

for strategy in splice send_zc; do
	one_strategy $strategy
done
serve_logs_clean
[ $fails -eq 0 ]
