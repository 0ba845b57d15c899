#!/usr/bin/env bash
#
# counts.sh - what one block costs a seeder under a given load: TCP segments,
# syscalls and context switches per 16 KiB block served, measured over a
# ringseed-bench window. See "Per-block counts" in bench/README.md.
#
#   bench/counts.sh -s PID -c HOST:PORT -t FILE.torrent [-w WARMUP] [-d SECONDS]
#                   [--json] [-- MORE RINGSEED-BENCH OPTIONS]
#
#   -s PID       the seeder (its threads and its direct children's count)
#   -c, -t       the seeder's address and torrent, as for ringseed-bench
#   -w WARMUP    ringseed-bench's warm-up (default 3)
#   -d SECONDS   the window (default 5)
#   --json       one JSON object on stdout instead of the table
#   -- ...       the load: -n, -q, --requests, --rate, --mix, --rtt, ...
#
# The bench's window is three seconds longer than SECONDS, and the counters are
# sampled over SECONDS from 0.5 s into it, while every connection is still
# open (the bench closes them all when its window ends, and the seeder's
# sockets and their counters go with them). The blocks of that span are the
# bench's block rate over its window times the span: steady in duration mode.
# With --ramp among the load's options the window opens when every
# connection is in: the sampling starts 0.5 s after the bench's first
# progress line in the window (0.5 to 1.5 s into it), instead of 0.5 s after
# the warm-up, and the bench's window is five seconds longer than SECONDS.
#   blocks         blocks the bench received (its JSON counts.blocks / window_s)
#   segs_out       TCP segments the seeder's sockets sent: tcp_info segs_out
#                  of each established socket on the seeder's port (`ss -ti`),
#                  after minus before, summed over the sockets open at both
#                  samples; exact for the seeder's side
#   TcpOutSegs     nstat's TcpOutSegs delta: every TCP segment the network
#                  namespace sent, both ends of the loopback (requests, ACKs)
#                  and anyone else's traffic in it (run inside bench/wan.sh's
#                  namespace to have it to yourself)
#   syscalls       `perf stat -e raw_syscalls:sys_enter` on the seeder's
#                  processes, and io_uring_enter among them; without a usable
#                  perf, "-" (strace -c would slow the seeder too much to count)
#   ctx switches   voluntary (the thread slept: a wake-up) and nonvoluntary
#                  (preempted), from /proc/PID/task/*/status
#
# Exit status: the bench's (0 ok, 1 run failed, 2 usage).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
BENCH=${BENCH:-$top/bin/ringseed-bench}
PY=/usr/bin/python3
PID=
TARGET=
TORRENT=
WARMUP=3
DUR=5
JSON=
usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-s) PID=$2; shift 2 ;;
	-c) TARGET=$2; shift 2 ;;
	-t) TORRENT=$2; shift 2 ;;
	-w) WARMUP=$2; shift 2 ;;
	-d) DUR=$2; shift 2 ;;
	--json) JSON=1; shift ;;
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "counts.sh: unknown option $1" >&2; usage ;;
	esac
done
[ -n "$PID" ] && [ -n "$TARGET" ] && [ -n "$TORRENT" ] || usage
[ -r "/proc/$PID/status" ] || { echo "counts.sh: no process $PID" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "counts.sh: $BENCH is not built (make)" >&2; exit 2; }
port=${TARGET##*:}

work=$(mktemp -d "${TMPDIR:-/tmp}/counts.XXXXXX") || exit 2
bench_pid=
cleanup() {
	[ -n "$bench_pid" ] && kill -TERM "$bench_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pids() { echo "$PID"; pgrep -P "$PID"; }
# voluntary and nonvoluntary context switches of every thread of the seeder
ctxsw() {
	local p
	for p in $(pids); do cat /proc/"$p"/task/*/status 2>/dev/null; done |
		awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2}
			END {print v + 0, n + 0}'
}
# segs_out FILE: "PEER SEGS" per established socket on the seeder's port
segs_out() {
	ss -tinHO state established "( sport = :$port )" 2>/dev/null |
		awk '{ for (i = 5; i <= NF; i++) if ($i ~ /^segs_out:/) { split($i, a, ":"); print $4, a[2] } }' >"$1"
}
out_segs() {
	if command -v nstat >/dev/null 2>&1; then
		nstat -asz TcpOutSegs 2>/dev/null | awk '$1 == "TcpOutSegs" {print $2}'
	else
		awk '/^Tcp:/ {if (h) print $12; h = 1}' /proc/net/snmp
	fi
}

now() { date +%s.%N; }
# With --ramp the window opens when every connection is in, not at the
# warm-up's end: the bench's progress lines (once a second) say when.
ramp=
case " $* " in *" --ramp "*) ramp=1 ;; esac
: >"$work/bench.err"
# shellcheck disable=SC2046
# (two seconds more with --ramp: the sampling starts up to a second later)
"$BENCH" -t "$TORRENT" -c "$TARGET" --warmup "$WARMUP" -d "$(awk -v d="$DUR" -v r="$ramp" 'BEGIN {print d + (r ? 5 : 3)}')" \
	--seeder-pid "$PID" --json $([ -n "$ramp" ] || echo --quiet) "$@" >"$work/bench.json" 2>"$work/bench.err" &
bench_pid=$!
if [ -n "$ramp" ]; then
	until grep -q '  window  ' "$work/bench.err"; do
		kill -0 "$bench_pid" 2>/dev/null || break
		sleep 0.2
	done
	sleep 0.5
else
	sleep "$(awk -v w="$WARMUP" 'BEGIN {print w + 0.5}')"
fi
t0=$(now)
read -r v0 n0 <<<"$(ctxsw)"
segs_out "$work/segs0"
o0=$(out_segs)
plist=$(pids | paste -sd,)
perf_ok=
if command -v perf >/dev/null 2>&1 &&
	perf stat -x, -o "$work/perf" -e raw_syscalls:sys_enter,syscalls:sys_enter_io_uring_enter \
		-p "$plist" -- sleep "$DUR" 2>/dev/null; then
	perf_ok=1
else
	sleep "$DUR"
fi
read -r v1 n1 <<<"$(ctxsw)"
segs_out "$work/segs1"
o1=$(out_segs)
t1=$(now)
wait "$bench_pid"
rc=$?
bench_pid=
sys=-
uring=-
if [ -n "$perf_ok" ]; then
	sys=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$work/perf")
	uring=$(awk -F, '$3 == "syscalls:sys_enter_io_uring_enter" {print $1}' "$work/perf")
fi
# per socket, over the sockets open at both samples: one that closed or opened
# between them would count its whole life or a negative one
segs=$(awk 'NR == FNR { a[$1] = $2; next } ($1 in a) { s += $2 - a[$1] } END { print s + 0 }' \
	"$work/segs0" "$work/segs1")
socks="$(wc -l <"$work/segs0") $(wc -l <"$work/segs1")"
"$PY" - "$work/bench.json" "$rc" "$JSON" "$segs" "$((o1 - o0))" "$sys" "$uring" \
	"$((v1 - v0))" "$((n1 - n0))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" "$socks" <<'EOF'
import json, sys
path, rc, as_json = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
segs, outsegs = int(sys.argv[4]), int(sys.argv[5])
sysc = None if sys.argv[6] in ("-", "") else int(sys.argv[6])
uring = None if sys.argv[7] in ("-", "") else int(sys.argv[7])
vol, nonvol = int(sys.argv[8]), int(sys.argv[9])
span = float(sys.argv[10])
sock0, sock1 = (int(x) for x in sys.argv[11].split())
try:
    j = json.load(open(path))
except Exception as e:
    print("counts.sh: no JSON from ringseed-bench (%s)" % e, file=sys.stderr)
    sys.exit(rc or 1)
w = j["window_s"]
blocks = round(j["counts"]["blocks"] / w * span) if w > 0 else 0
per = lambda v: None if v is None or not blocks else v / blocks
out = {
    "span_s": span, "sockets": [sock0, sock1], "blocks": blocks, "MBps": j["throughput"]["MBps"],
    "seeder_cpu_s": (j.get("seeder") or {}).get("cpu_s"),
    "seeder_segs_out": segs, "tcp_out_segs": outsegs, "syscalls": sysc,
    "io_uring_enter": uring, "voluntary_ctxt_switches": vol,
    "nonvoluntary_ctxt_switches": nonvol,
    "per_block": {"seeder_segs": per(segs), "tcp_out_segs": per(outsegs),
                  "syscalls": per(sysc), "io_uring_enter": per(uring),
                  "voluntary_ctxt_switches": per(vol),
                  "nonvoluntary_ctxt_switches": per(nonvol),
                  "bench_request_writes": j["counts"]["request_writes"] / j["counts"]["blocks"]
                  if j["counts"]["blocks"] else None},
    "load": j["options"], "clean": j["machine"]["clean"], "ok": j["ok"], "error": j["error"],
}
if as_json:
    print(json.dumps(out))
    sys.exit(rc)
f = lambda v: "-" if v is None else "%.3f" % v
o = j["options"]
print("load: -n %d -q %d, requests %s, rtt %.0f ms, classes %s" % (o["connections"], o["queue"],
      o["requests"], o["rtt_ms"], ", ".join("%d%%:%s" % (k["pct"], k["rate_Bps"] or "uncapped") for k in o["mix"])))
print("span: %.2f s, %d blocks, %.1f MB/s%s" % (span, blocks, j["throughput"]["MBps"],
      "" if j["machine"]["clean"] else " (ANOTHER LOAD SHARED THE MACHINE)"))
pb = out["per_block"]
print("per block: seeder segments %s, TcpOutSegs (both ends) %s, seeder syscalls %s "
      "(io_uring_enter %s), seeder context switches %s voluntary + %s nonvoluntary, "
      "bench request writes %s" % (f(pb["seeder_segs"]), f(pb["tcp_out_segs"]), f(pb["syscalls"]),
      f(pb["io_uring_enter"]), f(pb["voluntary_ctxt_switches"]),
      f(pb["nonvoluntary_ctxt_switches"]), f(pb["bench_request_writes"])))
if sock1 < sock0 or sock0 < o["connections"]:
    print("note: the seeder had %d established sockets at the first sample and %d at the last, "
          "for %d connections: the segment count covers those in both" % (sock0, sock1, o["connections"]))
if not j["ok"]:
    print("bench: FAILED: " + j["error"])
sys.exit(rc)
EOF
