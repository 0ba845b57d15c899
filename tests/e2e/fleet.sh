#!/usr/bin/env bash
# timeout: 60
#
# The fleet smoke: one origin ringseed (127.0.1.1, with the built-in
# tracker) and three edge ringseeds (127.0.1.2-4), each with its own
# directories, listening, connecting and announcing from its own address.
# A 6 MiB release is served by the origin, its upload capped at 3 MiB/s
# (serve.max_upload_rate); each edge has only its .torrent and fetches it
# (fetch.enable) from the peers the origin's tracker gives: the origin and
# the other edges, which upload what they verified while they fetch (the
# master hands a peer for a torrent being fetched to its fetcher). Every
# edge must have it byte-exact and "verified from state", the edges must
# have uploaded to each other, and the origin must have uploaded less than
# FLEET_MAX_UP (2.0) times the release: without uploading while fetching
# each edge takes the whole release from the origin (3.0x). The time until
# the last edge has it is printed (a smoke on a contended machine, not a
# figure; bench/fleet.sh measures).
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1
"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.1.4", 0))' 2>/dev/null ||
	{ echo "skip: cannot bind 127.0.1.4 (loopback is not 127.0.0.0/8 here)"; exit 77; }

EDGES=3
SIZE=$((6 * 1048576 + 3))
FLEET_MAX_UP=${FLEET_MAX_UP:-2.0}
PORT=$(free_port)
TP=$(free_port)
declare -a DIRS PIDS LOGS ADMINS

# fleet_start N: instance N (0 = origin) on 127.0.1.(N+1):PORT
fleet_start() {
	local n=$1 dir=$work/box$1 ip=127.0.1.$(($1 + 1))
	shift
	S_DIR=$dir S_LOG=$dir/serve.1.log
	env --default-signal=INT "$RINGSEED" serve -c "$dir/ringseed.conf" --listen "$ip:$PORT" \
		"$@" 2>"$S_LOG" &
	S_PID=$!
	serve_all_pids+=("$S_PID")
	DIRS[n]=$dir PIDS[n]=$S_PID LOGS[n]=$S_LOG ADMINS[n]=$S_ADMIN
	wait_until 20 grep -q ' ready: ' "$S_LOG" || { fail "box $n not ready"; show_tail "$S_LOG"; return 1; }
}
fleet_use() {
	S_DIR=${DIRS[$1]} S_PID=${PIDS[$1]} S_LOG=${LOGS[$1]} S_ADMIN=${ADMINS[$1]}
}

serve_init "$work/box0"
"$PY" "$LT" mkfile "$S_DIR/data/rel.bin" "$SIZE" || exit 1
S_PL=64K serve_torrent "$S_DIR/data/rel.bin" rel.bin -a "http://127.0.1.1:$TP/announce" || exit 1
serve_conf_add "[announce]" "min_interval = 1" "[serve]" "max_upload_rate = 3M"
fleet_start 0 --tracker-listen "127.0.1.1:$TP" || exit 1
serve_wait_stat announces 1 10 || fail "the origin did not announce to its tracker"
for ((i = 1; i <= EDGES; i++)); do
	serve_init "$work/box$i"
	cp "$work/box0/torrents/rel.bin.torrent" "$S_DIR/torrents/"
	serve_conf_add "[announce]" "min_interval = 1"
done
t0=$(date +%s.%N)
for ((i = 1; i <= EDGES; i++)); do
	S_ADMIN=$(sed -n 's/^listen = 127.0.0.1:\([0-9]*\)$/\1/p' "$work/box$i/ringseed.conf" | head -n 1)
	fleet_start "$i" || exit 1
done
for ((i = 1; i <= EDGES; i++)); do
	fleet_use "$i"
	serve_wait_log 'torrent rel.bin: verified from state' 30 ||
		{ fail "edge $i did not get the release"; show_tail "$S_LOG"; }
done
t1=$(date +%s.%N)
for ((i = 1; i <= EDGES; i++)); do
	tree_cmp "$work/box0/data/rel.bin" "$work/box$i/data/rel.bin" || fail "edge $i differs"
	grep -q 'hashed' "${LOGS[i]}" && fail "edge $i hashed fetched content"
done
fleet_use 0
up=$(serve_stat up_bytes)
# What the edges' fetchers uploaded, from the line each logs when complete.
eup=$(cat "${LOGS[@]:1}" | sed -n 's/.*fetch: rel.bin: complete .* up_bytes=\([0-9]*\).*/\1/p' |
	awk '{ s += $1 } END { print s + 0 }')
echo "fleet: $EDGES edges had $SIZE bytes after $(echo "$t1 - $t0" | bc) s; the origin uploaded ${up:-?} bytes ($(echo "scale=2; ${up:-0} / $SIZE" | bc) x the release), the edges ${eup} bytes to each other while fetching"
[ "${eup}" -gt 0 ] || fail "the edges uploaded nothing to each other while fetching"
handed=0
for ((i = 1; i <= EDGES; i++)); do
	fleet_use "$i"
	handed=$((handed + $(serve_stat peers_fetch || echo 0)))
done
echo "fleet: the edges' masters handed $handed peers to their fetchers"
[ "$handed" -gt 0 ] || fail "no edge handed a peer to its fetcher (peers_fetch)"
fleet_use 0
[ -n "$up" ] && [ "$(echo "$up < $FLEET_MAX_UP * $SIZE" | bc)" = 1 ] ||
	fail "the origin uploaded ${up:-?} bytes: not under $FLEET_MAX_UP x the release"
for ((i = EDGES; i >= 0; i--)); do
	fleet_use "$i"
	serve_stop || fail "box $i did not stop cleanly"
	serve_logs_clean || fail "sanitizer report in box $i"
done
[ "$fails" -eq 0 ]
