#!/usr/bin/env bash
# make bench-cold: seeders serving content that is not in the page cache.
# See "Cold content: bench/cold.sh" in bench/README.md.
#
# One file of COLD_GB GiB of random data in 1 MiB pieces (made once, kept in
# build/bench/cold/ and reused), far more than one run can read in. For each
# seeder (ringseed with its default strategy, rtorrent, python3-libtorrent,
# nginx sendfile driven with HTTP ranges) and each N: the file is dropped
# from the page cache (bench/evict.py: POSIX_FADV_DONTNEED on every file,
# checked with mincore), then ringseed-bench runs N leechers in random piece
# order. Reported per run: MB/s, MB per seeder CPU-second, bytes the
# seeder's processes read from the disk per byte sent in the window
# (/proc/PID/io read_bytes of its process group, sampled at the window's
# start and end), and for ringseed the worker loop-turn histogram of the
# window (p50, p99, max bucket) from /metrics. fio measures the disk's own
# random-read ceiling first (direct I/O, io_uring, iodepth = COLD_QUEUE) at
# the bench's block size, at ringseed's read size and at the piece size.
# Writes build/bench/cold/runs/STAMP/REPORT.md (and prints it).
#
# Environment (defaults in brackets):
#   COLD_GB [16]             size of the data set, GiB
#   COLD_MB                  or in MiB (the test's smoke run), instead of COLD_GB
#   COLD_DIR [build/bench/cold]  where the data set, state and runs are kept
#   COLD_NS ["256 2048"]     connection counts
#   COLD_WINDOW [12]         measured seconds per run
#   COLD_WARMUP [3]          warm-up seconds (5 for N >= 1024)
#   COLD_QUEUE [32]          16 KiB requests in flight per connection
#   COLD_SEEDERS ["ringseed rtorrent libtorrent nginx"]
#   COLD_PORT_BASE [23600]   ports BASE+1 .. BASE+8 on 127.0.0.1
#   COLD_KEEP [1]            0: delete the data set at the end
#   COLD_FIO_S [6]           seconds per fio measurement
#   COLD_FIO_BS ["16k 256k 1m"]  the block sizes fio measures
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/compare" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=compare/lib.sh
. "$HERE/lib.sh"
for f in "$HERE"/seeders/*.sh; do . "$f"; done

GB=${COLD_GB:-16}
NS=${COLD_NS:-"256 2048"}
WINDOW=${COLD_WINDOW:-12}
WARMUP=${COLD_WARMUP:-3}
QUEUE=${COLD_QUEUE:-32}
SEEDERS=${COLD_SEEDERS:-"ringseed rtorrent libtorrent nginx"}
PORT_BASE=${COLD_PORT_BASE:-23600}
KEEP=${COLD_KEEP:-1}
FIO_S=${COLD_FIO_S:-6}
WORKERS=$(nproc)
PY=/usr/bin/python3
MB=${COLD_MB:-$((GB * 1024))}
SET=cold-${GB}g
[ -n "${COLD_MB:-}" ] && SET=cold-${MB}m
C=${COLD_DIR:-$ROOT/build/bench/cold}
DATA_DIR=$C/data
DATA_NAME=$SET.bin
DATA_FILE=$DATA_DIR/$DATA_NAME
TORRENT=$C/torrents/$SET.torrent
RT_TORRENT=$C/torrents-rtorrent/$SET.torrent
RAW=$C/runs/$(date +%Y%m%d-%H%M%S)
RINGSEED=$RAW/bin/ringseed
BENCH=$RAW/bin/ringseed-bench
EVICT=$ROOT/bench/evict.py
T_START=$SECONDS

cleanup() {
	trap '' INT TERM HUP
	[ -n "$CHILD" ] && kill_group "$CHILD"
	local p
	for p in "${LAUNCHED[@]}"; do kill_group "$p"; done
	if [ "$KEEP" = 0 ]; then
		rm -f "$DATA_FILE"
	fi
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

for t in rtorrent nginx fio curl ss; do
	case " $SEEDERS fio curl ss " in
	*" $t "*) command -v "$t" > /dev/null || die "$t is missing: make bench-deps" ;;
	esac
done
[ -x "$ROOT/bin/ringseed" ] && [ -x "$ROOT/bin/ringseed-bench" ] || die "run make first"
mkdir -p "$RAW/bin" "$RAW/json" "$DATA_DIR" "$C/torrents" "$C/torrents-rtorrent" "$C/state"
cp "$ROOT/bin/ringseed" "$ROOT/bin/ringseed-bench" "$RAW/bin/"
ulimit -n "$(ulimit -Hn)" 2> /dev/null || true

# --- the data set, made once ---------------------------------------------------
want=$((MB * 1048576))
if [ "$(stat -c %s "$DATA_FILE" 2> /dev/null)" != "$want" ]; then
	avail=$(df -B1 --output=avail "$DATA_DIR" | tail -1)
	[ "$avail" -gt $((want + 4 * 1073741824)) ] || die "$DATA_DIR: $want bytes needed, $avail free"
	log "making $DATA_FILE ($MB MiB of random bytes)"
	rm -f "$TORRENT" "$RT_TORRENT"
	# AES-CTR of zeros: random enough, and far faster than /dev/urandom
	{ openssl enc -aes-128-ctr -nosalt -pass pass:ringseed-cold -pbkdf2 < /dev/zero 2> /dev/null ||
		true; } | head -c "$want" > "$DATA_FILE.part"
	[ "$(stat -c %s "$DATA_FILE.part")" = "$want" ] || die "writing the data set"
	mv "$DATA_FILE.part" "$DATA_FILE"
fi
if [ ! -s "$TORRENT" ] || [ "$TORRENT" -ot "$DATA_FILE" ]; then
	log "hashing it (ringseed create, 1 MiB pieces)"
	"$RINGSEED" create -q -f v1 -l 1048576 "$DATA_FILE" -o "$TORRENT" || die "ringseed create"
	rm -rf "$C/state" "$RT_TORRENT"
	mkdir -p "$C/state"
fi
# rtorrent: a dead tracker (it refuses a torrent without one) and fast-resume
# data saying every piece is there, so it does not hash 16 GiB on load
if [ ! -s "$RT_TORRENT" ]; then
	"$RINGSEED" create -q -f v1 -l 1048576 -a http://127.0.0.1:9/announce "$DATA_FILE" \
		-o "$RT_TORRENT.tmp" > /dev/null || die "ringseed create (rtorrent's copy)"
	"$PY" - "$RT_TORRENT.tmp" "$DATA_FILE" "$RT_TORRENT" << 'EOF' || die "rtorrent resume data"
import os, sys
def dec(b, i=0):
    c = b[i:i + 1]
    if c == b"i":
        j = b.index(b"e", i)
        return int(b[i + 1:j]), j + 1
    if c in (b"l", b"d"):
        i, out = i + 1, []
        while b[i:i + 1] != b"e":
            v, i = dec(b, i)
            out.append(v)
        return (dict(zip(out[::2], out[1::2])) if c == b"d" else out), i + 1
    j = b.index(b":", i)
    n = int(b[i:j])
    return b[j + 1:j + 1 + n], j + 1 + n
def enc(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(enc(x) for x in v) + b"e"
    return b"d" + b"".join(enc(k) + enc(v[k]) for k in sorted(v)) + b"e"
t, _ = dec(open(sys.argv[1], "rb").read())
n = len(t[b"info"][b"pieces"]) // 20
t[b"libtorrent_resume"] = {b"bitfield": n, b"files": [
    {b"priority": 1, b"mtime": int(os.stat(sys.argv[2]).st_mtime), b"completed": n}]}
open(sys.argv[3], "wb").write(enc(t))
EOF
	rm -f "$RT_TORRENT.tmp"
fi

# --- the disk's ceiling ----------------------------------------------------------
FIO_ROWS=()
fio_ceiling() {
	local bs=$1 out=$RAW/fio-$1.json
	"$EVICT" "$DATA_FILE" > /dev/null
	run_bg $((FIO_S + 30)) "$out" "$RAW/fio-$bs.err" fio --name=ceiling --filename="$DATA_FILE" \
		--readonly --direct=1 --ioengine=io_uring --rw=randread --bs="$bs" \
		--iodepth="$QUEUE" --runtime="$FIO_S" --time_based --output-format=json ||
		{ log "fio $bs failed"; return 0; }
	FIO_ROWS+=("$bs|$("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1]))["jobs"][0]["read"]; print("%.0f|%.0f" % (j["bw_bytes"]/1e6, j["iops"]))' "$out")")
	log "fio randread bs=$bs iodepth=$QUEUE: ${FIO_ROWS[-1]#*|} (MB/s|IOPS)"
}
if command -v fio > /dev/null; then
	for bs in ${COLD_FIO_BS:-16k 256k 1m}; do fio_ceiling "$bs"; done
fi

# --- one measured run ----------------------------------------------------------------
# group_read_bytes PGID: read_bytes of /proc/PID/io summed over the group.
group_read_bytes() {
	local pg=$1 p sum=0 v
	for p in $(ps -e -o pid=,pgid= | awk -v pg="$pg" '$2 == pg { print $1 }'); do
		v=$(awk '/^read_bytes:/ { print $2 }' "/proc/$p/io" 2> /dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo $sum
}

ADMIN=
ROWS=()
one_run() {
	local seeder=$1 port=$2 pid=$3 n=$4 warm=$WARMUP tag=$1-$4 r0 r1 m0=$RAW/$1-$4.m0 m1=$RAW/$1-$4.m1
	[ "$n" -ge 1024 ] && warm=$((WARMUP + 2))
	out=$("$EVICT" "$DATA_FILE")
	log "$tag: evicted: $out"
	local cmd=("$BENCH" -n "$n" -q "$QUEUE" -d "$WINDOW" --warmup "$warm" --order random
		--seeder-pid "$pid" --json --quiet)
	if [ "$seeder" = nginx ]; then
		cmd+=(--http "127.0.0.1:$port/$DATA_NAME" --range 1048576 -q 1)
	else
		cmd+=(-t "$TORRENT" -c "127.0.0.1:$port")
	fi
	timeout -k 5 $((WINDOW + warm + 60)) "${cmd[@]}" > "$RAW/json/$tag.json" 2> "$RAW/$tag.err" &
	CHILD=$!
	sleep "$warm"
	r0=$(group_read_bytes "$pid")
	[ -n "$ADMIN" ] && curl -s -m 5 "http://127.0.0.1:$ADMIN/metrics" > "$m0"
	wait "$CHILD"
	CHILD=
	r1=$(group_read_bytes "$pid")
	[ -n "$ADMIN" ] && curl -s -m 5 "http://127.0.0.1:$ADMIN/metrics" > "$m1"
	ROWS+=("$seeder|$n|$RAW/json/$tag.json|$((r1 - r0))|${ADMIN:+$m0}|${ADMIN:+$m1}")
	log "$tag: $("$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f MB/s" % j["throughput"]["MBps"])' "$RAW/json/$tag.json" 2> /dev/null || echo failed), disk read $(((r1 - r0) / 1000000)) MB"
}

ringseed_cold_start() {
	local work=$1 port=$2
	ADMIN=$((port + 4))
	ln -sf "$TORRENT" "$work/torrents/"
	launch "$work" "$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$work/torrents" \
		--data "$DATA_DIR" --state "$C/state" -w "$WORKERS" -o announce.enable=no \
		-o net.max_per_ip=0 -o "admin.listen=127.0.0.1:$ADMIN" -u "$(id -un)" --log-level notice
	local pid=$LAST_PID
	# the first start hashes the whole data set (the state is kept for the next)
	wait_listen "$port" 900 "$pid" && probe_bt "$port" 900 "$pid"
}

# Each run starts its seeder afresh: pages a seeder has mapped (ringseed's
# workers, rtorrent) cannot be dropped from the page cache while it runs.
i=0
for s in $SEEDERS; do
	i=$((i + 1))
	port=$((PORT_BASE + i))
	for n in $NS; do
		work=$RAW/$s-$n
		mkdir -p "$work/torrents"
		ADMIN=
		log "$s: starting on 127.0.0.1:$port"
		case $s in
		ringseed) ringseed_cold_start "$work" "$port" ;;
		rtorrent) rtorrent_start "$work" "$port" ;;
		libtorrent) libtorrent_start "$work" "$port" ;;
		nginx) nginx_start "$work" "$port" ;;
		*) die "unknown seeder $s" ;;
		esac || { log "$s did not start: see $work/log"; stop_instance "$work"; continue; }
		one_run "$s" "$port" "$(cat "$work/pid")" "$n"
		stop_instance "$work"
		wait_drained "$port" 10 || log "$s: connections still open on $port"
	done
done

# --- the report ----------------------------------------------------------------------
{
	echo "# Cold content: $MB MiB in 1 MiB pieces, evicted before each run"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -r), $(free -g | awk '/^Mem:/ {print $2}') GiB RAM;"
	echo "random piece order, Q = $QUEUE x 16 KiB per connection (nginx: one 1 MiB range at a time),"
	echo "${WINDOW} s window after a ${WARMUP} s warm-up (+2 s for N >= 1024); one run each."
	echo
	printf '%s\n' "${FIO_ROWS[@]}" | "$PY" "$ROOT/bench/cold_report.py" fio
	printf '%s\n' "${ROWS[@]}" | "$PY" "$ROOT/bench/cold_report.py" runs
	echo
	echo "Whole script: $(((SECONDS - T_START) / 60)) min $(((SECONDS - T_START) % 60)) s."
} > "$RAW/REPORT.md"
cat "$RAW/REPORT.md"
