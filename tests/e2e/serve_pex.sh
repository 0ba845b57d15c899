#!/usr/bin/env bash
# timeout: 90
#
# Peer exchange (BEP 11, ut_pex) through the real binary, two workers (-w 2;
# both must have taken peers, so the lists crossed between them):
#   - two python3-libtorrent leechers (tests/lib/serve_pex.py swarm), A from
#     127.0.0.2 and B from 127.0.0.3 1 s later (after A had its first message, so that only B learns of A and they do not connect to each other at once), each told only of
#     ringseed (no tracker, DHT, LSD, UPnP) and rate-limited, meet through
#     ringseed's PEX and trade pieces: both complete, each uploaded to the
#     other;
#   - a raw BEP 10 peer (serve_pex.py raw) on the same public torrent, from
#     127.0.0.4 with its own "p": ringseed's "m" has ut_pex; its first
#     ut_pex message lists A (flags without 0x10: ringseed never connects
#     out) and never the raw peer itself; it also sends hostile ut_pex
#     messages (garbage, a partial contact, 12 KiB, a burst of 10): counted
#     as pex_bad and pex_flood, its connection stays, the download goes on;
#   - a private torrent (BEP 27): two raw peers with "p" and ut_pex meet no
#     ut_pex in ringseed's "m", and get no ut_pex message in 5 s, while the
#     public torrent's raw peer gets one;
#   - pex_sent, pex_received, pex_bad, pex_flood and pex_peers in /metrics,
#     no peer dropped as bad_ext, no sanitizer report;
#   - pex.enable = no: no ut_pex in "m" of the public torrent either.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
PEX=$E2E_LIB/serve_pex.py
t0=$(date +%s%N)

serve_init "$work/s"
serve_add_file pub.bin $((3 * 1048576 + 11)) || exit 1
"$PY" "$LT" mkfile "$S_DIR/data/priv.bin" 300000 priv.bin || exit 1
serve_torrent "$S_DIR/data/priv.bin" priv.bin -p || exit 1
PUB=$(serve_hash pub.bin)
PRIV=$(serve_hash priv.bin)
serve_start -w 2 -o serve.stats_interval=1 || exit 1

raw() { # OUT BIND HASH PORT SECONDS [--hostile]
	local out=$1 bind=$2 hash=$3 port=$4 secs=$5
	shift 5
	bg "$PY" "$PEX" raw --peer "127.0.0.1:$S_PORT" --bind "$bind" --hash "$hash" \
		--listen-port "$port" --seconds "$secs" "$@" >"$out" 2>&1
}

# The raw public peer first, so that its first message is about A.
raw "$work/r_pub.json" 127.0.0.4 "$PUB" 40404 6 --hostile
r_pub=$BG_PID
raw "$work/r_priv1.json" 127.0.0.5 "$PRIV" 50505 5
r_priv1=$BG_PID
raw "$work/r_priv2.json" 127.0.0.6 "$PRIV" 50606 5
r_priv2=$BG_PID
sleep 0.3
bg "$PY" "$PEX" swarm --peer "127.0.0.1:$S_PORT" --save "$work/dl" --rate 400000 \
	--delay 1 --timeout 40 "$S_DIR/torrents/pub.bin.torrent" >"$work/swarm.out" 2>&1
swarm=$BG_PID

for p in $r_pub $r_priv1 $r_priv2; do
	wait "$p" || fail "raw peer (pid $p) exited $?"
done
wait "$swarm" || { fail "the libtorrent swarm failed"; show "$work/swarm.out"; }
cat "$work/swarm.out"
for f in "$work"/dl/a/pub.bin "$work"/dl/b/pub.bin; do
	cmp -s "$S_DIR/data/pub.bin" "$f" || fail "$f differs from the served file"
done

# check_raw FILE PYTHON-EXPR: the raw peer's JSON line satisfies EXPR (r is the dict)
check_raw() {
	"$PY" - "$1" "$2" <<'PYEOF' || { fail "$(basename "$1"): $2"; show "$1"; }
import json, sys
r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
sys.exit(0 if eval(sys.argv[2]) else 1)
PYEOF
}
check_raw "$work/r_pub.json" 'r["m_ut_pex"] == 1'
check_raw "$work/r_pub.json" 'len(r["pex"]) == 1'
check_raw "$work/r_pub.json" 'any(a.startswith("127.0.0.2:") for a in r["pex"][0]["added"])'
check_raw "$work/r_pub.json" 'all(r["self"] not in m["added"] for m in r["pex"])'
check_raw "$work/r_pub.json" 'all(not (f & 0x10) for m in r["pex"] for f in m["flags"])'
check_raw "$work/r_pub.json" 'r["open"]'
for f in "$work/r_priv1.json" "$work/r_priv2.json"; do
	check_raw "$f" 'r["m_ut_pex"] is None and r["pex"] == [] and r["open"]'
done

bad=$(serve_stat pex_bad)
flood=$(serve_stat pex_flood)
recv=$(serve_stat pex_received)
sent=$(serve_stat pex_sent)
echo "pex: sent=$sent received=$recv bad=$bad flood=$flood peers=$(serve_stat pex_peers)"
[ "${bad:-0}" -ge 3 ] || fail "pex_bad=${bad:-missing}, want >= 3 (garbage, partial contact, 12 KiB)"
[ "${flood:-0}" -ge 1 ] || fail "pex_flood=${flood:-missing}, want >= 1 (a burst of 10)"
[ "${recv:-0}" -ge 1 ] || fail "pex_received=${recv:-missing}, want >= 1"
[ "${sent:-0}" -ge 2 ] || fail "pex_sent=${sent:-missing}, want >= 2 (the raw peer, leecher B)"
# Both workers took peers (the least-loaded one gets each), so the lists
# crossed from one worker to the other through the master.
hs=$(serve_metrics | awk '/^ringseed_handshakes_total\{worker=/ { printf "%s ", $2 }')
echo "handshakes per worker: $hs"
set -- $hs
[ $# -eq 2 ] && [ "$1" -gt 0 ] && [ "$2" -gt 0 ] || fail "handshakes per worker: $hs, want two workers each > 0"
[ "$(serve_stat drop_bad_ext)" = 0 ] || fail "drop_bad_ext=$(serve_stat drop_bad_ext), want 0"
serve_stop || fail "serve_stop"

# pex.enable = no: the public torrent's "m" has no ut_pex either.
serve_start -w 2 -o pex.enable=no || exit 1
raw "$work/r_off.json" 127.0.0.4 "$PUB" 40404 1
wait "$BG_PID" || fail "raw peer (pex.enable = no) exited $?"
check_raw "$work/r_off.json" 'r["m_ut_pex"] is None and r["pex"] == []'
serve_stop || fail "serve_stop (pex.enable = no)"
serve_logs_clean || true
echo "serve_pex: $((($(date +%s%N) - t0) / 1000000)) ms"
[ "$fails" -eq 0 ]
