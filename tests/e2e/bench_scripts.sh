#!/usr/bin/env bash
# timeout: 100
#
# The bench's scripts, briefly:
#   counts.sh  against `ringseed serve` under trickle and burst: per-block
#              counts come out, the bench's request writes per block are ~1
#              under trickle and far fewer under burst, and the seeder's
#              syscalls and context switches per block are counted
#   wan.sh     (root only, else that part is skipped) a namespace with its lo
#              shaped by tbf at 200 Mbit/s: the bench inside gets close to
#              25 MB/s and not above, and the namespace is gone afterwards
#   swarm.sh   (root only) three libtorrent leechers, 4 MiB, ringseed with
#              super-seeding off and on: every copy completes, the seeder's
#              bytes are counted, and the namespace is gone afterwards
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
BENCH=$(dirname "$RINGSEED")/ringseed-bench
export BENCH RINGSEED

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
head -c $((16 * 1048576)) /dev/urandom >"$S_DIR/data/c.bin"
serve_torrent "$S_DIR/data/c.bin" c || exit 1
serve_start || exit 1

# 3. swarm.sh (root only) runs in its own namespace with its own seeder
# meanwhile: it counts bytes, not time, and part 1 counts per block; wan.sh,
# which measures a rate, runs alone after both.
swarm=
if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && "$PY" -c 'import libtorrent' 2>/dev/null; then
	mkdir -p "$work/swarm"
	bg "$TOP/bench/swarm.sh" -n 3 --size 4 --cap 80 --rows "rs-off rs-on" --timeout 30 --out "$work/swarm" \
		>"$work/swarm.out" 2>"$work/swarm.err"
	swarm=$BG_PID
fi

# 1. counts.sh, trickle and burst
for load in trickle burst; do
	"$TOP/bench/counts.sh" -s "$S_PID" -c "127.0.0.1:$S_PORT" -t "$S_DIR/torrents/c.torrent" \
		-w 1 -d 2 --json -- -n 8 --requests "$load" >"$work/counts-$load.json" 2>"$work/counts-$load.err" ||
		{ fail "counts.sh --requests $load exited $?"; show "$work/counts-$load.err"; }
done
out=$("$PY" - "$work/counts-trickle.json" "$work/counts-burst.json" <<'EOF' 2>&1
import json, sys
t, b = (json.load(open(p)) for p in sys.argv[1:3])
bad = []
for name, j in (("trickle", t), ("burst", b)):
    pb = j["per_block"]
    if j["blocks"] < 100: bad.append("%s: %d blocks" % (name, j["blocks"]))
    if j["sockets"] != [8, 8]: bad.append("%s: seeder sockets %s at the two samples, want 8 and 8" % (name, j["sockets"]))
    if not pb["seeder_segs"] or pb["seeder_segs"] <= 0: bad.append("%s: no seeder segments counted" % name)
    if pb["voluntary_ctxt_switches"] is None: bad.append("%s: no context switches" % name)
    if j["syscalls"] is not None and j["syscalls"] <= 0: bad.append("%s: perf counted no syscalls" % name)
if not 0.95 <= t["per_block"]["bench_request_writes"] <= 1.05:
    bad.append("trickle: %.2f request writes per block, want 1" % t["per_block"]["bench_request_writes"])
if b["per_block"]["bench_request_writes"] > 0.5:
    bad.append("burst: %.2f request writes per block, want far fewer than 1" % b["per_block"]["bench_request_writes"])
print("\n".join(bad) if bad else "ok: trickle %.3f syscalls, %.3f segments per block; burst %s, %.3f" % (
    t["per_block"]["syscalls"] or -1, t["per_block"]["seeder_segs"],
    "%.3f" % b["per_block"]["syscalls"] if b["per_block"]["syscalls"] is not None else "-",
    b["per_block"]["seeder_segs"]))
EOF
)
case $out in ok:*) echo "counts: $out" ;; *) fail "counts.sh: $out" ;; esac
serve_stop || true

swarm_rc=
[ -z "$swarm" ] || { wait "$swarm"; swarm_rc=$?; }

# 2. wan.sh: root only
if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
	echo "skip part 2: wan.sh needs root and ip netns"
else
	"$TOP/bench/wan.sh" --size 16 --shape tbf:200mbit -- -n 4 -d 3 --warmup 1 --json --quiet \
		>"$work/wan.json" 2>"$work/wan.err"
	rc=$?
	[ $rc -eq 0 ] || { fail "wan.sh exited $rc, want 0"; show "$work/wan.err"; }
	ns=$(grep -o 'rsbench-[0-9]*' "$work/wan.err" | head -1)
	[ -n "$ns" ] || fail "wan.sh did not name its namespace"
	if [ -n "$ns" ] && ip netns list | grep -qw "$ns"; then
		fail "namespace $ns is still there after wan.sh"
		ip netns del "$ns" 2>/dev/null
	fi
	out=$("$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
r = j["throughput"]["MBps"]
print("ok: %.1f MB/s through tbf 200mbit (25 MB/s)" % r if 20 <= r <= 26.5 else "%.1f MB/s, want 20 to 26.5 (tbf 200mbit)" % r)' "$work/wan.json" 2>&1)
	case $out in ok:*) echo "wan: $out" ;; *) fail "wan.sh: $out"; show "$work/wan.err" ;; esac
fi

# 3. swarm.sh: started before part 1
if [ -z "$swarm" ]; then
	echo "skip part 3: swarm.sh needs root, ip netns and python3-libtorrent"
else
	rc=$swarm_rc
	[ $rc -eq 0 ] || { fail "swarm.sh exited $rc, want 0"; show "$work/swarm.err"; }
	ns=$(grep -o 'namespace rsswarm[0-9]*' "$work/swarm.err" | head -1 | cut -d' ' -f2)
	[ -n "$ns" ] || fail "swarm.sh did not name its namespace"
	if [ -n "$ns" ] && ip netns list | grep -qw "$ns"; then
		fail "namespace $ns is still there after swarm.sh"
		ip netns del "$ns" 2>/dev/null
	fi
	out=$("$PY" -c '
import json, sys
j = json.load(open(sys.argv[1]))
rows = {r["row"]: r for r in j["rows"]}
bad = [k for k in ("rs-off", "rs-on") if k not in rows or rows[k]["copies"] != 3 or not rows[k]["seeder_wire_bytes"]]
print("rows that did not complete or count: %s" % bad if bad else "ok: %s" % ", ".join(
    "%s %.2f x size per copy" % (k, rows[k]["wire_per_copy"] / rows[k]["size_bytes"]) for k in ("rs-off", "rs-on")))' \
		"$work/swarm/swarm.json" 2>&1)
	case $out in ok:*) echo "swarm: $out" ;; *) fail "swarm.sh: $out"; show "$work/swarm.err" ;; esac
fi

serve_logs_clean || true
sanitizer_clean "$work"/*.err || fail "sanitizer report in ringseed-bench's output"
[ "$fails" -eq 0 ]
