#!/usr/bin/env bash
#
# crowd.sh - a crowd of real leechers (python3-libtorrent) against ringseed
# and against rtorrent, each seeding the same file in turn; aggregate MB/s from
# the leechers' own counters. See "A crowd of real clients" in bench/README.md.
#
#   bench/crowd.sh [-n N] [-p PROCS] [-w WARMUP] [-d SECONDS] [--size MIB]
#                  [--data FILE] [--seeders "ringseed rtorrent"] [--strategy S]
#                  [--out DIR] [--keep]
#
#   -n N          leechers (default 50), each a libtorrent session of its own
#                 bound to its own source address 127.77.K.X
#   -p PROCS      /usr/bin/python3 processes sharing them (default: CPUs)
#   -w WARMUP     seconds before the window (default 5)
#   -d SECONDS    the window (default 10)
#   --size MIB    a fresh random file of this size (default 64); a leecher
#                 that completes it deletes it and starts again
#   --data FILE   serve FILE instead (1 MiB pieces)
#   --seeders L   which seeders, in turn (default "ringseed rtorrent")
#   --strategy S  ringseed's serve.send_strategy (default splice)
#   --out DIR     also write DIR/crowd-SEEDER.json (bench/compare/run.sh does)
#   --keep        keep the work directory
#
# Seeders are started as `make bench` starts them (bench/compare/seeders/).
# The leechers' files go under $TMPDIR; each holds at most about two copies
# of the file, deleted as it goes (N x 2 x SIZE at worst).
#
# Per seeder: aggregate MB/s (the sum of every leecher's payload counter over
# the window), per-leecher min/median, the slowest first byte, the seeder's
# CPU (MB per seeder CPU-second) and the crowd's, and which of them was the
# limit: "clients" when the crowd's processes used at least 0.8 of a core
# each, "seeder" when the seeder used 0.8 of the cores it can use (ringseed:
# all CPUs; rtorrent: one), else "neither" (a shared machine, or queues and
# round trips).
#
# Exit status: 0 when every seeder served the crowd (every leecher got bytes,
# no hash failure); 1 otherwise; 2 on bad usage or set-up.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
N=50
PROCS=$(nproc)
WARM=5
DUR=10
SIZE=64
DATA=
SEEDERS="ringseed rtorrent"
STRATEGY=splice
OUT=
KEEP=
PY=/usr/bin/python3

usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-p) PROCS=$2; shift 2 ;;
	-w) WARM=$2; shift 2 ;;
	-d) DUR=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--data) DATA=$2; shift 2 ;;
	--seeders) SEEDERS=$2; shift 2 ;;
	--strategy) STRATEGY=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage ;;
	*) echo "crowd.sh: unknown option $1" >&2; usage ;;
	esac
done
for v in N PROCS WARM DUR SIZE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "crowd.sh: $v=${!v}: want a positive integer" >&2; exit 2; }
done
[ $(((N + PROCS - 1) / PROCS)) -le 250 ] || { echo "crowd.sh: at most 250 leechers per process: raise -p" >&2; exit 2; }
"$PY" -c 'import libtorrent' 2>/dev/null || { echo "crowd.sh: $PY cannot import libtorrent (python3-libtorrent)" >&2; exit 2; }

HERE=$here/compare
. "$HERE/lib.sh"
. "$HERE/seeders/ringseed.sh"
. "$HERE/seeders/rtorrent.sh"
RINGSEED=${RINGSEED:-$top/bin/ringseed}
BENCH=${BENCH:-$top/bin/ringseed-bench}
WORKERS=$(nproc)
[ -x "$RINGSEED" ] && [ -x "$BENCH" ] || die "bin/ringseed or bin/ringseed-bench is missing: run make"
RAW=$(mktemp -d "${TMPDIR:-/tmp}/crowd.XXXXXX") || exit 2
crowd_pids=()
cleanup() {
	local p
	for p in "${crowd_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${LAUNCHED[@]}"; do kill_group "$p"; done
	if [ -n "$KEEP" ]; then log "kept $RAW"; else rm -rf "$RAW"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
ulimit -n "$(ulimit -Hn)" 2>/dev/null

if [ -n "$DATA" ]; then
	DATA_DIR=$(cd "$(dirname "$DATA")" && pwd)
	name=$(basename "$DATA")
else
	DATA_DIR=$RAW/data
	name=crowd.bin
	mkdir -p "$DATA_DIR"
	head -c $((SIZE * 1048576)) /dev/urandom >"$DATA_DIR/$name" || die "cannot write $DATA_DIR/$name"
fi
mkdir -p "$RAW/t" "$RAW/trt"
TORRENT=$RAW/t/$name.torrent
RT_TORRENT=$RAW/trt/$name.torrent
"$RINGSEED" create -q -f v1 -l 1048576 "$DATA_DIR/$name" -o "$TORRENT" >/dev/null || die "ringseed create failed"
"$RINGSEED" create -q -f v1 -l 1048576 -a http://127.0.0.1:9/announce "$DATA_DIR/$name" -o "$RT_TORRENT" \
	>/dev/null || die "ringseed create failed"
cat "$DATA_DIR/$name" >/dev/null

port_base=$((24000 + $$ % 1000))
rc_all=0
hz=$(getconf CLK_TCK)
results=()
for s in $SEEDERS; do
	work=$RAW/seeder-$s
	mkdir -p "$work"
	port=$((port_base + ${#results[@]}))
	log "starting $s on 127.0.0.1:$port"
	case $s in
	ringseed) ringseed_start "$work" "$port" "$STRATEGY" ;;
	rtorrent) rtorrent_start "$work" "$port" ;;
	*) die "--seeders: $s is not ringseed or rtorrent" ;;
	esac || { tail -n 5 "$work/log" >&2; die "$s did not start"; }
	pgid=$(cat "$work/pid")
	ready=$RAW/ready-$s
	mkdir -p "$ready"
	crowd_pids=()
	per=$(((N + PROCS - 1) / PROCS))
	for ((k = 0; k < PROCS; k++)); do
		n=$per
		[ $((k * per + n)) -gt "$N" ] && n=$((N - k * per))
		[ "$n" -gt 0 ] || continue
		"$PY" "$here/crowd.py" --torrent "$TORRENT" --peer "127.0.0.1:$port" --n "$n" \
			--src-base "127.77.$k.1" --save "$RAW/leech-$s/$k" --ready-dir "$ready" --id "$k" \
			--procs "$(((N + per - 1) / per))" --warmup "$WARM" --duration "$DUR" \
			>"$work/crowd$k.json" 2>"$work/crowd$k.err" &
		crowd_pids+=($!)
	done
	# the window starts WARMUP s after the last process has its leechers (crowd.py)
	for ((i = 0; i < 3000; i++)); do
		[ "$(ls "$ready" | wc -l)" -ge "${#crowd_pids[@]}" ] && break
		sleep 0.1
	done
	sleep "$("$PY" -c 'import os, sys, time
t = max(os.stat(os.path.join(sys.argv[1], f)).st_mtime for f in os.listdir(sys.argv[1])) + float(sys.argv[2])
print(max(0.0, t - time.time()))' "$ready" "$WARM" 2>/dev/null || echo "$WARM")"
	ticks0=$(group_ticks "$pgid")
	sleep "$DUR"
	ticks1=$(group_ticks "$pgid")
	ok=1
	for p in "${crowd_pids[@]}"; do
		wait "$p" || ok=0
	done
	crowd_pids=()
	stop_instance "$work"
	rm -rf "$RAW/leech-$s"
	summary=$("$PY" - "$s" "$N" "$(awk -v a="$ticks0" -v b="$ticks1" -v hz="$hz" 'BEGIN {print (b - a) / hz}')" \
		"$DUR" "$OUT" "$work"/crowd*.json <<'EOF'
import json, os, statistics, sys
seeder, n, seeder_cpu, dur, out = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
parts = []
for p in sys.argv[6:]:
    try:
        parts.append(json.load(open(p)))
    except Exception:
        pass
rates = [r for p in parts for r in p["per_leecher_MBps"]]
fb = [f for p in parts for f in p["first_byte_s"]]
w = max((p["window_s"] for p in parts), default=0)
mb = sum(p["bytes"] for p in parts) / 1e6
cpu = sum(p["cpu_s"] for p in parts)
res = {
    "seeder": seeder, "leechers": n, "reported": len(rates), "window_s": w,
    "MBps": mb / w if w else 0,
    "per_leecher_MBps": {"min": min(rates, default=0), "median": statistics.median(rates) if rates else 0,
                         "max": max(rates, default=0)},
    "slowest_first_byte_s": None if None in fb or not fb else max(fb),
    "no_first_byte": sum(1 for f in fb if f is None) + n - len(fb),
    "rounds_completed": sum(p["rounds_completed"] for p in parts),
    "hash_failures": sum(p["hash_failures"] for p in parts),
    "seeder_cpu_s": seeder_cpu, "MB_per_seeder_cpu_s": mb / seeder_cpu if seeder_cpu else 0,
    "crowd_cpu_s": cpu, "crowd_cores": cpu / w if w else 0, "crowd_processes": len(parts),
}
# Who limits the rate: the crowd when its processes are near a core each
# (libtorrent's threads included), the seeder when it is near the cores it
# has (ringseed: one worker per CPU; rtorrent: one thread), else neither:
# the machine was shared, or the protocol (queues, round trips) is the limit.
ncpu = os.cpu_count() or 1
seeder_cores = seeder_cpu / w if w else 0
if res["crowd_cores"] >= 0.8 * min(len(parts), ncpu):
    res["limit"] = "clients"
elif seeder_cores >= 0.8 * (ncpu if seeder == "ringseed" else 1):
    res["limit"] = "seeder"
else:
    res["limit"] = "neither"
res["ok"] = len(rates) == n and res["no_first_byte"] == 0 and res["hash_failures"] == 0 and res["MBps"] > 0
if out:
    json.dump(res, open("%s/crowd-%s.json" % (out, seeder), "w"), indent=1)
fbs = "-" if res["slowest_first_byte_s"] is None else "%.2f s" % res["slowest_first_byte_s"]
print("%-9s %8.1f MB/s  per leecher min %.2f median %.2f MB/s  slowest first byte %s  "
      "seeder %.2f cores (%.0f MB/cpu-s)  crowd %.2f cores in %d processes  limit: %s  rounds %d  %s" % (
      seeder, res["MBps"], res["per_leecher_MBps"]["min"], res["per_leecher_MBps"]["median"], fbs,
      seeder_cores, res["MB_per_seeder_cpu_s"], res["crowd_cores"], len(parts), res["limit"],
      res["rounds_completed"], "ok" if res["ok"] else "FAILED (%d of %d leechers reported, %d without a byte, %d hash failures)" % (
          len(rates), n, res["no_first_byte"], res["hash_failures"])))
sys.exit(0 if res["ok"] else 1)
EOF
	) || { rc_all=1; [ "$ok" = 1 ] || log "$s: a crowd process failed: $(cat "$work"/crowd*.err | tail -n 3)"; }
	results+=("$summary")
	log "$summary"
done
echo
echo "crowd of $N libtorrent leechers ($PROCS processes), ${WARM} s warm-up, ${DUR} s window, $(stat -c %s "$DATA_DIR/$name") bytes, 1 MiB pieces:"
printf '  %s\n' "${results[@]}"
exit $rc_all
