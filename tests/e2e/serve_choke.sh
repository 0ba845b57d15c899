#!/usr/bin/env bash
# timeout: 60
#
# The chokers, allowed fast and the upload cap, through the real binary and
# raw leechers (tests/lib/choke_peers.py), each case on its own ringseed
# (2 workers, serve.unchoke_slots = 2, serve.rechoke_interval = 1 s,
# serve.optimistic_interval = 1 s), all six at once so the test stays short:
#   all          6 leechers: the first two hold the slots, never choked
#   round_robin  6 leechers at 1 MiB/s, 2 MiB each (the quota is 1 MiB):
#                each gets a turn before any gets a second; slots rotate
#   fastest      2 fast and 4 slow leechers: the fast ones keep their slots,
#                one optimistic unchoke at a time, rotating
#   anti_leech   leechers claiming 40-55% connect first, then 0% and 90%:
#                the 0% and 90% ones hold the slots once the choker ran
#   allowed_fast serve.allowed_fast = 4: a choked Fast peer gets BEP 6's set,
#                downloads a piece of it while choked, is rejected outside it
#   rate         serve.max_upload_rate = 2M, no slots: three leechers
#                together get 0.5x..1.3x of 2 MiB/s
# Every leecher completes byte-exact; the counters move (unchokes, chokes,
# rechokes, optimistic unchokes, allowed fast blocks, throttled batches);
# no sanitizer report.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
start=$(date +%s)
PEERS=$E2E_LIB/choke_peers.py
CASES="all round_robin fastest anti_leech allowed_fast rate"
declare -A I_DIR I_PORT I_ADMIN I_PID I_LOG I_SIZE

# The instance of case $1 becomes serve.sh's current one.
use() {
	S_DIR=${I_DIR[$1]} S_PORT=${I_PORT[$1]:-} S_ADMIN=${I_ADMIN[$1]} S_PID=${I_PID[$1]:-} S_LOG=${I_LOG[$1]:-}
	S_N=1
}

for c in $CASES; do
	serve_init "$work/$c"
	case $c in
	fastest) size=$((6 * 1048576)) ;;
	anti_leech) size=$((4 * 1048576)) ;;
	*) size=$((2 * 1048576)) ;;
	esac
	serve_add_file c.bin $((size - 1234)) || exit 1
	I_DIR[$c]=$S_DIR I_ADMIN[$c]=$S_ADMIN I_SIZE[$c]=$size
done
# Each instance starts once: no restart can find its content "racy" (serve_settle).
# All six start at once (serve_start would wait for each in turn).
t_ready=$(date +%s%N)
for c in $CASES; do
	use "$c"
	case $c in
	rate) opts="-o serve.max_upload_rate=2M" ;;
	allowed_fast) opts="-o serve.unchoke_slots=2 -o serve.allowed_fast=4" ;;
	*) opts="-o serve.unchoke_slots=2 -o serve.choker=$c" ;;
	esac
	I_PORT[$c]=$(free_port) I_LOG[$c]=$S_DIR/serve.1.log
	# shellcheck disable=SC2086
	env --default-signal=INT "$RINGSEED" serve -c "$S_DIR/ringseed.conf" \
		--listen "127.0.0.1:${I_PORT[$c]}" $opts -o serve.rechoke_interval=1 \
		-o serve.optimistic_interval=1 2>"${I_LOG[$c]}" &
	I_PID[$c]=$!
	serve_all_pids+=("${I_PID[$c]}")
done
for c in $CASES; do
	wait_until 30 grep -q ' ready: ' "${I_LOG[$c]}" || {
		fail "$c: no 'ready:' line"
		show_tail "${I_LOG[$c]}"
		exit 1
	}
done
echo "started in $((($(date +%s%N) - t_ready) / 1000000)) ms"
t_run=$(date +%s%N)
declare -A JOB
base=10
for c in $CASES; do
	use "$c"
	mode=$c extra=()
	[ "$c" = allowed_fast ] && mode=all extra=(--allowed-fast 4)
	[ "$c" = rate ] && extra=(--cap $((2 * 1048576)))
	"$PY" "$PEERS" "$mode" --peer "127.0.0.1:$S_PORT" --torrent "$S_DIR/torrents/c.bin.torrent" \
		--content "$S_DIR/data/c.bin" --base $base "${extra[@]}" >"$work/$c.out" 2>&1 &
	JOB[$c]=$!
	serve_bg_pids+=("${JOB[$c]}")
	base=$((base + 12))
done
for c in $CASES; do
	if wait "${JOB[$c]}"; then
		echo "$c: $(tail -n 1 "$work/$c.out" | sed 's/^[a-z_]*: ok: //')"
	else
		fail "$c: $(grep -m1 FAIL "$work/$c.out" || tail -n 1 "$work/$c.out")"
		show "$work/$c.out"
	fi
done

echo "leechers done in $((($(date +%s%N) - t_run) / 1000000)) ms"

# stat_min CASE KEY MIN: the counter of that instance is at least MIN
stat_min() {
	local v
	use "$1"
	v=$(serve_stat "$2")
	[ -n "$v" ] && [ "$v" -ge "$3" ] || fail "$1: $2 = ${v:-none}, want >= $3"
}
stat_min all unchokes_total 6
stat_min all rechokes_total 2
stat_min round_robin chokes_total 2
stat_min fastest optimistic_unchokes_total 2
stat_min anti_leech chokes_total 1
stat_min allowed_fast allowed_fast_blocks_total 2
stat_min rate upload_throttled_total 1
use rate
v=$(serve_stat rechokes_total)
[ "${v:-0}" -eq 0 ] || fail "rate: $v rechokes with unlimited slots, want none"

for c in $CASES; do
	kill -TERM "${I_PID[$c]}" # all at once; serve_stop then checks each
done
for c in $CASES; do
	use "$c"
	serve_stop || fail "$c: serve_stop"
	serve_logs_clean || fail "$c: sanitizer"
done
echo "serve_choke: $(($(date +%s) - start)) s"
[ "$fails" -eq 0 ]
