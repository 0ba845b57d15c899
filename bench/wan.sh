#!/usr/bin/env bash
#
# wan.sh - a seeder and ringseed-bench in a network namespace of their own,
# with the namespace's loopback optionally shaped by tc, for distant and slow
# peers. Root only. See "WAN: distant and slow peers" in bench/README.md.
#
#   bench/wan.sh [--seeder ringseed|rtorrent] [--strategy S] [--shape tbf:RATE|htb:RATE]
#                [--data FILE | --size MIB] [--counts] [--keep] [-- RINGSEED-BENCH OPTIONS]
#
#   --seeder NAME    ringseed (default) or rtorrent, started as `make bench`
#                    starts them (bench/compare/seeders/)
#   --strategy S     ringseed's serve.send_strategy (default splice)
#   --shape tbf:RATE a token bucket filter on the namespace's lo: every packet
#                    of the run, both ways, shares RATE (tc units: 1gbit,
#                    400mbit); htb:RATE is the same cap as an htb class
#   --data FILE      serve FILE (1 MiB pieces) instead of a fresh random one
#   --size MIB       the fresh file's size (default 256)
#   --counts         measure with bench/counts.sh (per-block counts; in the
#                    namespace nstat's TcpOutSegs is the run's alone)
#   --keep           keep the work directory
#   -- ...           the load, e.g. -n 256 -d 10 --rtt 40ms --mix 90:500K,10:0;
#                    -t, -c and --seeder-pid are given by the script
#
# The namespace is named rsbench-PID; only its lo exists (brought up), so
# seeder and bench talk over its own 127.0.0.0/8 and nothing else on the
# machine shares their TCP counters. The kernel has no netem here, so the
# round trip is emulated by the bench (--rtt), not by the qdisc. On exit, error
# and Ctrl-C every process in the namespace is stopped and the namespace
# removed.
#
# Exit status: the bench's (0 ok, 1 run failed); 2 on bad usage or set-up.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SEEDER=ringseed
STRATEGY=splice
SHAPE=
DATA=
SIZE=256
COUNTS=
KEEP=
INSIDE=

usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
die() {
	echo "wan.sh: $*" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--seeder) SEEDER=$2; shift 2 ;;
	--strategy) STRATEGY=$2; shift 2 ;;
	--shape) SHAPE=$2; shift 2 ;;
	--data) DATA=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--counts) COUNTS=1; shift ;;
	--keep) KEEP=1; shift ;;
	--inside) INSIDE=$2; shift 2 ;; # internal: the part run in the namespace
	--) shift; break ;;
	-h | --help) usage ;;
	*) echo "wan.sh: unknown option $1" >&2; usage ;;
	esac
done
case $SEEDER in ringseed | rtorrent) ;; *) die "--seeder $SEEDER: want ringseed or rtorrent" ;; esac
[[ $SIZE =~ ^[1-9][0-9]*$ ]] || die "--size $SIZE: want a number of MiB"

# --- inside the namespace: data, the seeder, the bench ---------------------------
if [ -n "$INSIDE" ]; then
	HERE=$here/compare
	. "$HERE/lib.sh"
	. "$HERE/seeders/ringseed.sh"
	. "$HERE/seeders/rtorrent.sh"
	RAW=$INSIDE
	RINGSEED=${RINGSEED:-$top/bin/ringseed}
	BENCH=${BENCH:-$top/bin/ringseed-bench}
	WORKERS=$(nproc)
	trap 'for p in "${LAUNCHED[@]}"; do kill_group "$p"; done' EXIT
	trap 'exit 130' INT TERM
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	if [ -n "$DATA" ]; then
		DATA_DIR=$(cd "$(dirname "$DATA")" && pwd)
		name=$(basename "$DATA")
	else
		DATA_DIR=$RAW/data
		name=wan.bin
		mkdir -p "$DATA_DIR"
		head -c $((SIZE * 1048576)) /dev/urandom >"$DATA_DIR/$name" || exit 2
	fi
	mkdir -p "$RAW/t" "$RAW/trt" "$RAW/seeder"
	TORRENT=$RAW/t/$name.torrent
	RT_TORRENT=$RAW/trt/$name.torrent
	"$RINGSEED" create -q -f v1 -l 1048576 "$DATA_DIR/$name" -o "$TORRENT" >/dev/null || exit 2
	"$RINGSEED" create -q -f v1 -l 1048576 -a http://127.0.0.1:9/announce "$DATA_DIR/$name" \
		-o "$RT_TORRENT" >/dev/null || exit 2
	port=6881
	log "starting $SEEDER in $(ip netns identify $$ 2>/dev/null || echo the namespace)"
	if [ "$SEEDER" = ringseed ]; then
		ringseed_start "$RAW/seeder" "$port" "$STRATEGY"
	else
		rtorrent_start "$RAW/seeder" "$port"
	fi || { tail -n 5 "$RAW/seeder/log" >&2; exit 2; }
	pid=$(cat "$RAW/seeder/pid")
	if [ -n "$COUNTS" ]; then
		BENCH=$BENCH "$here/counts.sh" -s "$pid" -c "127.0.0.1:$port" -t "$TORRENT" -- "$@"
	else
		"$BENCH" -t "$TORRENT" -c "127.0.0.1:$port" --seeder-pid "$pid" "$@"
	fi
	exit $?
fi

# --- outside: the namespace, its lo, the shaping; then this script inside it -------
[ "$(id -u)" = 0 ] || die "root only (ip netns add)"
command -v ip >/dev/null 2>&1 || die "ip (iproute2) is missing"
ns=rsbench-$$
work=$(mktemp -d "${TMPDIR:-/tmp}/wan.XXXXXX") || exit 2
ns_made=
cleanup() {
	local p i
	if [ -n "$ns_made" ]; then
		# Every process left in the namespace is one this run started.
		for i in 1 2 3 4 5 6 7 8 9 10; do
			p=$(ip netns pids "$ns" 2>/dev/null)
			[ -z "$p" ] && break
			kill -TERM $p 2>/dev/null
			sleep 0.5
		done
		p=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$p" ] && kill -KILL $p 2>/dev/null
		ip netns del "$ns" 2>/dev/null || echo "wan.sh: could not remove namespace $ns" >&2
	fi
	if [ -n "$KEEP" ]; then
		echo "wan.sh: kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ip netns add "$ns" || die "ip netns add $ns failed"
ns_made=1
ip -n "$ns" link set lo up || die "cannot bring up lo in $ns"
case $SHAPE in
"") ;;
tbf:*)
	tc -n "$ns" qdisc add dev lo root tbf rate "${SHAPE#tbf:}" burst 1mbit latency 100ms ||
		die "tc tbf ${SHAPE#tbf:} failed"
	;;
htb:*)
	tc -n "$ns" qdisc add dev lo root handle 1: htb default 10 &&
		tc -n "$ns" class add dev lo parent 1: classid 1:10 htb rate "${SHAPE#htb:}" \
			ceil "${SHAPE#htb:}" || die "tc htb ${SHAPE#htb:} failed"
	;;
*) die "--shape $SHAPE: want tbf:RATE or htb:RATE" ;;
esac
[ -n "$SHAPE" ] && echo "wan.sh: lo of $ns shaped: $(tc -n "$ns" qdisc show dev lo | head -1)" >&2
args=(--seeder "$SEEDER" --strategy "$STRATEGY" --size "$SIZE" --inside "$work")
[ -n "$DATA" ] && args+=(--data "$(cd "$(dirname "$DATA")" && pwd)/$(basename "$DATA")")
[ -n "$COUNTS" ] && args+=(--counts)
ip netns exec "$ns" "$0" "${args[@]}" -- "$@"
rc=$?
[ -n "$SHAPE" ] && tc -n "$ns" -s qdisc show dev lo | sed -n '1,3p' | sed 's/^/wan.sh: /' >&2
exit $rc
