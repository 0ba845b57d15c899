#!/usr/bin/env bash
#
# fleet.sh - a fleet distributing a release to itself: one origin ringseed
# and N edges, each on its own loopback address, the origin's upload capped
# by serve.max_upload_rate. See "The fleet" in bench/README.md.
#
#   bench/fleet.sh [-n N] [--size MIB] [--cap MIB] [--rows "rs lt"] [--super S]
#                  [--timeout S] [--out DIR] [--keep]
#
#   -n N        edges (default 8): 127.0.1.2 .. 127.0.1.(N+1); the origin
#               is 127.0.1.1, its built-in tracker beside it
#   --size MIB  the release, one random file, 1 MiB pieces (default 256)
#   --cap MIB   the origin's serve.max_upload_rate, MiB/s (default 20)
#   --rows R    rs: the edges are ringseed serve with only the .torrent
#                   (fetch.enable), uploading to each other while they
#                   fetch; done when every edge logged "verified from state"
#               lt: the same fleet of python3-libtorrent leechers
#                   (bench/swarm.py leech, 127.0.1.(10+i)) instead
#   --super S   the origin's serve.super_seed: auto (the default, as shipped),
#               off or on
#   --timeout S a row gives up after S seconds (default 300)
#   --out DIR   also write DIR/fleet.json (bench/compare/run.sh does)
#   --keep      keep the work directory
#
# Per row: the seconds from starting the edges until the last has the
# release, against size / cap (the time the origin alone needs for one
# copy; target 1.3x), and the payload the origin uploaded (its
# ringseed_upload_bytes_total) against the size (target 1.5x). No root, no
# namespace: the cap is ringseed's own token bucket, so the edges trade at
# loopback speed and the origin cannot.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
N=8
SIZE=256
CAP=20
ROWS="rs lt"
SUPER=auto
TIMEOUT=300
OUT=
KEEP=
PY=/usr/bin/python3
RINGSEED=${RINGSEED:-$top/bin/ringseed}

usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=${2:-}; shift 2 ;;
	--size) SIZE=${2:-}; shift 2 ;;
	--cap) CAP=${2:-}; shift 2 ;;
	--rows) ROWS=${2:-}; shift 2 ;;
	--super) SUPER=${2:-}; shift 2 ;;
	--timeout) TIMEOUT=${2:-}; shift 2 ;;
	--out) OUT=${2:-}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage ;;
	*) echo "fleet.sh: unknown option $1" >&2; usage ;;
	esac
done
for v in N SIZE CAP TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "fleet.sh: $v=${!v}: want a positive integer" >&2; exit 2; }
done
[ "$N" -le 200 ] || { echo "fleet.sh: at most 200 edges" >&2; exit 2; }
log() { printf '[fleet %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { echo "fleet.sh: skip: $*" >&2; exit 77; }
[ -x "$RINGSEED" ] || { echo "fleet.sh: $RINGSEED is missing: run make" >&2; exit 2; }
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.1.9", 0))' 2>/dev/null ||
	skip "cannot bind 127.0.1.9"
case " $ROWS " in *" lt "*) "$PY" -c 'import libtorrent' 2>/dev/null || skip "no python3-libtorrent" ;; esac

RAW=$(mktemp -d "${TMPDIR:-/tmp}/fleet.XXXXXX") || exit 2
declare -a PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "$KEEP" ] && echo "fleet.sh: kept $RAW" >&2 || rm -rf "$RAW"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
TP=$(free_port)
user=
[ "$(id -u)" -ne 0 ] || user='user = root'
name=fleet.bin

# box_conf DIR IP ADMIN [extra lines...]
box_conf() {
	local dir=$1 ip=$2 admin=$3
	shift 3
	mkdir -p "$dir/data" "$dir/torrents" "$dir/state"
	cat >"$dir/ringseed.conf" <<CONF
[core]
workers = 1
log_level = info
$user

[admin]
listen = 127.0.0.1:$admin

[net]
listen = $ip:$PORT

[announce]
min_interval = 1

[paths]
data_dir = $dir/data
torrents_dir = $dir/torrents
state_dir = $dir/state
CONF
	printf '%s\n' "$@" >>"$dir/ringseed.conf"
}

# box_start DIR [serve options]: sets BOX_PID; waits for "ready"
box_start() {
	local dir=$1
	shift
	"$RINGSEED" serve -c "$dir/ringseed.conf" "$@" 2>"$dir/log" &
	BOX_PID=$!
	PIDS+=("$BOX_PID")
	for _ in $(seq 600); do
		grep -q ' ready: ' "$dir/log" && return 0
		kill -0 "$BOX_PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

origin_bytes() {
	curl -s -m 5 "http://127.0.0.1:$OADMIN/metrics" |
		awk '/^ringseed_upload_bytes_total/ { s += $2 } END { printf "%.0f", s }'
}

log "a $SIZE MiB release, 1 MiB pieces"
mkdir -p "$RAW/src"
head -c $((SIZE << 20)) /dev/urandom >"$RAW/src/$name" || exit 2
"$RINGSEED" create -q -f v1 -l 1M "$RAW/src/$name" -o "$RAW/$name.torrent" \
	-a "http://127.0.1.1:$TP/announce" || exit 2

results=()
rc_all=0
for row in $ROWS; do
	case $row in rs | lt) ;; *) log "$row: unknown row, skipped"; continue ;; esac
	work=$RAW/run-$row
	OADMIN=$(free_port)
	box_conf "$work/origin" 127.0.1.1 "$OADMIN" "[serve]" "max_upload_rate = ${CAP}M" "super_seed = $SUPER"
	ln "$RAW/src/$name" "$work/origin/data/$name" 2>/dev/null || cp "$RAW/src/$name" "$work/origin/data/"
	cp "$RAW/$name.torrent" "$work/origin/torrents/"
	box_start "$work/origin" --tracker-listen "127.0.1.1:$TP" ||
		{ log "$row: the origin did not start: $(tail -n 3 "$work/origin/log")"; rc_all=1; continue; }
	opid=$BOX_PID
	sleep 2 # its first announce to its own tracker
	b0=$(origin_bytes)
	log "$row: $N edges, origin capped at $CAP MiB/s"
	t0=$(date +%s.%N)
	done_s=
	copies=0
	if [ "$row" = rs ]; then
		for ((i = 1; i <= N; i++)); do
			box_conf "$work/e$i" "127.0.1.$((i + 1))" "$(free_port)"
			cp "$RAW/$name.torrent" "$work/e$i/torrents/"
		done
		# all at once, as the libtorrent row's leechers start
		t0=$(date +%s.%N)
		for ((i = 1; i <= N; i++)); do
			"$RINGSEED" serve -c "$work/e$i/ringseed.conf" 2>"$work/e$i/log" &
			PIDS+=("$!")
		done
		end=$(($(date +%s) + TIMEOUT))
		while [ "$(date +%s)" -lt "$end" ]; do
			copies=$(cat "$work"/e*/log | grep -c "torrent $name: verified from state")
			[ "$copies" -ge "$N" ] && break
			sleep 0.2
		done
		[ "$copies" -ge "$N" ] && done_s=$(echo "$(date +%s.%N) - $t0" | bc)
	else
		"$PY" "$here/swarm.py" leech --torrent "$RAW/$name.torrent" --n "$N" --net 1 \
			--seed "127.0.1.1:$PORT" --save "$work/leech" --out "$work/leech.json" \
			--timeout "$TIMEOUT" >"$work/leech.out" 2>&1
		read -r done_s copies < <("$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["all_done_s"] or "", sum(1 for d in r["done"] if d is not None))' "$work/leech.json" 2>/dev/null)
	fi
	b1=$(origin_bytes)
	for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	PIDS=()
	[ -n "$done_s" ] || rc_all=1
	line=$("$PY" - "$row" "$N" "${done_s:-}" "${copies:-0}" "${b0:-0}" "${b1:-0}" "$SIZE" "$CAP" <<'PYEOF'
import json, sys
row, n, done, copies = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
b0, b1, size, cap = map(int, sys.argv[5:9])
ideal = size / cap
done = float(done) if done else None
up = b1 - b0
print(json.dumps({"row": row, "edges": n, "copies": copies, "all_done_s": done,
                  "ideal_s": ideal, "time_ratio": done / ideal if done else None,
                  "origin_bytes": up, "origin_ratio": up / (size << 20),
                  "size_bytes": size << 20, "ok": done is not None}))
PYEOF
	)
	results+=("$line")
	log "$row: $line"
	[ -n "$KEEP" ] || rm -rf "$work"/e*/data "$work/leech"
done

"$PY" - "$N" "$SIZE" "$CAP" "${OUT:-}" "${results[@]}" <<'PYEOF'
import json, sys
n, size, cap, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [json.loads(x) for x in sys.argv[5:]]
if out:
    json.dump({"edges": n, "size_mib": size, "cap_mib": cap, "rows": rows},
              open(out + "/fleet.json", "w"), indent=1)
print("fleet: 1 origin + %d edges, a %d MiB release, the origin capped at %d MiB/s (size / cap = %.1f s)"
      % (n, size, cap, size / cap))
print("  %-4s %10s %12s %16s %8s" % ("row", "all done", "x size/cap", "origin x size", "copies"))
for r in rows:
    print("  %-4s %10s %12s %16.2f %5d/%d" % (
        r["row"], "%.1f s" % r["all_done_s"] if r["all_done_s"] else "never",
        "%.2f" % r["time_ratio"] if r["time_ratio"] else "-", r["origin_ratio"], r["copies"], r["edges"]))
PYEOF
exit $rc_all
