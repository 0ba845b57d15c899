#!/usr/bin/env bash
# timeout: 90
#
# Out of descriptors: `ringseed serve` under a hard RLIMIT_NOFILE of 128, one
# worker, serve.max_peers far above it. It must say at start-up that
# max_peers cannot be reached; 300 ringseed-bench connections at once must
# leave it serving the ones it could take, the rest refused and counted
# (drop_too_many), with one warning for the master's paused accept (not one
# per wake-up) and one for the worker's lost hand-offs; after they leave, new
# connections are served again, and SIGTERM ends it cleanly.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
BENCH=$(dirname "$RINGSEED")/ringseed-bench

[ -x "$BENCH" ] || { echo "skip: $BENCH not built"; exit 77; }
command -v prlimit >/dev/null || { echo "skip: no prlimit (util-linux)"; exit 77; }
cd "$work" || exit 1

S_PL=1M
serve_init "$work/s"
serve_add_file lim.bin $((8 * 1048576)) || exit 1
S_WRAP="prlimit --nofile=128:128"
serve_start -w 1 -o serve.max_peers=1000 -o serve.stats_interval=1 || exit 1
T=$S_DIR/torrents/lim.bin.torrent

grep -q 'notice: serve.max_peers = 1000 per worker, but a worker may hold only 128 descriptors' "$S_LOG" ||
	{ fail "no notice that max_peers is above the descriptor limit"; show_tail "$S_LOG" 5; }

"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" -n 300 --max-opening 300 -d 2 --warmup 1 --json --quiet \
	>"$work/many.json" 2>"$work/many.err"
if ! "$PY" - "$work/many.json" <<'PYEOF' >"$work/many.check" 2>&1; then
import json, sys
c = json.load(open(sys.argv[1]))["connections"]
bad = []
if not 40 <= c["held"] <= 128: bad.append("held %d, want 40..128" % c["held"])
if c["held"] + c["failed"] != 300: bad.append("held %d + failed %d != 300" % (c["held"], c["failed"]))
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("ok: %d held, %d refused" % (c["held"], c["failed"]))
PYEOF
	fail "300 connections under the limit:"
	show "$work/many.check"
else
	cat "$work/many.check"
fi
serve_wait_stat drop_too_many 1 5 || fail "drop_too_many=$(serve_stat drop_too_many), want > 0"
n=$(grep -c 'warning: accept (paused for 100 ms; RLIMIT_NOFILE)' "$S_LOG")
[ "$n" -ge 1 ] && [ "$n" -le 2 ] || fail "$n accept warnings, want 1 or 2 (one per 10 s)"
n=$(grep -c "warning: a peer's descriptor was lost in the hand-off" "$S_LOG")
[ "$n" -eq 1 ] || fail "$n warnings of lost hand-offs, want 1"

# They left: new peers are served again.
"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" -n 8 -b all --timeout 30 --quiet >"$work/after.out" 2>&1 ||
	{ fail "8 connections after the crowd left did not all finish"; show "$work/after.out"; }
[ "$(serve_stat worker_restarts)" = 0 ] || fail "worker_restarts=$(serve_stat worker_restarts)"
serve_stop
serve_logs_clean
[ $fails -eq 0 ]
