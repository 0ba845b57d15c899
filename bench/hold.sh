#!/usr/bin/env bash
#
# hold.sh - N connections (default 50,000) held against `ringseed serve` for
# S seconds (default 60), and what each one costs the seeder in anonymous
# memory. Loopback only. See "50,000 connections: memory per peer" in
# bench/README.md.
#
#   bench/hold.sh [-n N] [-p BENCHES] [-w WORKERS] [-H SECONDS] [-q Q] [--ramp S]
#                 [--idle-timeout S] [--keep]
#
#   -n N              connections in all (default 50000)
#   -p BENCHES        ringseed-bench processes sharing them (default 4); each
#                     needs one descriptor per connection, under RLIMIT_NOFILE
#   -w WORKERS        seeder workers (default 4); each holds N/WORKERS peers
#                     and needs a descriptor for each, under RLIMIT_NOFILE
#   -H SECONDS        how long all N are held (default 60)
#   -q Q              requests in flight per connection (default 0: the
#                     bench's idle mode, a connection handshakes, says
#                     interested and asks for nothing, like a real peer that
#                     has what it wants for now; -q 1 keeps one request
#                     outstanding, the worst case for the request queue)
#   --ramp S          all N must be connected within it (each bench's
#                     --ramp: its window opens once its connections are in)
#                     (default 60)
#   --idle-timeout S  serve.idle_timeout for the seeder (default 300)
#   --keep            keep the work directory (logs, the benches' JSON)
#
# 1. Makes a 32 MiB torrent in a fresh directory under $TMPDIR and starts
#    `ringseed serve -w WORKERS` on 127.0.0.1 with serve.idle_timeout raised.
# 2. With 0 peers (after `ready:` and a 2 s settle): RssAnon (/proc/PID/status),
#    Anonymous and Private_Dirty (/proc/PID/smaps_rollup) of the master and
#    every worker; /proc/net/sockstat and a few slab caches.
# 3. Starts BENCHES ringseed-bench processes, N/BENCHES connections each, each
#    from its own 127.X.0.0/16 source range (one address per connection), -q Q.
# 4. Once the seeder's stats line says peers=N (within --ramp seconds), holds
#    for SECONDS, checking every 2 s that the seeder's peers and the benches'
#    held counts stay at N, then samples the memory again.
# 5. Waits for the benches' reports (held at the end, failures), stops the
#    seeder with SIGTERM, and prints (after - before) / N.
#
# Exit status: 0 when all N were held for the whole time and the seeder's
# anonymous memory grew by at most 2 KiB per peer (RssAnon); 1 otherwise;
# 2 on bad usage or set-up. Every process started here is killed on exit,
# Ctrl-C included.
#
# Environment: RINGSEED, BENCH (default bin/ringseed and bin/ringseed-bench of
# this tree), TMPDIR.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
RINGSEED=${RINGSEED:-$top/bin/ringseed}
BENCH=${BENCH:-$top/bin/ringseed-bench}
N=50000
P=4
W=4
HOLD=60
Q=0
RAMP=60
IDLE=300
KEEP=
LIMIT_B=2048 # the target: anonymous bytes per held peer (issue 10: 2 KiB)

usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-p) P=$2; shift 2 ;;
	-w) W=$2; shift 2 ;;
	-H) HOLD=$2; shift 2 ;;
	-q) Q=$2; shift 2 ;;
	--ramp) RAMP=$2; shift 2 ;;
	--idle-timeout) IDLE=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage ;;
	*) echo "hold.sh: unknown option $1" >&2; usage ;;
	esac
done

die() {
	echo "hold.sh: $*" >&2
	exit 2
}

for b in "$RINGSEED" "$BENCH"; do
	[ -x "$b" ] || die "$b is not built (make)"
done
for v in N P W HOLD RAMP IDLE; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v=${!v}: want a positive integer"
done
[[ $Q =~ ^[0-9]+$ ]] || die "Q=$Q: want 0 (idle) or a positive integer"
[ "$P" -le 200 ] || die "at most 200 bench processes (one 127.X.0.0/16 source range each)"

# Descriptors: the soft limit up to the hard one, for us and every child.
# Each bench needs one per connection + 64; each worker one per peer plus its
# ring, channel and content files; the master one per handshake being read.
ulimit -n "$(ulimit -Hn)" 2>/dev/null
nofile=$(ulimit -n)
per_bench=$(((N + P - 1) / P))
per_worker=$(((N + W - 1) / W))
[ $((per_bench + 64)) -le "$nofile" ] ||
	die "$per_bench connections per bench need $((per_bench + 64)) descriptors, RLIMIT_NOFILE is $nofile: raise -p"
[ $((per_worker + 256)) -le "$nofile" ] ||
	die "$per_worker peers per worker need about $((per_worker + 256)) descriptors, RLIMIT_NOFILE is $nofile: raise -w"
[ "$per_worker" -le 20000 ] || die "$per_worker peers per worker: more than serve.max_peers (20000); raise -w"

work=$(mktemp -d "${TMPDIR:-/tmp}/ringseed-hold.XXXXXX") || die "mktemp failed"
seeder=
bench_pids=()

# proc_gone PID: the process is gone or a zombie
proc_gone() {
	[ ! -r "/proc/$1/stat" ] || grep -q '^[0-9]* (.*) [ZX] ' "/proc/$1/stat" 2>/dev/null
}

# wait_gone SECONDS PID...: polls until every PID is gone; 1 on timeout
wait_gone() {
	local n=$(($1 * 10)) i p left
	shift
	for ((i = 0; i <= n; i++)); do
		left=0
		for p in "$@"; do
			proc_gone "$p" || left=1
		done
		[ $left -eq 0 ] && return 0
		sleep 0.1
	done
	return 1
}

workers_of() {
	cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$'
}

cleanup() {
	local p ws=()
	trap - EXIT INT TERM
	for p in "${bench_pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	if [ -n "$seeder" ] && ! proc_gone "$seeder"; then
		mapfile -t ws < <(workers_of "$seeder")
		kill -TERM "$seeder" 2>/dev/null
		if ! wait_gone 10 "$seeder"; then
			kill -KILL "$seeder" 2>/dev/null
		fi
		for p in "${ws[@]}"; do # PR_SET_PDEATHSIG takes them; this is in case
			wait_gone 2 "$p" || kill -KILL "$p" 2>/dev/null
		done
	fi
	if [ ${#bench_pids[@]} -gt 0 ] && ! wait_gone 5 "${bench_pids[@]}"; then
		for p in "${bench_pids[@]}"; do
			kill -KILL "$p" 2>/dev/null
		done
	fi
	if [ -n "$KEEP" ]; then
		echo "kept: $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'echo "hold.sh: interrupted" >&2; exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null || echo 16881
}

# stat_last KEY: KEY's value in the seeder's last stats line
stat_last() {
	grep ' stats: ' "$work/seeder.log" | tail -n 1 | grep -oE "(^| )$1=[0-9]+" | cut -d= -f2
}

# bench_held I: "held" of bench I's last progress line
bench_held() {
	grep -E '^ *[0-9.]+s ' "$work/bench$1.err" 2>/dev/null | tail -n 1 |
		sed -nE 's/.* held ([0-9]+) .*/\1/p'
}

# mem_sample FILE: one line per seeder process: role pid rssanon anon private_dirty
# heap_anon mmap_anon (KiB; the last two from /proc/PID/smaps: Anonymous in
# [heap], and in mappings without a name)
mem_sample() {
	local out=$1 pid role
	: >"$out"
	for pid in "$seeder" $(workers_of "$seeder"); do
		role=worker
		[ "$pid" = "$seeder" ] && role=master
		{
			echo -n "$role $pid "
			awk '/^RssAnon:/ { printf "%d ", $2 }' "/proc/$pid/status"
			awk '/^Anonymous:/ { a = $2 } /^Private_Dirty:/ { d = $2 }
				END { printf "%d %d ", a, d }' "/proc/$pid/smaps_rollup"
			awk '/^[0-9a-f]+-[0-9a-f]+ / { name = ($6 == "" ? "anon" : $6) }
				/^Anonymous:/ { if (name == "[heap]") h += $2; else if (name == "anon") m += $2 }
				END { printf "%d %d\n", h, m }' "/proc/$pid/smaps"
		} >>"$out"
	done
}

# kern_sample FILE: key value lines: sockstat TCP inuse and mem (pages), slab
# caches (bytes), Slab and SUnreclaim (KiB)
kern_sample() {
	{
		awk '$1 == "TCP:" { for (i = 2; i < NF; i += 2) print "tcp_" $i, $(i + 1) }' /proc/net/sockstat
		awk '$1 ~ /^(TCP|sock_inode_cache|filp|io_kiocb|eventpoll_epi|skbuff_head_cache)$/ {
			print "slab_" $1, $3 * $4 }' /proc/slabinfo 2>/dev/null
		awk '$1 == "Slab:" || $1 == "SUnreclaim:" { sub(":", "", $1); print $1, $2 }' /proc/meminfo
	} >"$1"
}

sum_col() { # FILE COLUMN
	awk -v c="$2" '{ s += $c } END { print s + 0 }' "$1"
}

kern_val() { # FILE KEY
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

echo "hold.sh: $N connections ($P benches x $per_bench, -q $Q), ringseed serve -w $W" \
	"($per_worker peers per worker), held $HOLD s; RLIMIT_NOFILE $nofile; work $work"

# 1. content, torrent, seeder
mkdir -p "$work"/{data,torrents,state}
head -c $((32 << 20)) /dev/urandom >"$work/data/hold.bin" || die "cannot write $work/data"
"$RINGSEED" create -q "$work/data/hold.bin" -l 1M -o "$work/torrents/hold.torrent" ||
	die "ringseed create failed"
port=$(free_port)
: >"$work/seeder.log"
"$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$work/torrents" --data "$work/data" \
	--state "$work/state" -w "$W" -o serve.idle_timeout="$IDLE" -o serve.stats_interval=2 \
	-o announce.enable=no -o admin.listen= -o net.max_per_ip=0 -u "$(id -un)" \
	2>"$work/seeder.log" & # every held connection comes from 127.0.0.1
seeder=$!
for ((i = 0; i < 600; i++)); do
	grep -q ' ready: ' "$work/seeder.log" && break
	proc_gone "$seeder" && break
	sleep 0.1
done
if ! grep -q ' ready: ' "$work/seeder.log"; then
	sed 's/^/    | /' "$work/seeder.log" >&2
	die "ringseed serve did not say 'ready:' within 60 s"
fi
nw=$(workers_of "$seeder" | wc -l)
[ "$nw" -eq "$W" ] || die "the seeder has $nw worker processes, want $W"
grep -E ' (ready:|listening on) ' "$work/seeder.log" | sed 's/^/    | /'
echo "    worker descriptor limit: $(awk '/Max open files/ { print $4 }' "/proc/$(workers_of "$seeder" | head -n 1)/limits")"

# 2. 0 peers
sleep 2
mem_sample "$work/mem0"
kern_sample "$work/kern0"

# 3. the benches
# The window (when the benches end) opens once each bench's connections are
# all in (--ramp), not after a warm-up of RAMP seconds: the run is as short
# as the ramp allows, and 15 s beyond the hold cover the other benches'.
warmup=0
duration=$((HOLD + 15))
for ((i = 0; i < P; i++)); do
	n=$per_bench
	[ $((i * per_bench + n)) -gt "$N" ] && n=$((N - i * per_bench))
	net=$((20 + i))
	extra=()
	[ $i -eq 0 ] && extra=(--seeder-pid "$seeder")
	"$BENCH" -t "$work/torrents/hold.torrent" -c "127.0.0.1:$port" -n "$n" -q "$Q" \
		-d "$duration" --warmup "$warmup" --ramp "$RAMP" --src "127.$net.0.1-127.$net.255.254" \
		--json "${extra[@]}" >"$work/bench$i.json" 2>"$work/bench$i.err" &
	bench_pids+=($!)
done
t_start=$(date +%s)

# 4. all connected, then held
t_full=
for ((i = 0; i < RAMP * 10; i++)); do
	peers=$(stat_last peers)
	if [ "${peers:-0}" -ge "$N" ]; then
		t_full=$(date +%s)
		break
	fi
	sleep 0.1
done
if [ -z "$t_full" ]; then
	echo "hold.sh: FAILED: the seeder has peers=$(stat_last peers) after $RAMP s, want $N" >&2
	for ((i = 0; i < P; i++)); do
		echo "    bench $i: $(tail -n 1 "$work/bench$i.err")" >&2
	done
	exit 1
fi
echo "all $N connected after $((t_full - t_start)) s; holding $HOLD s"
min_peers=$N
min_held=$N
t_end=$((t_full + HOLD))
while [ "$(date +%s)" -lt "$t_end" ]; do
	sleep 2
	peers=$(stat_last peers)
	held=0
	for ((i = 0; i < P; i++)); do
		h=$(bench_held "$i")
		held=$((held + ${h:-0}))
	done
	[ "${peers:-0}" -lt "$min_peers" ] && min_peers=${peers:-0}
	[ "$held" -lt "$min_held" ] && min_held=$held
	printf '  %3d s  seeder peers=%s  benches held=%s\n' $(($(date +%s) - t_full)) "$peers" "$held"
done
mem_sample "$work/mem1"
kern_sample "$work/kern1"
seeder_stats=$(grep ' stats: ' "$work/seeder.log" | tail -n 1 | sed 's/.*stats: //')

# 5. the benches' reports, the seeder's end
left=$((t_start + warmup + duration + 60 - $(date +%s)))
[ $left -ge 5 ] || left=5
if ! wait_gone $left "${bench_pids[@]}"; then
	echo "hold.sh: FAILED: a bench did not end in time" >&2
	exit 1
fi
bench_ok=1
b_held=0
b_failed=0
b_hs=0
b_mbps=0
for ((i = 0; i < P; i++)); do
	wait "${bench_pids[$i]}"
	rc=$?
	line=$(/usr/bin/python3 - "$work/bench$i.json" <<'EOF'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
    c = j["connections"]
    print(c["handshaked"], c["held"], c["failed"], round(j["throughput"]["MBps"]), int(j["ok"]))
except Exception as e:
    print(0, 0, -1, 0, 0)
EOF
	)
	read -r hs h f mbps ok <<<"$line"
	echo "  bench $i: exit $rc, handshaked $hs, held at the end $h, failed $f, $mbps MB/s"
	[ "$rc" -eq 0 ] && [ "$ok" = 1 ] && [ "$f" = 0 ] || bench_ok=0
	b_hs=$((b_hs + hs))
	b_held=$((b_held + h))
	b_failed=$((b_failed + (f < 0 ? 0 : f)))
	b_mbps=$((b_mbps + mbps))
done
bench_pids=()
kill -TERM "$seeder" 2>/dev/null
if wait_gone 15 "$seeder"; then
	wait "$seeder" 2>/dev/null
	seeder=
else
	echo "hold.sh: the seeder did not exit within 15 s of SIGTERM (killed on exit)" >&2
fi

# the figures
per_peer() { # KiB_before KiB_after -> bytes per peer
	awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }'
}
echo
echo "== seeder anonymous memory (master + $W workers), KiB"
printf '%-14s %12s %12s %12s %12s %12s\n' "" RssAnon Anonymous Private_Dirty "[heap]" "anon mmap"
for f in mem0 mem1; do
	label="0 peers"
	[ $f = mem1 ] && label="$N peers"
	printf '%-14s %12d %12d %12d %12d %12d\n' "$label" "$(sum_col "$work/$f" 3)" \
		"$(sum_col "$work/$f" 4)" "$(sum_col "$work/$f" 5)" "$(sum_col "$work/$f" 6)" \
		"$(sum_col "$work/$f" 7)"
done
rss_pp=$(per_peer "$(sum_col "$work/mem0" 3)" "$(sum_col "$work/mem1" 3)")
printf '%-14s %12s %12s %12s %12s %12s   bytes per peer\n' "(after-0)/$N" "$rss_pp" \
	"$(per_peer "$(sum_col "$work/mem0" 4)" "$(sum_col "$work/mem1" 4)")" \
	"$(per_peer "$(sum_col "$work/mem0" 5)" "$(sum_col "$work/mem1" 5)")" \
	"$(per_peer "$(sum_col "$work/mem0" 6)" "$(sum_col "$work/mem1" 6)")" \
	"$(per_peer "$(sum_col "$work/mem0" 7)" "$(sum_col "$work/mem1" 7)")"
echo "   by process (RssAnon KiB, 0 peers -> $N peers):"
paste "$work/mem0" "$work/mem1" | awk '{ printf "     %-6s %-8s %9d -> %9d\n", $1, $2, $3, $10 }'
echo
echo "== kernel, whole machine (both ends of every loopback connection; other users' sockets too)"
for k in tcp_inuse tcp_alloc tcp_mem; do
	a=$(kern_val "$work/kern0" $k)
	b=$(kern_val "$work/kern1" $k)
	[ -n "$a" ] || continue
	if [ $k = tcp_mem ]; then
		printf '   sockstat TCP mem   %9s -> %9s pages = %s bytes per connection\n' "$a" "$b" \
			"$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.0f", (b - a) * 4096 / n }')"
	else
		printf '   sockstat TCP %-5s %9s -> %9s\n' "${k#tcp_}" "$a" "$b"
	fi
done
for k in $(awk '$1 ~ /^slab_/ { print $1 }' "$work/kern0"); do
	a=$(kern_val "$work/kern0" "$k")
	b=$(kern_val "$work/kern1" "$k")
	printf '   slab %-18s %12s -> %12s bytes = %s bytes per connection\n' "${k#slab_}" "$a" "$b" \
		"$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.0f", (b - a) / n }')"
done
for k in Slab SUnreclaim; do
	a=$(kern_val "$work/kern0" $k)
	b=$(kern_val "$work/kern1" $k)
	printf '   meminfo %-11s %9s -> %9s KiB = %s bytes per connection\n' "$k" "$a" "$b" "$(per_peer "$a" "$b")"
done
echo
echo "== held"
echo "   seeder peers: $N reached $((t_full - t_start)) s after the benches started; lowest in the $HOLD s hold: $min_peers"
echo "   benches: lowest held in the hold $min_held; at the end $b_held held, $b_hs handshaked, $b_failed failed; $b_mbps MB/s (-q $Q)"
echo "   seeder stats at the end of the hold: $seeder_stats"
echo
ok=1
[ "$min_peers" -ge "$N" ] && [ "$min_held" -ge "$N" ] && [ "$b_held" -ge "$N" ] && [ $bench_ok -eq 1 ] || ok=0
if [ $ok -eq 1 ] && [ "$rss_pp" -le $LIMIT_B ]; then
	echo "result: ok: $N connections held $HOLD s, $rss_pp anonymous bytes per peer (limit $LIMIT_B)"
	exit 0
fi
[ $ok -eq 1 ] || echo "result: FAILED: not every connection was held for the whole time"
[ "$rss_pp" -le $LIMIT_B ] || echo "result: FAILED: $rss_pp anonymous bytes per peer, more than $LIMIT_B"
exit 1
