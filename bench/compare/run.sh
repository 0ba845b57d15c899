#!/usr/bin/env bash
# make bench: ringseed side by side with other seeders, measured by
# ringseed-bench. See "make bench: the comparison" in bench/README.md.
#
# One 1 GiB random file (made once, kept in build/bench/data), its .torrent
# with 1 MiB pieces, the page cache warmed; then every seeder on its own
# 127.0.0.1 port, and for each repetition, each load, each N and each seeder
# (the seeder order rotating from one repetition to the next) one
# ringseed-bench run in duration mode. Raw JSON per run:
# build/bench/runs/STAMP/json/. Then the real-client crowd (bench/crowd.sh:
# 50 libtorrent leechers against ringseed splice and rtorrent), and
# bench/compare/aggregate.py writes bench/results/TABLE.md and the PNGs.
#
# The loads (bench/README.md, "The loads"):
#   trickle  each request written alone as its block arrives (real clients);
#            every N, BENCH_REPS repetitions
#   burst    the whole queue refilled per read (the bench's old way); N = 256 and 2048,
#            BENCH_BURST_REPS repetitions
#   capped   500 connections, each capped at 1 MB/s (--rate 1M); once
#   mixed    256 connections, 90% at 500 KB/s and 10% uncapped; once
#   wan      256 connections 40 ms away (--rtt 40ms); once
#   rc4      every peer on MSE with RC4 (--mse rc4), N = 256 and 2048: ringseed,
#            rtorrent with encryption required, libtorrent with RC4 forced; once
#   mseopen  N = 256 downloading while a second ringseed-bench opens MSE (RC4)
#            connections as fast as it can (--churn): throughput before and
#            during (--split), handshakes per second and per master CPU-second
#   v2       ringseed serving the same data as v1, v2 and hybrid, N = 256; twice
#   scale    10,000 connections (trickle, -q 8), the window opened only once
#            every one has handshaked (--ramp): ringseed splice and rtorrent
#   crowd    bench/crowd.sh, once per seeder
#   hashspeed  bench/hashspeed.sh: create and verify v2/hybrid against openssl
#   swarm    bench/swarm.sh (root only): M leechers trading among themselves,
#            the seeder's upload capped; ringseed with super-seeding off/on
#            (and PEX off/on where built), rtorrent, libtorrent
#   fleet    bench/fleet.sh: 1 origin + N edges on 127.0.1.x, the origin capped
#            by serve.max_upload_rate; ringseed edges fetching and uploading to
#            each other, then libtorrent leechers
#   fetch1   bench/fetch1.sh: one fetch from one local seeder: ringseed fetch,
#            aria2c, libtorrent (MB/s, CPU seconds per GB)
#
# Environment (defaults in brackets):
#   BENCH_LOADS ["trickle burst capped mixed wan rc4 mseopen v2 scale crowd hashspeed swarm fleet fetch1"]
#   BENCH_REPS [2]              repetitions of the trickle rows
#   BENCH_BURST_REPS [1]        repetitions of the burst rows
#   BENCH_NS ["1 16 256 2048"]  connection counts (trickle)
#   BENCH_BURST_NS ["256 2048"] connection counts of the burst rows (where
#                               issue targets and earlier runs compare them)
#   BENCH_WINDOW [4]            measured seconds per run
#   BENCH_WARMUP [2]            warm-up seconds per run
#   BENCH_WARMUP_BIG [4]        warm-up for N >= 1024 (the ramp of 2048
#                               connections, 256 opening at a time, needs it)
#   BENCH_TR_WARMUP [11]        warm-up for Transmission (it unchokes new peers
#                               only at its 10 s rechoke)
#   BENCH_QUEUE [32]            requests in flight per connection (-q)
#   BENCH_PORT_BASE [23400]     ports BASE+1 .. BASE+62 on 127.0.0.1
#   BENCH_SEEDERS [all]         only these rows, e.g. "ringseed-copy rtorrent"
#   BENCH_CAPPED_N [500], BENCH_CAPPED_RATE [1M]   the capped load
#   BENCH_MIXED_N [256], BENCH_MIX [90:500K,10:0]  the mixed load
#   BENCH_WAN_N [256], BENCH_RTT [40ms]            the wan load
#   BENCH_CROWD_N [50], BENCH_CROWD_WINDOW [10]    the crowd
#   BENCH_SWARM_N [8], BENCH_SWARM_MIB [256], BENCH_SWARM_CAP [400] (Mbit/s),
#   BENCH_SWARM_TIMEOUT [50] (s per row),
#   BENCH_SWARM_ROWS ["rs-off rs-on rs-off-pex rs-on-pex rtorrent lt"]  the swarm
#                               (bench/swarm.sh --rows; lt-super, libtorrent's own
#                               super-seeding, takes long: run it by hand)
#   BENCH_FLEET_N [8], BENCH_FLEET_MIB [256], BENCH_FLEET_CAP [20] (MiB/s),
#   BENCH_FLEET_TIMEOUT [300] (s per row)   the fleet (bench/fleet.sh)
#   BENCH_FETCH1_MIB [256]      the single fetch (bench/fetch1.sh)
#   BENCH_RC4_NS ["256 2048"], BENCH_RC4_REPS [1]   the rc4 load
#   BENCH_MSEOPEN_REPS [1], BENCH_MSEOPEN_CONNS [128]  the mseopen load: its
#                               window is twice BENCH_WINDOW, the openers (that
#                               many connections at once) in the second half
#   BENCH_V2_N [256], BENCH_V2_REPS [2], BENCH_HYBRID_HASH [v2]  the v2 load;
#                               the info-hash the hybrid row asks for (v1, v2)
#   BENCH_SCALE_N [10000], BENCH_SCALE_Q [8], BENCH_SCALE_RAMP [60],
#   BENCH_SCALE_ROWS ["ringseed-splice rtorrent"]   the scale load
#   BENCH_TR_REPS [1]           repetitions of Transmission's trickle rows (its
#                               runs take 16 s each)
#   BENCH_DRY [0]               1: print the plan and its time estimate, run nothing
#   BENCH_COUNTS [1], BENCH_COUNTS_N [256]  per-block counts (bench/counts.sh)
#                               of ringseed splice and rtorrent under each load
#                               (trickle, burst and rc4 at N = BENCH_COUNTS_N; not
#                               mseopen, v2 or scale); 0: none
#   BENCH_RESULTS [bench/results]  where TABLE.md and the PNGs go
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
for f in "$HERE"/seeders/*.sh; do . "$f"; done

LOADS=${BENCH_LOADS:-"trickle burst capped mixed wan rc4 mseopen v2 scale crowd hashspeed swarm fleet fetch1"}
REPS=${BENCH_REPS:-2}
BURST_REPS=${BENCH_BURST_REPS:-1}
CAPPED_N=${BENCH_CAPPED_N:-500}
CAPPED_RATE=${BENCH_CAPPED_RATE:-1M}
MIXED_N=${BENCH_MIXED_N:-256}
MIX=${BENCH_MIX:-90:500K,10:0}
WAN_N=${BENCH_WAN_N:-256}
RTT=${BENCH_RTT:-40ms}
CROWD_N=${BENCH_CROWD_N:-50}
CROWD_WINDOW=${BENCH_CROWD_WINDOW:-10}
SWARM_N=${BENCH_SWARM_N:-8}
SWARM_MIB=${BENCH_SWARM_MIB:-256}
SWARM_CAP=${BENCH_SWARM_CAP:-400}
SWARM_TIMEOUT=${BENCH_SWARM_TIMEOUT:-50}
SWARM_ROWS=${BENCH_SWARM_ROWS:-"rs-off rs-on rs-off-pex rs-on-pex rtorrent lt"}
FLEET_N=${BENCH_FLEET_N:-8}
FLEET_MIB=${BENCH_FLEET_MIB:-256}
FLEET_CAP=${BENCH_FLEET_CAP:-20}
FLEET_TIMEOUT=${BENCH_FLEET_TIMEOUT:-300}
FETCH1_MIB=${BENCH_FETCH1_MIB:-256}
RC4_NS=${BENCH_RC4_NS:-"256 2048"}
RC4_REPS=${BENCH_RC4_REPS:-1}
MSEOPEN_REPS=${BENCH_MSEOPEN_REPS:-1}
MSEOPEN_CONNS=${BENCH_MSEOPEN_CONNS:-128}
V2_N=${BENCH_V2_N:-256}
V2_REPS=${BENCH_V2_REPS:-2}
HYBRID_HASH=${BENCH_HYBRID_HASH:-v2}
SCALE_N=${BENCH_SCALE_N:-10000}
SCALE_Q=${BENCH_SCALE_Q:-8}
SCALE_RAMP=${BENCH_SCALE_RAMP:-60}
SCALE_ROWS=${BENCH_SCALE_ROWS:-"ringseed-splice rtorrent"}
TR_REPS=${BENCH_TR_REPS:-1}
DRY=${BENCH_DRY:-0}
COUNTS=${BENCH_COUNTS:-1}
COUNTS_N=${BENCH_COUNTS_N:-256}
NS=${BENCH_NS:-"1 16 256 2048"}
BURST_NS=${BENCH_BURST_NS:-"256 2048"}
WINDOW=${BENCH_WINDOW:-4}
WARMUP=${BENCH_WARMUP:-2}
WARMUP_BIG=${BENCH_WARMUP_BIG:-4}
TR_WARMUP=${BENCH_TR_WARMUP:-11}
QUEUE=${BENCH_QUEUE:-32}
RECV=discard
PORT_BASE=${BENCH_PORT_BASE:-23400}
ONLY=${BENCH_SEEDERS:-}
RESULTS=${BENCH_RESULTS:-$ROOT/bench/results}
IDLE_LIMIT=0.01       # cores: an idle seeder above this is started/stopped per run
DRAIN_TIMEOUT=8       # s: a seeder must have let go of every connection by then
WORKERS=$(nproc)

PY=/usr/bin/python3
B=$ROOT/build/bench
DATA_DIR=$B/data
# BENCH_DATA_MIB: a smaller file for a smoke run of the harness itself
DATA_MIB=${BENCH_DATA_MIB:-1024}
case $DATA_MIB in '' | *[!0-9]* | 0) die "BENCH_DATA_MIB wants MiB, got '$DATA_MIB'" ;; esac
STEM=bench-1g
[ "$DATA_MIB" = 1024 ] || STEM=bench-${DATA_MIB}m
DATA_NAME=$STEM.bin
DATA_FILE=$DATA_DIR/$DATA_NAME
TORRENT=$B/torrents/$STEM.torrent
RT_TORRENT=$B/torrents-rtorrent/$STEM.torrent
V2_TORRENT=$B/torrents/$STEM-v2.torrent
HY_TORRENT=$B/torrents/$STEM-hybrid.torrent
STAMP=$(date +%Y%m%d-%H%M%S)
RAW=$B/runs/$STAMP
T_START=$SECONDS
# The run uses copies of bin/ringseed and bin/ringseed-bench taken at the
# start, so that a rebuild in the work tree during the run changes nothing.
RINGSEED=$RAW/bin/ringseed
BENCH=$RAW/bin/ringseed-bench

# --- cleanup: every process started here dies with the harness --------------
CLEANED=0
cleanup() {
	[ "$CLEANED" = 1 ] && return
	CLEANED=1
	trap '' INT TERM HUP
	[ -n "$CHILD" ] && kill_group "$CHILD"
	local p
	for p in "${LAUNCHED[@]}"; do kill_group "$p"; done
	[ "${#LAUNCHED[@]}" -gt 0 ] && log "stopped every seeder"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM HUP

# --- prerequisites -----------------------------------------------------------
missing=()
need() { command -v "$1" > /dev/null 2>&1 || missing+=("$1 (package $2)"); }
# A full run needs every seeder; a partial one (BENCH_SEEDERS) only its own,
# and draws no plots when gnuplot is missing.
wants() { [ -z "$ONLY" ] || case " $ONLY " in *" $1 "* | *" $1-rc4 "*) return 0 ;; *) return 1 ;; esac; }
wants rtorrent && need rtorrent rtorrent
wants qbittorrent && need qbittorrent-nox qbittorrent-nox
wants aria2 && need aria2c aria2
wants transmission && need transmission-daemon transmission-daemon
wants transmission && need transmission-remote transmission-cli
{ wants nginx-16k || wants nginx-1m; } && need nginx nginx-light
if [ -z "$ONLY" ]; then
	need gnuplot gnuplot-nox
elif ! command -v gnuplot > /dev/null 2>&1; then
	export BENCH_NO_PLOTS=1
	log "gnuplot is missing: no plots for this partial run"
fi
need curl curl
need ss iproute2
[ -x "$PY" ] || missing+=("/usr/bin/python3 (package python3)")
[ -x "$PY" ] && ! "$PY" -c 'import libtorrent' 2> /dev/null && \
	missing+=("libtorrent for /usr/bin/python3 (package python3-libtorrent)")
if [ ${#missing[@]} -gt 0 ]; then
	for m in "${missing[@]}"; do log "missing: $m"; done
	[ "$DRY" = 1 ] || die "seeders or tools are missing; install them with: make bench-deps"
fi
[ -x "$ROOT/bin/ringseed" ] && [ -x "$ROOT/bin/ringseed-bench" ] || die "bin/ringseed or bin/ringseed-bench is missing: run make"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$RAW/json" "$RAW/seeders" "$RAW/bin" "$B/torrents" "$B/torrents-rtorrent" "$DATA_DIR" "$RESULTS"
cp "$ROOT/bin/ringseed" "$ROOT/bin/ringseed-bench" "$RAW/bin/" || die "cannot copy the binaries to $RAW/bin"
[ "$DRY" = 1 ] || ln -sfn "runs/$STAMP" "$B/latest"
# keep the raw results of the 10 newest runs
[ "$DRY" = 1 ] || ls -1d "$B"/runs/2*/ 2>/dev/null | head -n -10 | while read -r old; do rm -rf "$old"; done
log "raw results in ${RAW#"$ROOT"/}"

# --- the rows ------------------------------------------------------------------
# row id | instance | kind (bt|http) | http range | label
ROWS=()
for s in $(ringseed_strategies); do
	ROWS+=("ringseed-$s|ringseed-$s|bt||ringseed $s")
done
ROWS+=("rtorrent|rtorrent|bt||rtorrent"
	"qbittorrent|qbittorrent|bt||qBittorrent"
	"libtorrent|libtorrent|bt||libtorrent (python)"
	"aria2|aria2|bt||aria2"
	"transmission|transmission|bt||Transmission"
	"ringseed-rc4|ringseed-splice|bt-rc4||ringseed, 100% RC4 peers"
	"rtorrent-rc4|rtorrent-rc4|bt-rc4||rtorrent, encryption required, 100% RC4 peers"
	"libtorrent-rc4|libtorrent-rc4|bt-rc4||libtorrent, RC4 forced, 100% RC4 peers"
	"ringseed-churn|ringseed-splice|bt-churn||ringseed splice + MSE openings"
	"ringseed-v2|ringseed-v2|bt-v2||ringseed splice, v2 torrent"
	"ringseed-hybrid|ringseed-v2|bt-hybrid||ringseed splice, hybrid torrent")
NOTES=()
# (the help read whole first: with pipefail, grep -q ending early would fail the pipe)
if grep -q -- '--http' <<< "$("$BENCH" --help 2>&1)"; then
	ROWS+=("nginx-16k|nginx|http|16384|nginx, 16 KiB ranges"
		"nginx-1m|nginx|http|1048576|nginx, 1 MiB ranges")
else
	NOTES+=("nginx rows skipped: this ringseed-bench has no --http mode yet")
	log "nginx rows skipped: ringseed-bench has no --http mode yet"
fi
case " $(ringseed_strategies) " in *" send_zc "*) ;;
	*) NOTES+=("ringseed send_zc not measured: this build's check-config does not accept serve.send_strategy=send_zc") ;;
esac
if [ -n "$ONLY" ]; then
	keep=()
	for r in "${ROWS[@]}"; do
		case " $ONLY " in *" ${r%%|*} "*) keep+=("$r") ;; esac
	done
	ROWS=("${keep[@]}")
fi
[ ${#ROWS[@]} -gt 0 ] || die "no rows to measure (BENCH_SEEDERS='$ONLY')"

# row_field ROW K: the K-th field of a row (no fork: the estimate calls it often)
row_field() { local f; IFS='|' read -r -a f <<< "$1|"; echo "${f[$2 - 1]}"; }

# instance -> port offset
inst_port() {
	case $1 in
	ringseed-copy) echo $((PORT_BASE + 1)) ;; ringseed-splice) echo $((PORT_BASE + 2)) ;;
	ringseed-send_zc) echo $((PORT_BASE + 3)) ;; ringseed-v2) echo $((PORT_BASE + 4)) ;;
	rtorrent) echo $((PORT_BASE + 11)) ;; rtorrent-rc4) echo $((PORT_BASE + 12)) ;;
	qbittorrent) echo $((PORT_BASE + 21)) ;; libtorrent) echo $((PORT_BASE + 31)) ;;
	libtorrent-rc4) echo $((PORT_BASE + 32)) ;;
	aria2) echo $((PORT_BASE + 41)) ;; transmission) echo $((PORT_BASE + 51)) ;;
	nginx) echo $((PORT_BASE + 61)) ;;
	esac
}
inst_start() {
	local inst=$1 work=$RAW/seeders/$1 port
	port=$(inst_port "$inst")
	mkdir -p "$work"
	port_free "$port" || { log "$inst: port $port is already taken"; return 1; }
	case $inst in
	ringseed-v2) ringseed_start "$work" "$port" splice "$V2_TORRENT" "$HY_TORRENT" ;;
	ringseed-*) ringseed_start "$work" "$port" "${inst#ringseed-}" ;;
	*-rc4) "${inst%-rc4}_start" "$work" "$port" rc4 ;;
	*) "${inst}_start" "$work" "$port" ;;
	esac
}
inst_version() {
	case $1 in ringseed-*) ringseed_version ;; *) "${1%-rc4}_version" ;; esac
}

INSTANCES=()
for r in "${ROWS[@]}"; do
	i=$(row_field "$r" 2)
	case " ${INSTANCES[*]} " in *" $i "*) ;; *) INSTANCES+=("$i") ;; esac
done

# --- machine -----------------------------------------------------------------
{
	echo "nproc|$(nproc)"
	echo "cpu|$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
	echo "kernel|$(uname -sr)"
	echo "memory|$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
	echo "os|$(. /etc/os-release; echo "$PRETTY_NAME")"
	echo "loadavg|$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "date|$(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "reps|$REPS"
	echo "burst_reps|$BURST_REPS"
	echo "loads|$LOADS"
	echo "capped|$CAPPED_N|$CAPPED_RATE"
	echo "mixed|$MIXED_N|$MIX"
	echo "wan|$WAN_N|$RTT"
	echo "crowd|$CROWD_N|$CROWD_WINDOW"
	echo "rc4|$RC4_NS"
	echo "rc4_reps|$RC4_REPS"
	echo "mseopen|$MSEOPEN_CONNS"
	echo "v2|$V2_N"
	echo "v2_reps|$V2_REPS"
	echo "hybrid_hash|$HYBRID_HASH"
	echo "scale|$SCALE_N|$SCALE_Q"
	echo "scale_ramp|$SCALE_RAMP"
	echo "tr_reps|$TR_REPS"
	echo "counts_n|$COUNTS_N"
	echo "ns|$NS"
	echo "window|$WINDOW"
	echo "warmup|$WARMUP"
	echo "warmup_big|$WARMUP_BIG"
	echo "tr_warmup|$TR_WARMUP"
	echo "queue|$QUEUE"
	echo "recv|$RECV"
	echo "workers|$WORKERS"
} > "$RAW/machine.txt"
# Is another job using the machine right now? CPU busy over 2 s, from /proc/stat.
[ "$DRY" = 1 ] && busy=0 || busy=$( { head -1 /proc/stat; sleep 2; head -1 /proc/stat; } | awk -v hz="$(getconf CLK_TCK)" '
	{ b = $2 + $3 + $4 + $7 + $8 + $9; if (NR == 1) b0 = b; else printf "%.2f", (b - b0) / hz / 2 }')
echo "busy|$busy" >> "$RAW/machine.txt"
awk -v b="$busy" 'BEGIN { exit !(b > 0.2) }' && \
	log "warning: other processes use $busy cores before the start: the machine is shared (see 'other' in TABLE.md)"

# --- the runs ----------------------------------------------------------------------
# load_reps LOAD, load_ns LOAD, load_args LOAD: how often, at which N, with
# which ringseed-bench options; load_has LOAD KIND ROW: whether a row runs
# under the load (HTTP has no trickle and no --rtt: its requests go out in
# bursts; the rows of the later loads run under theirs only).
load_reps() {
	case $1 in
	trickle) echo "$REPS" ;; burst) echo "$BURST_REPS" ;; rc4) echo "$RC4_REPS" ;;
	mseopen) echo "$MSEOPEN_REPS" ;; v2) echo "$V2_REPS" ;; *) echo 1 ;;
	esac
}
load_ns() {
	case $1 in
	trickle) echo "$NS" ;; burst) echo "$BURST_NS" ;; capped) echo "$CAPPED_N" ;;
	mixed) echo "$MIXED_N" ;; wan) echo "$WAN_N" ;; rc4) echo "$RC4_NS" ;;
	mseopen) echo 256 ;; v2) echo "$V2_N" ;; scale) echo "$SCALE_N" ;;
	esac
}
load_args() {
	case $1 in
	trickle | mseopen | v2) echo "--requests trickle" ;; burst) echo "--requests burst" ;;
	capped) echo "--rate $CAPPED_RATE" ;; mixed) echo "--mix $MIX" ;;
	wan) echo "--rtt $RTT" ;; rc4) echo "--requests trickle --mse rc4 --ramp 10" ;;
	scale) echo "--requests trickle --ramp $SCALE_RAMP" ;;
	esac
}
load_has() {
	local load=$1 kind=$2 row=$3
	case $load in
	rc4) [ "$kind" = bt-rc4 ] ;;
	mseopen) [ "$kind" = bt-churn ] ;;
	v2) [ "$kind" = bt-v2 ] || [ "$kind" = bt-hybrid ] || [ "$row" = ringseed-splice ] ;;
	scale) case " $SCALE_ROWS " in *" $row "*) return 0 ;; *) return 1 ;; esac ;;
	trickle | wan) [ "$kind" = bt ] ;;
	*) [ "$kind" = bt ] || [ "$kind" = http ] ;;
	esac
}
# row_reps LOAD ROW: Transmission's trickle rows (16 s a run) run TR_REPS times
row_reps() {
	if [ "$1" = trickle ] && [ "$2" = transmission ] && [ "$TR_REPS" -lt "$REPS" ]; then
		echo "$TR_REPS"
	else
		load_reps "$1"
	fi
}
BENCH_LOADS_RUN=()
for l in $LOADS; do
	case $l in
	trickle | burst | capped | mixed | wan | rc4 | mseopen | v2 | scale) BENCH_LOADS_RUN+=("$l") ;;
	crowd | hashspeed | swarm | fleet | fetch1) ;;
	*) die "BENCH_LOADS: unknown load '$l' (trickle burst capped mixed wan rc4 mseopen v2 scale crowd hashspeed swarm fleet fetch1)" ;;
	esac
done
max_reps=1
for l in "${BENCH_LOADS_RUN[@]}"; do
	[ "$(load_reps "$l")" -gt "$max_reps" ] && max_reps=$(load_reps "$l")
done
# warmup_for INSTANCE N
warmup_for() {
	if [ "$1" = transmission ]; then echo "$TR_WARMUP"
	elif [ "$2" -ge 1024 ]; then echo "$WARMUP_BIG"
	else echo "$WARMUP"; fi
}
# run_secs LOAD ROW N: the estimate of one run, from its parameters: warm-up,
# window and a second (the bench's start and report, the drain); mseopen's
# window is doubled; the scale load adds its ramp (1,000 connections a second
# through the 256-deep opening window: 330 a second were seen on the busy
# machine, at N = 3000) and the drain of 10,000 sockets.
run_secs() {
	local load=$1 row=$2 n=$3 inst w
	inst=$(row_field "$(row_of "$row")" 2)
	w=$(warmup_for "$inst" "$n")
	case $load in
	mseopen) echo $((w + 2 * WINDOW + 1)) ;;
	scale) echo $((w + WINDOW + n / 1000 + 1 + DRAIN_TIMEOUT)) ;;
	*) echo $((w + WINDOW + 1)) ;;
	esac
}
row_of() { local r; for r in "${ROWS[@]}"; do [ "${r%%|*}" = "$1" ] && echo "$r" && return; done; }
total=0
est=0
declare -A EST_LOAD
for l in "${BENCH_LOADS_RUN[@]}"; do
	EST_LOAD[$l]=0
	for r in "${ROWS[@]}"; do
		row=$(row_field "$r" 1)
		load_has "$l" "$(row_field "$r" 3)" "$row" || continue
		for n in $(load_ns "$l"); do
			k=$(row_reps "$l" "$row")
			total=$((total + k))
			EST_LOAD[$l]=$((EST_LOAD[$l] + $(run_secs "$l" "$row" "$n") * k))
		done
	done
	est=$((est + EST_LOAD[$l]))
done
crowd_said=
case " $LOADS " in *" crowd "*) EST_LOAD[crowd]=$((2 * (CROWD_WINDOW + 30))); crowd_said=" and the crowd" ;; esac
# hashspeed.sh: openssl speed 2 x 1 s, create and two verifications of 1 GiB
case " $LOADS " in *" hashspeed "*) EST_LOAD[hashspeed]=20 ;; esac
# swarm.sh: a row takes at most SWARM_TIMEOUT, most far less, and its set-up
case " $LOADS " in *" swarm "*) EST_LOAD[swarm]=$(($(wc -w <<<"$SWARM_ROWS") * (SWARM_TIMEOUT / 2 + 10))) ;; esac
# fleet.sh: two rows of about twice size / cap, plus starting nine boxes each
case " $LOADS " in *" fleet "*) EST_LOAD[fleet]=$((2 * (2 * FLEET_MIB / FLEET_CAP + 30))) ;; esac
# fetch1.sh: three fetches of a few seconds each, their set-up and the seeder's check
case " $LOADS " in *" fetch1 "*) EST_LOAD[fetch1]=$((FETCH1_MIB / 8 + 40)) ;; esac
if [ "$COUNTS" = 1 ]; then
	nc=0
	for l in "${BENCH_LOADS_RUN[@]}"; do
		case $l in trickle | burst | capped | mixed | wan | rc4) nc=$((nc + 1)) ;; esac
	done
	EST_LOAD[counts]=$((2 * nc * (WARMUP + WINDOW + 5)))
	# rc4's counts wait for the ramp and run two seconds longer (counts.sh)
	case " ${BENCH_LOADS_RUN[*]} " in *" rc4 "*) EST_LOAD[counts]=$((EST_LOAD[counts] + 2 * 3)) ;; esac
	# scale: the ramp (as in run_secs) and the drain as well
	case " ${BENCH_LOADS_RUN[*]} " in *" scale "*)
		EST_LOAD[counts]=$((EST_LOAD[counts] + 2 * (WARMUP_BIG + WINDOW + 8 + SCALE_N / 1000 + DRAIN_TIMEOUT))) ;;
	esac
fi
# starting the seeders (rtorrent hash-checks 1 GiB twice), the idle measure
EST_LOAD[setup]=40
est=0
for l in "${!EST_LOAD[@]}"; do est=$((est + EST_LOAD[$l])); done
log "$total runs$crowd_said, about $((est / 60)) min $((est % 60)) s: $(for l in "${!EST_LOAD[@]}"; do printf '%s %d s, ' "$l" "${EST_LOAD[$l]}"; done | sed 's/, $//')"
echo "estimate|$est" >> "$RAW/machine.txt"
[ "$est" -le 1800 ] || log "warning: the estimate is over 30 minutes: trim repetitions (bench/README.md, \"make bench: the comparison\")"
if [ "$DRY" = 1 ]; then
	log "BENCH_DRY=1: nothing run"
	rm -rf "$RAW"
	exit 0
fi
# --- data, torrent, page cache -------------------------------------------------
if [ "$(stat -c %s "$DATA_FILE" 2>/dev/null)" != $((DATA_MIB * 1048576)) ]; then
	log "making $DATA_NAME ($DATA_MIB MiB of random data, once)"
	head -c "${DATA_MIB}M" /dev/urandom > "$DATA_FILE.tmp" && mv "$DATA_FILE.tmp" "$DATA_FILE" || die "cannot write $DATA_FILE"
fi
if [ ! -s "$TORRENT" ] || [ "$TORRENT" -ot "$DATA_FILE" ]; then
	log "making the .torrent (1 MiB pieces)"
	"$RINGSEED" create -q -f v1 -l 1048576 "$DATA_FILE" -o "$TORRENT" > /dev/null || die "ringseed create failed"
fi
if [ ! -s "$RT_TORRENT" ] || [ "$RT_TORRENT" -ot "$TORRENT" ]; then
	# rtorrent wants a tracker; same info dict, so the same info-hash.
	"$RINGSEED" create -q -f v1 -l 1048576 -a http://127.0.0.1:9/announce "$DATA_FILE" -o "$RT_TORRENT" > /dev/null \
		|| die "ringseed create failed"
fi
case " $LOADS " in *" v2 "*)
	for f in v2 hybrid; do
		t=$B/torrents/$STEM-$f.torrent
		if [ ! -s "$t" ] || [ "$t" -ot "$DATA_FILE" ]; then
			log "making the $f .torrent (1 MiB pieces)"
			"$RINGSEED" create -q -f "$f" -l 1048576 "$DATA_FILE" -o "$t" > /dev/null || die "ringseed create -f $f failed"
		fi
	done
	;;
esac
ih=$("$RINGSEED" info "$TORRENT" | awk '/^info-hash:/ {print $2}')
ih_rt=$("$RINGSEED" info "$RT_TORRENT" | awk '/^info-hash:/ {print $2}')
[ -n "$ih" ] && [ "$ih" = "$ih_rt" ] || die "the two .torrent files differ in info-hash ($ih, $ih_rt)"
echo "infohash|$ih" >> "$RAW/machine.txt"
cat "$DATA_FILE" > /dev/null
log "page cache: $(fincore -n -o RES,SIZE "$DATA_FILE" 2>/dev/null | awk '{print $1 " of " $2 " resident"}')"

# --- start the seeders -----------------------------------------------------------
declare -A POLICY STARTED_OK
: > "$RAW/versions.txt"
for inst in "${INSTANCES[@]}"; do
	log "starting $inst on 127.0.0.1:$(inst_port "$inst")"
	t0=$SECONDS
	if inst_start "$inst"; then
		STARTED_OK[$inst]=1
		log "$inst ready in $((SECONDS - t0)) s"
	else
		STARTED_OK[$inst]=0
		log "$inst did not start; its rows are skipped. Last lines of its log:"
		tail -n 5 "$RAW/seeders/$inst/log" 2>/dev/null >&2
		stop_instance "$RAW/seeders/$inst"
		NOTES+=("$inst did not start (log: build/bench/runs/$STAMP/seeders/$inst/log); its rows are missing")
	fi
	echo "$inst|$(inst_version "$inst")" >> "$RAW/versions.txt"
done

# Idle cost: CPU of each seeder over 5 s with no peers. A seeder that idles
# at more than IDLE_LIMIT cores would tax the others' runs: it is stopped and
# started again around each of its own runs instead.
sleep 1
declare -A T0
for inst in "${INSTANCES[@]}"; do
	[ "${STARTED_OK[$inst]}" = 1 ] && T0[$inst]=$(group_ticks "$(cat "$RAW/seeders/$inst/pid")")
done
sleep 5
hz=$(getconf CLK_TCK)
: > "$RAW/idle.txt"
for inst in "${INSTANCES[@]}"; do
	[ "${STARTED_OK[$inst]}" = 1 ] || continue
	t1=$(group_ticks "$(cat "$RAW/seeders/$inst/pid")")
	idle=$(awk -v a="${T0[$inst]}" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.4f", (b - a) / hz / 5 }')
	if awk -v i="$idle" -v l="$IDLE_LIMIT" 'BEGIN { exit !(i > l) }'; then
		POLICY[$inst]=restart
		stop_instance "$RAW/seeders/$inst"
	else
		POLICY[$inst]=keep
	fi
	echo "$inst|$idle|${POLICY[$inst]}" >> "$RAW/idle.txt"
	log "$inst idles at $idle cores: ${POLICY[$inst]}"
done

# mseopen_start PORT PID JSON W: in the second half of the window, a second
# ringseed-bench opens MSE (RC4) connections from its own addresses, each
# closing as soon as the seeder's handshake has come (DH, IA, handshake:
# --churn), MSEOPEN_CONNS at once; its report counts the handshakes in its
# window and the master's own CPU time (--master-pid: ringseed's master runs
# every MSE handshake). Its pid in OPENER.
mseopen_start() {
	local port=$1 pid=$2 json=$3 w=$4
	setsid bash -c 'sleep "$1"; shift; exec "$@"' opener "$((w + WINDOW))" \
		timeout -k 5 $((WINDOW + 60)) "$BENCH" -t "$TORRENT" -c "127.0.0.1:$port" --churn --mse rc4 \
		-n "$MSEOPEN_CONNS" --max-opening "$MSEOPEN_CONNS" -d "$(awk -v w="$WINDOW" 'BEGIN { print w - 0.5 }')" \
		--warmup 0.5 --src 127.1.0.2-127.1.255.254 --seeder-pid "$pid" --master-pid "$pid" \
		--json --quiet > "${json%.json}.opener.json" 2> "${json%.json}.opener.err" &
	OPENER=$!
}

: > "$RAW/runs.tsv"
: > "$RAW/commands.txt"
idx=0
# one_run LOAD ROW N REP: one ringseed-bench run, its JSON, its line in runs.tsv
one_run() {
	local load=$1 r=$2 n=$3 rep=$4 row inst kind range work port json pid w cmd rc summary
	row=$(row_field "$r" 1); inst=$(row_field "$r" 2); kind=$(row_field "$r" 3); range=$(row_field "$r" 4)
	work=$RAW/seeders/$inst
	port=$(inst_port "$inst")
	json=$RAW/json/${load}__${row}__n${n}__r${rep}.json
	idx=$((idx + 1))
	[ "${STARTED_OK[$inst]}" = 1 ] || { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$n" "$rep" "nostart" "" "$load" >> "$RAW/runs.tsv"; return; }
	if [ ! -s "$work/pid" ]; then
		if ! inst_start "$inst"; then
			log "$inst did not start again"
			stop_instance "$work"
			printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$n" "$rep" "nostart" "" "$load" >> "$RAW/runs.tsv"
			return
		fi
	fi
	pid=$(cat "$work/pid")
	w=$(warmup_for "$inst" "$n")
	local torrent=$TORRENT q=$QUEUE dur=$WINDOW extra=()
	case $kind in
	bt-v2) torrent=$V2_TORRENT ;;
	bt-hybrid) torrent=$HY_TORRENT; extra=(--info-hash "$HYBRID_HASH") ;;
	esac
	[ "$load" = scale ] && q=$SCALE_Q
	# mseopen: the window twice as long, split in the middle (the openers in its second half)
	[ "$load" = mseopen ] && dur=$((2 * WINDOW)) && extra+=(--split "$WINDOW")
	if [ "$kind" = http ]; then
		cmd=("$BENCH" --http "127.0.0.1:$port/$DATA_NAME" --range "$range")
	else
		# shellcheck disable=SC2046
		cmd=("$BENCH" -t "$torrent" -c "127.0.0.1:$port" --recv "$RECV" $(load_args "$load"))
	fi
	[ "$kind" = http ] && [ "$load" != burst ] && cmd+=($(load_args "$load"))
	cmd+=("${extra[@]}" -n "$n" -q "$q" -d "$dur" --warmup "$w" --seeder-pid "$pid" --json --quiet)
	printf '%s:%s n=%s rep=%s: %s\n' "$load" "$row" "$n" "$rep" "${cmd[*]}" >> "$RAW/commands.txt"
	OPENER=
	[ "$kind" = bt-churn ] && mseopen_start "$port" "$pid" "$json" "$w"
	run_bg $((w + dur + SCALE_RAMP + 60)) "$json" "${json%.json}.err" "${cmd[@]}"
	rc=$?
	if [ -n "$OPENER" ]; then
		# its window ends with the download's, a few ms later: let it report
		for _ in $(seq 50); do kill -0 "$OPENER" 2>/dev/null || break; sleep 0.1; done
		kill_group "$OPENER"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$row" "$n" "$rep" "$rc" "$json" "$load" >> "$RAW/runs.tsv"
	summary=$("$PY" -c '
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    c = d["connections"]; s = d.get("seeder") or {}
    print("%8.1f MB/s %7.1f MB/cpu-s  held %d/%d  other %.2f%s" % (d["throughput"]["MBps"],
          s.get("MB_per_cpu_s", 0), c["held"], c["target"], d["machine"]["other_cores"],
          "" if d["ok"] else "  (" + d["error"] + ")"))
except Exception as e:
    print("no JSON (%s)" % e)' "$json" 2>&1)
	log "[$idx/$total] rep $rep $load n=$n $row: rc $rc $summary"
	if [ "${POLICY[$inst]}" = restart ]; then
		stop_instance "$work"
	elif [ "$load" = scale ]; then
		# 10,000 sockets take a while to go; a seeder still holding some after
		# 30 s is restarted once, not from then on around each of its runs
		if ! wait_drained "$port" 30; then
			log "$inst still holds $(busy_sockets "$port") sockets 30 s after the scale run: restarting it"
			stop_instance "$work"
		fi
	elif ! wait_drained "$port" "$DRAIN_TIMEOUT"; then
		log "$inst still holds $(busy_sockets "$port") sockets ${DRAIN_TIMEOUT} s after the run: restarting it, and from now on around each of its runs"
		POLICY[$inst]=restart
		echo "$inst|drain|restart" >> "$RAW/idle.txt"
		stop_instance "$work"
	fi
}
for rep in $(seq "$max_reps"); do
	# rotate the seeder order by one row per repetition
	order=()
	nrows=${#ROWS[@]}
	for k in $(seq 0 $((nrows - 1))); do
		order+=("${ROWS[$(((k + rep - 1) % nrows))]}")
	done
	for load in "${BENCH_LOADS_RUN[@]}"; do
		[ "$rep" -le "$(load_reps "$load")" ] || continue
		for n in $(load_ns "$load"); do
			for r in "${order[@]}"; do
				load_has "$load" "$(row_field "$r" 3)" "$(row_field "$r" 1)" || continue
				[ "$rep" -le "$(row_reps "$load" "$(row_field "$r" 1)")" ] || continue
				one_run "$load" "$r" "$n" "$rep"
			done
		done
	done
done

# --- per-block counts: ringseed splice and rtorrent under each load (counts.sh) -------
if [ "${COUNTS:-1}" = 1 ]; then
	mkdir -p "$RAW/counts"
	for load in "${BENCH_LOADS_RUN[@]}"; do
		# mseopen and v2: the serving path of trickle (and the openers would
		# share the window)
		case $load in mseopen | v2) continue ;; esac
		for inst in ringseed-splice rtorrent; do
			[ "$load" = rc4 ] && [ "$inst" = rtorrent ] && inst=rtorrent-rc4
			case " ${INSTANCES[*]} " in *" $inst "*) ;; *) continue ;; esac
			[ "${STARTED_OK[$inst]}" = 1 ] || continue
			work=$RAW/seeders/$inst
			[ -s "$work/pid" ] || inst_start "$inst" || { stop_instance "$work"; continue; }
			port=$(inst_port "$inst")
			n=$COUNTS_N
			q=$QUEUE
			case $load in capped) n=$CAPPED_N ;; mixed) n=$MIXED_N ;; wan) n=$WAN_N ;;
			scale) n=$SCALE_N; q=$SCALE_Q
				case " $SCALE_ROWS " in *" $inst "*) ;; *) continue ;; esac ;;
			esac
			out=$RAW/counts/${load}__${inst}.json
			# shellcheck disable=SC2046
			cmd=("$ROOT/bench/counts.sh" -s "$(cat "$work/pid")" -c "127.0.0.1:$port" -t "$TORRENT"
				-w "$(warmup_for "$inst" "$n")" -d "$WINDOW" --json -- -n "$n" -q "$q" --recv "$RECV" $(load_args "$load"))
			printf 'counts:%s:%s: %s\n' "$load" "$inst" "${cmd[*]}" >> "$RAW/commands.txt"
			BENCH=$BENCH run_bg $((WARMUP + WINDOW + SCALE_RAMP + 60)) "$out" "${out%.json}.err" "${cmd[@]}"
			rc=$?
			log "counts $load $inst (N=$n): rc $rc $("$PY" -c 'import json, sys
try:
    pb = json.load(open(sys.argv[1]))["per_block"]
    f = lambda v: "-" if v is None else "%.3f" % v
    print("per block: %s segments, %s syscalls, %s wake-ups" % (f(pb["seeder_segs"]), f(pb["syscalls"]), f(pb["voluntary_ctxt_switches"])))
except Exception as e:
    print("no JSON (%s)" % e)' "$out" 2>&1)"
			if [ "${POLICY[$inst]}" = restart ]; then stop_instance "$work"; else wait_drained "$port" "$DRAIN_TIMEOUT"; fi
		done
	done
fi

for inst in "${INSTANCES[@]}"; do stop_instance "$RAW/seeders/$inst"; done

# --- the real-client crowd: its own seeders, one at a time, on a 64 MiB file ---------
case " $LOADS " in *" crowd "*)
	crowd_seeders=
	case " $ONLY " in "  " | *" ringseed-splice "*) crowd_seeders="ringseed" ;; esac
	case " $ONLY " in "  " | *" rtorrent "*) crowd_seeders="$crowd_seeders rtorrent" ;; esac
	if [ -n "$crowd_seeders" ]; then
		mkdir -p "$RAW/crowd"
		log "the crowd: $CROWD_N libtorrent leechers against $crowd_seeders"
		echo "crowd: RINGSEED=RUN/bin/ringseed bench/crowd.sh -n $CROWD_N -d $CROWD_WINDOW --seeders \"$crowd_seeders\" --out RUN/crowd" >> "$RAW/commands.txt"
		RINGSEED=$RINGSEED BENCH=$BENCH run_bg $((3 * CROWD_WINDOW + 300)) "$RAW/crowd/out.txt" "$RAW/crowd/err.txt" \
			"$ROOT/bench/crowd.sh" -n "$CROWD_N" -d "$CROWD_WINDOW" --seeders "$crowd_seeders" --out "$RAW/crowd" \
			|| NOTES+=("the crowd did not finish as asked (build/bench/runs/$STAMP/crowd/err.txt)")
		tail -n 3 "$RAW/crowd/out.txt" >&2
	fi
	;;
esac
# --- hashing speed: create and verify v1, v2, hybrid against openssl (hashspeed.sh) ---
case " $LOADS " in *" hashspeed "*)
	log "hashing speed: bench/hashspeed.sh on $DATA_NAME"
	echo "hashspeed: RINGSEED=RUN/bin/ringseed bench/hashspeed.sh --data $DATA_FILE --json" >> "$RAW/commands.txt"
	RINGSEED=$RINGSEED run_bg 300 "$RAW/hashspeed.json" "$RAW/hashspeed.err" \
		"$ROOT/bench/hashspeed.sh" --data "$DATA_FILE" --json \
		|| NOTES+=("hashspeed.sh did not finish (build/bench/runs/$STAMP/hashspeed.err)")
	;;
esac
# --- the swarm: leechers trading among themselves, the seeder's upload capped ------------
case " $LOADS " in *" swarm "*)
	mkdir -p "$RAW/swarm"
	log "the swarm: $SWARM_N libtorrent leechers, $SWARM_MIB MiB, seeders capped at $SWARM_CAP Mbit/s"
	echo "swarm: RINGSEED=RUN/bin/ringseed bench/swarm.sh -n $SWARM_N --size $SWARM_MIB --cap $SWARM_CAP --timeout $SWARM_TIMEOUT --rows \"$SWARM_ROWS\" --out RUN/swarm" >> "$RAW/commands.txt"
	RINGSEED=$RINGSEED run_bg $((8 * SWARM_TIMEOUT + 120)) "$RAW/swarm/out.txt" "$RAW/swarm/err.txt" \
		"$ROOT/bench/swarm.sh" -n "$SWARM_N" --size "$SWARM_MIB" --cap "$SWARM_CAP" \
		--timeout "$SWARM_TIMEOUT" --rows "$SWARM_ROWS" --out "$RAW/swarm"
	case $? in
	0) ;;
	77) NOTES+=("the swarm was skipped: $(tail -n 1 "$RAW/swarm/err.txt")") ;;
	*) NOTES+=("the swarm did not finish as asked (build/bench/runs/$STAMP/swarm/err.txt)") ;;
	esac
	tail -n 9 "$RAW/swarm/out.txt" >&2
	;;
esac
# --- the fleet: an origin capped, edges fetching from it and from each other -------------
case " $LOADS " in *" fleet "*)
	mkdir -p "$RAW/fleet"
	log "the fleet: 1 origin + $FLEET_N edges, $FLEET_MIB MiB, origin capped at $FLEET_CAP MiB/s"
	echo "fleet: RINGSEED=RUN/bin/ringseed bench/fleet.sh -n $FLEET_N --size $FLEET_MIB --cap $FLEET_CAP --timeout $FLEET_TIMEOUT --out RUN/fleet" >> "$RAW/commands.txt"
	RINGSEED=$RINGSEED run_bg $((2 * FLEET_TIMEOUT + 120)) "$RAW/fleet/out.txt" "$RAW/fleet/err.txt" \
		"$ROOT/bench/fleet.sh" -n "$FLEET_N" --size "$FLEET_MIB" --cap "$FLEET_CAP" \
		--timeout "$FLEET_TIMEOUT" --out "$RAW/fleet"
	case $? in
	0) ;;
	77) NOTES+=("the fleet was skipped: $(tail -n 1 "$RAW/fleet/err.txt")") ;;
	*) NOTES+=("the fleet did not finish as asked (build/bench/runs/$STAMP/fleet/err.txt)") ;;
	esac
	tail -n 4 "$RAW/fleet/out.txt" >&2
	;;
esac
# --- one fetch from one local seeder: ringseed fetch, aria2c, libtorrent ----------------
case " $LOADS " in *" fetch1 "*)
	mkdir -p "$RAW/fetch1"
	log "one fetch: $FETCH1_MIB MiB from a local seeder"
	echo "fetch1: RINGSEED=RUN/bin/ringseed bench/fetch1.sh --size $FETCH1_MIB --out RUN/fetch1" >> "$RAW/commands.txt"
	RINGSEED=$RINGSEED run_bg 600 "$RAW/fetch1/out.txt" "$RAW/fetch1/err.txt" \
		"$ROOT/bench/fetch1.sh" --size "$FETCH1_MIB" --out "$RAW/fetch1" ||
		NOTES+=("the single fetch did not finish (build/bench/runs/$STAMP/fetch1/err.txt)")
	tail -n 5 "$RAW/fetch1/out.txt" >&2
	;;
esac
printf '%s\n' "${NOTES[@]}" > "$RAW/notes.txt"
echo "elapsed|$((SECONDS - T_START))" >> "$RAW/machine.txt"
log "aggregating"
"$PY" "$HERE/aggregate.py" "$RAW" "$RESULTS" || die "aggregate.py failed"
log "done in $(((SECONDS - T_START) / 60)) min $(((SECONDS - T_START) % 60)) s: ${RESULTS#"$ROOT"/}/TABLE.md, throughput.png, efficiency.png"
