#!/usr/bin/env bash
#
# many_torrents.sh - how `ringseed serve` starts and stops with many torrents.
#
#   bench/many_torrents.sh [-n N] [-s SIZE] [-w WORKERS] [--keep]
#
#   -n N        torrents (default 10000), one file of SIZE bytes each
#   -s SIZE     bytes per file (default 16384: one piece)
#   -w WORKERS  seeder workers (default 2)
#   --keep      keep the work directory
#
# 1. Makes N files and their .torrent files (tests/lib/mktorrents.py) in a
#    fresh directory under $TMPDIR.
# 2. First start (every piece hashed, every state file written): the time
#    from exec to the `ready:` line, and to the last worker having taken
#    every torrent (the workers' ADD backlog drained, seen as the master's
#    channels empty: /metrics says every worker is up and peers work).
# 3. Quit (SIGTERM): from the signal to exit; whether any worker was killed
#    (the `killing them` line) rather than finishing.
# 4. Second start (from the state files) and quit, timed the same way.
# 5. One more .torrent dropped into the watched directory: how long until it
#    seeds (a rescan of N files).
# Times come from the log's own timestamps (milliseconds).
set -u
N=10000 SIZE=16384 WORKERS=2 KEEP=
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	-s) SIZE=$2; shift 2 ;;
	-w) WORKERS=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [-n N] [-s SIZE] [-w WORKERS] [--keep]" >&2; exit 2 ;;
	esac
done
TOP=$(cd "$(dirname "$0")/.." && pwd)
RINGSEED=${RINGSEED:-$TOP/bin/ringseed}
PY=/usr/bin/python3
work=$(mktemp -d "${TMPDIR:-/tmp}/many.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	if [ -n "$KEEP" ]; then echo "kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
port=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

t=$(date +%s%3N)
"$PY" "$TOP/tests/lib/mktorrents.py" "$work/data" "$work/torrents" "$N" "$SIZE" 16384 || exit 1
echo "made $N torrents of $SIZE bytes in $(($(date +%s%3N) - t)) ms"
mkdir -p "$work/state"
sleep 2.1 # past the racy-timestamp window (master/content/verify.h)

# ms_of REGEX LOG: the log time of the first line matching REGEX, in ms
ms_of() { local ts; ts=$(grep -m1 -E -- "$1" "$2" | cut -d' ' -f1); [ -n "$ts" ] && date -d "$ts" +%s%3N; }

# run TAG: one start and quit; prints the figures
run() {
	local tag=$1 log=$work/$1.log t0 tr tq te rc
	t0=$(date +%s%3N)
	"$RINGSEED" serve --listen "127.0.0.1:$port" --torrents "$work/torrents" --data "$work/data" \
		--state "$work/state" -w "$WORKERS" -u "$(id -un)" -o "admin.listen=127.0.0.1:$admin" \
		-o serve.stats_interval=0 2>"$log" &
	pid=$!
	while ! grep -q ' ready: ' "$log" && kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
	tr=$(ms_of ' ready: ' "$log") || { echo "$tag: no ready line"; tail -5 "$log"; return 1; }
	echo "$tag: ready $((tr - t0)) ms after exec ($(grep -m1 ' ready: ' "$log" | sed 's/.*ready: //'))"
	if [ "$tag" = second ]; then
		sleep 1
		local tn=$(date +%s%3N)
		cp "$work/data/t00000.bin" "$work/data/extra.bin"
		"$RINGSEED" create -q -f v1 -l 16K "$work/data/extra.bin" -o "$work/extra.torrent" >/dev/null &&
			mv "$work/extra.torrent" "$work/torrents/extra.bin.torrent"
		while ! grep -qE ' torrent extra.bin [0-9a-f]+: .*seeding' "$log"; do sleep 0.02; done
		echo "$tag: a torrent dropped into the directory seeds $(($(ms_of ' torrent extra.bin [0-9a-f]+: .*seeding' "$log") - tn)) ms later"
		grep -E ' rescan: ' "$log" | sed 's/.*notice: /    /'
	fi
	sleep 2
	tq=$(date +%s%3N)
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	pid=
	te=$(ms_of ' bye$' "$log")
	echo "$tag: quit in $((te - tq)) ms (exit $rc)$(grep -q 'killing them' "$log" && echo '; workers KILLED')"
	grep -E ' (error|alert|warning): ' "$log" | head -3 | sed 's/^/    /'
}
run first
run second
