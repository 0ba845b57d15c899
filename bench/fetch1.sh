#!/usr/bin/env bash
#
# fetch1.sh - one fetch from one fast local seeder: ringseed fetch against
# aria2c and python3-libtorrent. See "One fetch" in bench/README.md.
#
#   bench/fetch1.sh [--size MIB] [--rows "ringseed aria2c lt"] [--out DIR] [--keep]
#
#   --size MIB  the torrent's one random file, 1 MiB pieces (default 256)
#   --rows R    which clients (default: all three)
#   --out DIR   also write DIR/fetch1.json (bench/compare/run.sh does)
#
# The seeder is ringseed serve on 127.0.0.1 (uncapped, one worker), also
# announcing to its built-in tracker, which the torrent names: aria2c has no
# way to be given a peer, so every client finds the seeder there (ringseed
# fetch is given it with --peer as well). Each client starts with an empty
# directory and ends once the content is complete and checked; per row the
# wall seconds, MB/s (10^6 bytes) and the client's CPU seconds (user + sys,
# /usr/bin/time) per GB. On a busy machine the seeder competes with the
# client: the figures are a floor.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
SIZE=256
ROWS="ringseed aria2c lt"
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
	--size) SIZE=${2:-}; shift 2 ;;
	--rows) ROWS=${2:-}; shift 2 ;;
	--out) OUT=${2:-}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) usage ;;
	esac
done
[[ $SIZE =~ ^[1-9][0-9]*$ ]] || { echo "fetch1.sh: --size $SIZE: want a positive integer" >&2; exit 2; }
[ -x "$RINGSEED" ] || { echo "fetch1.sh: $RINGSEED is missing: run make" >&2; exit 2; }
log() { printf '[fetch1 %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

RAW=$(mktemp -d "${TMPDIR:-/tmp}/fetch1.XXXXXX") || exit 2
SPID=
cleanup() {
	[ -n "$SPID" ] && kill -INT "$SPID" 2>/dev/null && wait "$SPID" 2>/dev/null
	[ -n "$KEEP" ] && echo "fetch1.sh: kept $RAW" >&2 || rm -rf "$RAW"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
free_port() {
	"$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(free_port)
TP=$(free_port)
ADMIN=$(free_port)
user=
[ "$(id -u)" -ne 0 ] || user='user = root'
name=one.bin
mkdir -p "$RAW/s/data" "$RAW/s/torrents" "$RAW/s/state"
head -c $((SIZE << 20)) /dev/urandom >"$RAW/s/data/$name" || exit 2
"$RINGSEED" create -q -f v1 -l 1M "$RAW/s/data/$name" -o "$RAW/s/torrents/$name.torrent" \
	-a "http://127.0.0.1:$TP/announce" || exit 2
cat >"$RAW/s/ringseed.conf" <<CONF
[core]
workers = 1
$user
[admin]
listen = 127.0.0.1:$ADMIN
[net]
listen = 127.0.0.1:$PORT
[announce]
min_interval = 1
[paths]
data_dir = $RAW/s/data
torrents_dir = $RAW/s/torrents
state_dir = $RAW/s/state
CONF
"$RINGSEED" serve -c "$RAW/s/ringseed.conf" --tracker-listen "127.0.0.1:$TP" 2>"$RAW/s/log" &
SPID=$!
for _ in $(seq 300); do grep -q ' ready: ' "$RAW/s/log" && break; sleep 0.1; done
grep -q ' ready: ' "$RAW/s/log" || { log "the seeder did not start"; exit 1; }
sleep 2 # its announce
T=$RAW/s/torrents/$name.torrent

results=()
for row in $ROWS; do
	d=$RAW/c-$row
	mkdir -p "$d/data" "$d/state"
	case $row in
	ringseed) cmd=("$RINGSEED" fetch "$T" -d "$d/data" -s "$d/state" --peer "127.0.0.1:$PORT"
		--exit-when-done -o "net.listen=127.0.0.1:$(free_port)") ;;
	aria2c)
		command -v aria2c >/dev/null || { log "aria2c: not installed, skipped"; continue; }
		cmd=(aria2c -q -d "$d/data" --seed-time=0 --enable-dht=false --enable-dht6=false
			--bt-enable-lpd=false --enable-peer-exchange=false --bt-require-crypto=false
			--file-allocation=falloc --check-integrity=false --listen-port="$(free_port)" "$T") ;;
	lt)
		"$PY" -c 'import libtorrent' 2>/dev/null || { log "lt: no python3-libtorrent, skipped"; continue; }
		cmd=("$PY" "$here/swarm.py" leech --torrent "$T" --n 1 --net 0 --seed "127.0.0.1:$PORT"
			--save "$d/data" --out "$d/lt.json" --timeout 300) ;;
	*) log "$row: unknown row, skipped"; continue ;;
	esac
	log "$row: fetching $SIZE MiB"
	/usr/bin/time -f '%e %U %S' -o "$d/time" "${cmd[@]}" >"$d/out" 2>&1
	rc=$?
	f=$(find "$d/data" -name "$name" -type f | head -n 1)
	ok=0
	[ "$rc" = 0 ] && [ -n "$f" ] && cmp -s "$f" "$RAW/s/data/$name" && ok=1
	read -r wall usr sys < <(tail -n 1 "$d/time")
	line=$("$PY" -c '
import json, sys
row, wall, usr, sys_, size, ok = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), sys.argv[6] == "1"
b = size << 20
print(json.dumps({"row": row, "wall_s": wall, "MB_s": b / 1e6 / wall if wall else None,
                  "cpu_s": usr + sys_, "cpu_s_per_GB": (usr + sys_) / (b / 1e9), "ok": ok}))' \
		"$row" "${wall:-0}" "${usr:-0}" "${sys:-0}" "$SIZE" "$ok")
	results+=("$line")
	log "$row: $line"
	rm -rf "$d/data"
done
"$PY" - "$SIZE" "${OUT:-}" "${results[@]}" <<'PYEOF'
import json, sys
size, out = int(sys.argv[1]), sys.argv[2]
rows = [json.loads(x) for x in sys.argv[3:]]
if out:
    json.dump({"size_mib": size, "rows": rows}, open(out + "/fetch1.json", "w"), indent=1)
print("fetch1: one %d MiB torrent from one local ringseed seeder" % size)
print("  %-9s %8s %9s %12s %4s" % ("client", "wall", "MB/s", "CPU s / GB", "ok"))
for r in rows:
    print("  %-9s %7.1fs %9.1f %12.2f %4s" % (r["row"], r["wall_s"], r["MB_s"] or 0, r["cpu_s_per_GB"],
                                          "yes" if r["ok"] else "no"))
PYEOF
