#!/usr/bin/env bash
# timeout: 100
#
# A worker of `ringseed serve` killed with SIGKILL mid-download: 4 libtorrent
# leechers (each from its own 127.0.0.X, 3 MB/s each so the download lasts
# about 8 s) fetch a 24 MB torrent from 2 workers; once they are under way,
# the worker holding at least one of their connections (found with ss -tnp)
# gets SIGKILL. Then: the log says `worker N (pid P) killed by signal 9;
# restarting`, the master has 2 workers again (a new pid) holding none of the
# master's sockets or its state directory, the leechers
# reconnect and finish byte-exact, worker_restarts >= 1, up_bytes never goes
# down from one stats line to the next and covers what was downloaded, and
# SIGTERM still ends everything cleanly.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
command -v ss >/dev/null || { echo "skip: ss (iproute2) not installed"; exit 77; }
cd "$work" || exit 1
start=$(date +%s)
N=4

serve_init "$work/s"
serve_add_file big.bin $((24 * 1048576 + 777)) || exit 1
size=$(stat -c %s "$S_DIR/data/big.bin")
serve_start --workers 2 -o serve.stats_interval=1 || exit 1
set -- $S_WORKERS
[ $# -eq 2 ] || fail "--workers 2: the master has $# children ($S_WORKERS)"

leechers=()
for ((i = 0; i < N; i++)); do
	mkdir -p "$work/l$i"
	bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind "127.0.0.$((10 + i))" --save "$work/l$i" \
		--timeout 70 --rate 3000000 --status "$work/l$i.status" \
		"$S_DIR/torrents/big.bin.torrent" >"$work/l$i.out" 2>&1
	leechers+=("$BG_PID")
done

# under way: every leecher connected with 10% of the pieces (of 769)
under_way() {
	local i p
	for ((i = 0; i < N; i++)); do
		p=$(sed -n 's/^big.bin \([0-9]*\)\/.* 1$/\1/p' "$work/l$i.status" 2>/dev/null)
		[ -n "$p" ] && [ "$p" -ge 77 ] || return 1
	done
}
wait_until 30 under_way || fail "the leechers were not all under way within 30 s"

# the worker that holds a leecher's connection
victim=$(ss -tnpH state established "( sport = :$S_PORT )" | grep -o 'pid=[0-9]*' | sed 's/pid=//' |
	grep -xF -f <(serve_workers) | head -n 1)
if [ -z "$victim" ]; then
	fail "no worker holds a connection on port $S_PORT (ss -tnp)"
	ss -tnpH "( sport = :$S_PORT )" | head -n 10 | sed 's/^/    | /'
	victim=$(serve_workers | head -n 1)
fi
progress=$(cat "$work"/l*.status | sed -n 's/^big.bin \([0-9]*\/[0-9]*\) .*/\1/p' | tr '\n' ' ')
echo "killing worker $victim (leechers at $progress pieces)"
kill -KILL "$victim"

serve_wait_log "worker [0-9]+ \(pid $victim\) killed by signal 9; restarting" 5 ||
	{ fail "no 'worker N (pid $victim) killed by signal 9; restarting' line"; show_tail "$S_LOG" 10; }
respawned() {
	local w
	w=$(serve_workers)
	[ "$(echo "$w" | grep -c .)" -eq 2 ] && ! echo "$w" | grep -qx "$victim"
}
wait_until 5 respawned || fail "2 workers without $victim were not back within 5 s: $(serve_workers | tr '\n' ' ')"
echo "workers now: $(serve_workers | tr '\n' ' ')"

# A worker keeps only its named descriptors: no socket of the master's
# (listeners, the other worker's channel, the announcer's UDP sockets, which
# exist by the time of the restart) and not the state directory.
sockets_of() {
	ls -l "/proc/$1/fd" 2>/dev/null | grep -o 'socket:\[[0-9]*\]' | sort -u
}
master_sockets=$(sockets_of "$S_PID")
[ -n "$master_sockets" ] || fail "no socket found in /proc/$S_PID/fd"
for w in $(serve_workers); do
	shared=$(comm -12 <(sockets_of "$w") <(echo "$master_sockets") | tr '\n' ' ')
	[ -z "$shared" ] || fail "worker $w holds the master's sockets: $shared"
	if ls -l "/proc/$w/fd" | grep -qF -- "-> $S_DIR/state"; then
		fail "worker $w holds the state directory"
	fi
done

for ((i = 0; i < N; i++)); do
	if wait "${leechers[$i]}"; then
		cat "$work/l$i.out"
		tree_cmp "$S_DIR/data/big.bin" "$work/l$i/big.bin" || fail "leecher $i: big.bin differs"
	else
		fail "leecher $i did not finish after the worker was killed"
		show "$work/l$i.out"
	fi
done
serve_wait_stat worker_restarts 1 3 || fail "worker_restarts=$(serve_stat worker_restarts), want >= 1"
serve_wait_stat up_bytes $((N * size)) 3 ||
	fail "up_bytes=$(serve_stat up_bytes) < $((N * size)) downloaded: the killed worker's bytes were lost"
grep ' stats: ' "$S_LOG" | tr ' ' '\n' | sed -n 's/^up_bytes=//p' |
	awk 'NR > 1 && $1 < prev { print "up_bytes went down: " prev " -> " $1; bad = 1 } { prev = $1 } END { exit bad }' ||
	fail "up_bytes is not cumulative across the worker restart"
grep ' stats: ' "$S_LOG" | tail -n 1 | sed 's/.*stats:/stats:/'
serve_stop
serve_logs_clean

echo "serve_worker_kill: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
