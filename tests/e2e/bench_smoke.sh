#!/usr/bin/env bash
# timeout: 120
#
# ringseed-bench against `ringseed serve`: 16 connections each download the
# whole of a 32 MiB torrent (1 MiB pieces) with --recv copy --verify. The run
# must exit 0, every connection must handshake and finish its budget, no
# piece may fail its SHA-1, every piece of every connection must be checked,
# and --json must parse. Then a short duration run in discard mode with
# rarest-first order must move data and exit 0, and a run against a port
# nobody listens on must exit 1 and say why.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
BENCH=$(dirname "$RINGSEED")/ringseed-bench

if [ ! -x "$BENCH" ]; then
	echo "skip: $BENCH not built (make builds it beside ringseed)"
	exit 77
fi
if ! "$RINGSEED" serve --help >/dev/null 2>&1; then
	echo "skip: $RINGSEED has no working 'serve --help'"
	exit 77
fi
cd "$work" || exit 1

S_PL=1M
serve_init "$work/s"
head -c $((32 * 1048576)) /dev/urandom >"$S_DIR/data/smoke.bin"
serve_torrent "$S_DIR/data/smoke.bin" smoke || exit 1
T=$S_DIR/torrents/smoke.torrent
serve_start || exit 1

# 1. Correctness: every byte of the torrent, 16 times, verified.
"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" -n 16 -b all --recv copy --verify --timeout 60 \
	--seeder-pid "$S_PID" --json --quiet >"$work/verify.json" 2>"$work/verify.err"
rc=$?
[ $rc -eq 0 ] || { fail "ringseed-bench --verify exited $rc, want 0"; show "$work/verify.err"; show "$work/verify.json"; }
if ! "$PY" - "$work/verify.json" <<'EOF' >"$work/verify.check" 2>&1; then
import json, sys
j = json.load(open(sys.argv[1]))
c, v = j["connections"], j["verify"]
bad = []
if not j["ok"]: bad.append("ok is false: " + j["error"])
if c["handshaked"] != 16: bad.append("handshaked %d, want 16" % c["handshaked"])
if c["done"] != 16: bad.append("done %d, want 16" % c["done"])
if c["failed"] != 0: bad.append("failed %d: %s" % (c["failed"], c["failures"]))
if v["mismatches"] != 0: bad.append("%d pieces failed their SHA-1" % v["mismatches"])
if v["pieces_ok"] != 16 * 32: bad.append("%d pieces verified, want 512" % v["pieces_ok"])
if j["throughput"]["bytes"] != 16 * 32 * 1048576: bad.append("payload %d bytes" % j["throughput"]["bytes"])
if j["seeder"] is None or j["seeder"]["processes"] < 2: bad.append("seeder CPU/RSS not sampled with its workers")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("ok: %.0f MB/s, median %.1f MB/s per connection" %
      (j["throughput"]["MBps"], j["per_connection_MBps"]["median"]))
EOF
	fail "the --verify run's JSON says:"
	show "$work/verify.check"
else
	cat "$work/verify.check"
fi

# 2. Duration mode, discard, rarest first: moves data, human report, exit 0.
"$BENCH" -t "$T" -c "127.0.0.1:$S_PORT" -n 16 -d 2 --warmup 1 --order rarest --quiet \
	>"$work/discard.out" 2>&1
rc=$?
[ $rc -eq 0 ] || { fail "ringseed-bench -d 2 --order rarest exited $rc, want 0"; show "$work/discard.out"; }
grep -qE '^throughput +[1-9][0-9.]* MB/s' "$work/discard.out" ||
	{ fail "no throughput line with a non-zero rate"; show "$work/discard.out"; }
grep -qE '^result +ok$' "$work/discard.out" || { fail "no 'result ok' line"; show "$work/discard.out"; }

# 3. Nobody there: exit 1, and the reason.
dead=$(free_port)
"$BENCH" -t "$T" -c "127.0.0.1:$dead" -n 4 -d 1 --warmup 0 --quiet >"$work/dead.out" 2>&1
rc=$?
[ $rc -eq 1 ] || { fail "against a closed port ringseed-bench exited $rc, want 1"; show "$work/dead.out"; }
grep -q 'Connection refused' "$work/dead.out" || { fail "the closed port's failure is not named"; show "$work/dead.out"; }

serve_stop
serve_logs_clean
sanitizer_clean "$work"/*.err "$work"/*.out || fail "sanitizer report in ringseed-bench's output"
[ "$fails" -eq 0 ]
