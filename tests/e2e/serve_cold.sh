#!/usr/bin/env bash
# timeout: 60
#
# Cold content: a file dropped from the page cache (bench/evict.py:
# fdatasync, then POSIX_FADV_DONTNEED, checked with mincore) once the seeder
# is ready is served by each --send-strategy (auto, splice, send_zc, copy)
# to a python3-libtorrent leecher, byte for byte. With the zero-copy ones
# the worker must have read the content in itself before sending it
# (ringseed_cold_waits_total and ringseed_cold_reads_total > 0, every page
# read once at most: cold_read_bytes no more than the file), never with
# copy, which reads through the ring anyway; no peer dropped for an I/O
# error; and /metrics has the loop-turn histogram, its +Inf bucket equal to
# its count.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
EVICT=$TOP/bench/evict.py
SIZE=$((6 * 1048576 + 11))

S_PL=256K
serve_init "$work/s"
serve_add_file cold.bin $SIZE || exit 1
T=$S_DIR/torrents/cold.bin.torrent

one_strategy() {
	local strategy=$1 ip=$2 dir=$work/$1 out waits reads rbytes inf count
	mkdir -p "$dir"
	serve_start -w 1 --send-strategy "$strategy" || return 1
	out=$("$PY" "$EVICT" "$S_DIR/data/cold.bin")
	case $out in
	*" resident=0") ;;
	*) echo "note: $strategy: not all evicted ($out): the cold path may see less" ;;
	esac
	if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind "127.0.0.$ip" --save "$dir" \
		--timeout 20 "$T" >"$dir/lt.out" 2>&1; then
		fail "$strategy: the libtorrent leecher failed"
		show "$dir/lt.out"
	fi
	tree_cmp "$S_DIR/data/cold.bin" "$dir/cold.bin" || fail "$strategy: cold.bin differs"
	waits=$(serve_stat cold_waits_total)
	reads=$(serve_stat cold_reads_total)
	rbytes=$(serve_stat cold_read_bytes_total)
	if [ "$strategy" = copy ]; then
		[ "$waits" = 0 ] && [ "$reads" = 0 ] ||
			fail "copy: cold_waits=$waits cold_reads=$reads, want 0 (it reads through the ring)"
	else
		[ "${waits:-0}" -gt 0 ] && [ "${reads:-0}" -gt 0 ] ||
			fail "$strategy: cold_waits=$waits cold_reads=$reads, want > 0 after an eviction"
		[ "${rbytes:-0}" -le $SIZE ] ||
			fail "$strategy: cold_read_bytes=$rbytes, more than the file ($SIZE): a run read twice"
	fi
	[ "$(serve_stat drop_io)" = 0 ] || fail "$strategy: drop_io=$(serve_stat drop_io), want 0"
	serve_metrics >"$dir/metrics"
	grep -q '^# TYPE ringseed_worker_loop_seconds histogram$' "$dir/metrics" ||
		fail "$strategy: no histogram TYPE line for ringseed_worker_loop_seconds"
	inf=$(awk '/^ringseed_worker_loop_seconds_bucket\{le="\+Inf"\}/ { print $2 }' "$dir/metrics")
	count=$(awk '/^ringseed_worker_loop_seconds_count / { print $2 }' "$dir/metrics")
	[ -n "$count" ] && [ "$count" != 0 ] && [ "$inf" = "$count" ] ||
		fail "$strategy: loop histogram +Inf=$inf count=$count, want equal and > 0"
	echo "$strategy: $out; cold_waits=$waits cold_reads=$reads cold_read_bytes=$rbytes turns=$count"
	serve_stop
}

ip=10
for strategy in auto splice send_zc copy; do
	one_strategy $strategy $ip
	ip=$((ip + 1))
done
serve_logs_clean
[ $fails -eq 0 ]
