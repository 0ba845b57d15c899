#!/usr/bin/env bash
#
# swarm.sh - what super-seeding (and PEX) buy a seeder whose upload is the
# scarce thing: M python3-libtorrent leechers download one torrent from one
# seeder whose upload is capped, and trade pieces among themselves. See
# "The swarm" in bench/README.md.
#
#   bench/swarm.sh [-n M] [--size MIB] [--cap MBIT] [--rows "..."]
#                  [--timeout S] [--out DIR] [--keep]
#
#   -n M        leechers (default 8), each a libtorrent session of its own on
#               127.0.50.(10+i)
#   --size MIB  the torrent's one file, random (default 256), 1 MiB pieces
#   --cap MBIT  the seeder's upload, Mbit/s (default 400, 50 MB/s)
#   --rows R    which rows (default: all of them)
#                 rs-off, rs-on          ringseed, super-seeding off / on; the
#                                        leechers find each other through a
#                                        tracker (another ringseed's built-in)
#                 rs-off-pex, rs-on-pex  the same with ringseed's PEX and no
#                                        tracker (only when this ringseed
#                                        knows pex.enable)
#                 rtorrent, lt, lt-super rtorrent, libtorrent, libtorrent
#                                        super-seeding, with the tracker
#   --timeout S a row gives up after S seconds (default 150)
#   --out DIR   also write DIR/swarm.json (bench/compare/run.sh does)
#   --keep      keep the work directory
#   (environment: SWARM_RS_OPTS, more options for the ringseed seeder, e.g.
#   "--log-level debug")
#
# The cap: the whole run happens in a network namespace this script makes
# (root only; removed at the end), whose loopback has an HTB class of --cap
# for packets from the seeder's address (127.0.9.1) and none for the rest,
# so that the leechers trade at loopback speed and the seeder cannot. Every
# seeder listens on 127.0.9.1 and is started the way bench/compare/seeders/
# starts it, plus the bind address.
#
# Per row: the seconds until the last leecher completed, and the bytes the
# seeder put on the wire (the class's counter, TCP/IP headers included) per
# copy completed; for ringseed also its own payload counter. Lower is better
# for both. Exit status: 0 when every row completed; 1 otherwise; 2 on bad
# usage; 77 when it cannot run here (not root, no ip/tc, no libtorrent).
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
N=8
SIZE=256
CAP=400
ROWS="rs-off rs-on rs-off-pex rs-on-pex rtorrent lt lt-super"
TIMEOUT=150
OUT=
KEEP=
PY=/usr/bin/python3
RINGSEED=${RINGSEED:-$top/bin/ringseed}
SEED_IP=127.0.9.1
TRK_IP=127.0.8.1

usage() {
	sed -n '3,/^set -u/p' "$0" | grep '^#' | sed -E 's/^# ?//' >&2
	exit 2
}
args=("$@")
while [ $# -gt 0 ]; do
	case $1 in
	-n) N=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--cap) CAP=$2; shift 2 ;;
	--rows) ROWS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) usage ;;
	*) echo "swarm.sh: unknown option $1" >&2; usage ;;
	esac
done
for v in N SIZE CAP TIMEOUT; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "swarm.sh: $v=${!v}: want a positive integer" >&2; exit 2; }
done
[ "$N" -le 200 ] || { echo "swarm.sh: at most 200 leechers" >&2; exit 2; }
log() { printf '[swarm %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
skip() { echo "swarm.sh: skip: $*" >&2; exit 77; }

# --- outside: make the namespace and its capped loopback, run again inside ---
if [ -z "${SWARM_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || skip "needs root (a network namespace and tc)"
	command -v ip >/dev/null && command -v tc >/dev/null || skip "needs ip and tc (iproute2)"
	"$PY" -c 'import libtorrent' 2>/dev/null || skip "$PY cannot import libtorrent"
	[ -x "$RINGSEED" ] || { echo "swarm.sh: $RINGSEED is missing: run make" >&2; exit 2; }
	ns=rsswarm$$
	ip netns add "$ns" || skip "cannot make a network namespace"
	log "namespace $ns: lo with $CAP Mbit/s for $SEED_IP"
	trap 'ip netns del "$ns" 2>/dev/null' EXIT
	# lo's packets are up to 64 KiB: quantum and burst at least that
	ip netns exec "$ns" sh -e -c "
		ip link set lo up
		tc qdisc add dev lo root handle 1: htb default 10
		tc class add dev lo parent 1: classid 1:10 htb rate 100gbit quantum 200000
		tc class add dev lo parent 1: classid 1:20 htb rate ${CAP}mbit burst 256k cburst 256k quantum 200000
		tc filter add dev lo parent 1: protocol ip u32 match ip src $SEED_IP/32 flowid 1:20
	" || { echo "swarm.sh: tc set-up failed" >&2; exit 1; }
	SWARM_NS=$ns RINGSEED=$RINGSEED ip netns exec "$ns" "$0" "${args[@]}"
	exit $?
fi

# --- inside the namespace ---
HERE=$here/compare
. "$HERE/lib.sh"
LAUNCHED=()
RAW=$(mktemp -d "${TMPDIR:-/tmp}/swarm.XXXXXX") || exit 2
cleanup() {
	local p
	for p in "${LAUNCHED[@]}"; do kill_group "$p"; done
	if [ -n "$KEEP" ]; then log "kept $RAW"; else rm -rf "$RAW"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
ulimit -n "$(ulimit -Hn)" 2>/dev/null

class_bytes() { tc -s class show dev lo classid 1:20 | awk '/Sent/ { print $2; exit }'; }
has_key() { printf '[%s]\n%s = %s\n' "$1" "$2" "$3" >"$RAW/probe.conf"; "$RINGSEED" check-config "$RAW/probe.conf" >/dev/null 2>&1; }

mkdir -p "$RAW/data" "$RAW/t" "$RAW/tracker/t" "$RAW/tracker/state"
name=swarm.bin
head -c $((SIZE * 1048576)) /dev/urandom >"$RAW/data/$name" || die "cannot write the content"
TP=6969
ANN="http://$TRK_IP:$TP/announce"
"$RINGSEED" create -q -f v1 -l 1048576 -a "$ANN" "$RAW/data/$name" -o "$RAW/t/$name.torrent" >/dev/null ||
	die "ringseed create failed"
mkdir -p "$RAW/tnone"
"$RINGSEED" create -q -f v1 -l 1048576 "$RAW/data/$name" -o "$RAW/tnone/$name.torrent" >/dev/null
TORRENT=$RAW/t/$name.torrent
DATA_DIR=$RAW/data

# the tracker: a ringseed with no torrent of its own, tracking any info-hash
launch "$RAW/tracker" "$RINGSEED" serve --listen "$TRK_IP:6881" --tracker-listen "$TRK_IP:$TP" \
	--torrents "$RAW/tracker/t" --data "$RAW/data" --state "$RAW/tracker/state" -w 1 \
	-o tracker.open=yes -o tracker.interval=10 -o tracker.min_interval=1 -o announce.enable=no \
	-o admin.listen= -u "$(id -un)"
wait_listen $TP 30 "$LAST_PID" || die "the tracker did not start"

has_key pex enable yes && PEX=1 || PEX=

# seeder_start ROW WORK: the seeder of ROW on $SEED_IP:6881
seeder_start() {
	local row=$1 work=$2 ss=off pex=() tdir=$RAW/t
	mkdir -p "$work/state" "$work/torrents"
	case $row in
	rs-*)
		case $row in rs-on*) ss=on ;; esac
		case $row in *-pex) pex=(-o pex.enable=yes); tdir=$RAW/tnone ;; *) [ -n "$PEX" ] && pex=(-o pex.enable=no) ;; esac
		ln -sf "$tdir/$name.torrent" "$work/torrents/"
		launch "$work" "$RINGSEED" serve --listen "$SEED_IP:6881" --torrents "$work/torrents" \
			--data "$DATA_DIR" --state "$work/state" -w "$(nproc)" -o "serve.super_seed=$ss" \
			"${pex[@]}" -o net.max_per_ip=0 -o admin.listen="$SEED_IP:9881" -u "$(id -un)" \
			${SWARM_RS_OPTS:-}
		;;
	rtorrent)
		sed -e "s#@RT_WORK@#$work#g; s#@RT_PORT@#6881#g; s#@RT_DATA@#$DATA_DIR#g" \
			-e "s#@RT_TOR@#$TORRENT#g; s#127\.0\.0\.1#$SEED_IP#g" \
			"$HERE/seeders/rtorrent.rc.in" >"$work/rtorrent.rc"
		mkdir -p "$work/session"
		launch "$work" rtorrent -n -o "import=$work/rtorrent.rc"
		;;
	lt | lt-super)
		local sup=()
		[ "$row" = lt-super ] && sup=(--super)
		launch "$work" "$PY" "$here/swarm.py" seed --torrent "$TORRENT" --data "$DATA_DIR" \
			--bind "$SEED_IP:6881" --ready "$work/ready" "${sup[@]}"
		;;
	*) die "--rows: unknown row $row" ;;
	esac
	wait_listen 6881 120 "$LAST_PID"
}

results=()
rc_all=0
for row in $ROWS; do
	case $row in
	*-pex) [ -n "$PEX" ] || { log "$row: skipped: this ringseed has no pex.enable"; continue; } ;;
	rtorrent) command -v rtorrent >/dev/null || { log "rtorrent: skipped: not installed"; continue; } ;;
	esac
	work=$RAW/run-$row
	mkdir -p "$work"
	seeder_start "$row" "$work" || { log "$row: the seeder did not start: $(tail -n 3 "$work/log")"; rc_all=1; continue; }
	[ "$row" = rtorrent ] && sleep 2 # its hash check of the content
	b0=$(class_bytes)
	p0=
	case $row in rs-*) p0=$(curl -s "http://$SEED_IP:9881/metrics" | awk '/^ringseed_upload_bytes_total/ { s += $2 } END { printf "%.0f", s }') ;; esac
	# the seeder's address is given (a leecher that announced before the seeder did
	# would wait a tracker interval for it); the other leechers come from the
	# tracker or PEX only
	lopts=(--torrent "$RAW/t/$name.torrent" --seed "$SEED_IP:6881")
	case $row in *-pex) lopts=(--torrent "$RAW/tnone/$name.torrent" --seed "$SEED_IP:6881") ;; esac
	log "$row: $N leechers, $SIZE MiB, seeder capped at $CAP Mbit/s"
	"$PY" "$here/swarm.py" leech --n "$N" --net 50 \
		--save "$work/leech" --out "$work/leech.json" --timeout "$TIMEOUT" "${lopts[@]}" \
		>"$work/leech.out" 2>&1 || rc_all=1
	b1=$(class_bytes)
	p1=
	case $row in rs-*) p1=$(curl -s "http://$SEED_IP:9881/metrics" | awk '/^ringseed_upload_bytes_total/ { s += $2 } END { printf "%.0f", s }') ;; esac
	stop_instance "$work"
	rm -rf "$work/leech"
	line=$("$PY" - "$row" "$work/leech.json" "$b0" "$b1" "${p0:-0}" "${p1:-0}" "$SIZE" <<'EOF'
import json, sys
row, path, b0, b1, p0, p1, size = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
try:
    r = json.load(open(path))
except Exception:
    r = {"n": 0, "done": [], "ok": False, "all_done_s": None}
copies = sum(1 for d in r["done"] if d is not None)
wire, payload = b1 - b0, p1 - p0
out = {"row": row, "leechers": r["n"], "copies": copies, "all_done_s": r["all_done_s"],
       "seeder_wire_bytes": wire, "wire_per_copy": wire / copies if copies else None,
       "ringseed_payload_bytes": payload if row.startswith("rs-") else None,
       "size_bytes": size << 20, "ok": r["ok"]}
print(json.dumps(out))
EOF
	)
	results+=("$line")
	log "$row: $line"
done

"$PY" - "$N" "$SIZE" "$CAP" "${OUT:-}" "${results[@]}" <<'EOF'
import json, sys
n, size, cap, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rows = [json.loads(x) for x in sys.argv[5:]]
if out:
    json.dump({"leechers": n, "size_mib": size, "cap_mbit": cap, "rows": rows},
              open(out + "/swarm.json", "w"), indent=1)
print("swarm: %d libtorrent leechers, one %d MiB torrent (1 MiB pieces), seeder upload capped at %d Mbit/s" % (n, size, cap))
print("  %-12s %10s %22s %22s" % ("seeder", "all done", "seeder wire / copy", "ringseed payload / copy"))
for r in rows:
    sz = r["size_bytes"]
    done = "%.1f s" % r["all_done_s"] if r["all_done_s"] else "never"
    wpc = "%.2f x size" % (r["wire_per_copy"] / sz) if r["wire_per_copy"] else "-"
    ppc = "%.2f x size" % (r["ringseed_payload_bytes"] / r["copies"] / sz) if r["ringseed_payload_bytes"] and r["copies"] else "-"
    print("  %-12s %10s %22s %22s  (%d of %d copies)" % (r["row"], done, wpc, ppc, r["copies"], r["leechers"]))
EOF
exit $rc_all
