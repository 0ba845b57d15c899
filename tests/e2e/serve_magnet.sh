#!/usr/bin/env bash
# timeout: 420
#
# Magnet links (BEP 9 ut_metadata) and the extended handshake (BEP 10, 21)
# through the real binary, on loopback:
#   - raw peers (tests/lib/serve_magnet.py probe): the extended handshake says
#     m.ut_metadata, metadata_size, p (the port it was reached on), yourip
#     (4 bytes), reqq, upload_only 1 and v; every metadata piece fetched joins
#     into the .torrent's info dictionary byte for byte (SHA-1 = info-hash);
#   - hostile ut_metadata: out-of-range pieces (count, -1, 2^62) rejected and
#     the connection still served; 2,000 requests at once served only up to
#     the burst, the rest rejected (meta_flood); bad bencode and a handshake
#     that is not a dictionary closed (drop_bad_ext); all while libtorrent
#     downloads with a magnet and the seeder's address only (connect_peer);
#   - seeds: have_all, a complete bitfield and upload_only are each closed
#     (drop_seed); a bitfield with one piece missing is not; a libtorrent
#     session seeding the same torrent is gone at once (it closes itself);
#   - magnet only: libtorrent with the built-in tracker, libtorrent with x.pe
#     (ringseed info --peer) alone, over IPv4 and [::1], aria2c with a tracker (serve_tracker.py:
#     aria2c announces left=0 without metadata, and the built-in tracker gives
#     a seed only leechers), and transmission-cli (which drops loopback peers
#     from trackers, so serve_relay.py connects it to ringseed by info-hash)
#     download byte-exact;
#   - a private torrent: its metadata comes only on a connection made with
#     its info-hash (another torrent's connection gets that torrent's, an
#     unknown hash gets nothing), and libtorrent downloads it from a magnet.
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
MAG=$E2E_LIB/serve_magnet.py
S_PL=16K

serve_init "$work/s"
serve_conf_add "[serve]" "stats_interval = 1"
TP=$(free_port)
ANN="http://127.0.0.1:$TP/announce"
# 20 MB in 16 KiB pieces: 1,221 pieces, an info dictionary of two metadata pieces
"$PY" "$LT" mkfile "$S_DIR/data/big.bin" 20000003 || exit 1
serve_torrent "$S_DIR/data/big.bin" big.bin -a "$ANN" || exit 1
"$PY" "$LT" mktree "$S_DIR/data/tree" || exit 1
serve_torrent "$S_DIR/data/tree" tree -p -a "$ANN" || exit 1
BIG=$(serve_hash big.bin)
TREE=$(serve_hash tree)
# the info dictionaries as they are in the .torrent files
for t in big.bin tree; do
	"$PY" - "$S_DIR/torrents/$t.torrent" "$work/$t.info" "$E2E_LIB" <<'EOF' || exit 1
import sys
sys.path.insert(0, sys.argv[3])
from serve_magnet import bdec
raw = open(sys.argv[1], "rb").read()
i = raw.index(b"4:infod") + 6
_, end = bdec(raw, i)
open(sys.argv[2], "wb").write(raw[i:end])
EOF
done
serve_settle
S_PORT=$(free_port)
V6=
if "$PY" -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
	V6="[::1]:$S_PORT"
fi
serve_start --tracker-listen "127.0.0.1:$TP" ${V6:+--listen "$V6"} || exit 1
ADDR=127.0.0.1:$S_PORT
magnet() { # magnet TORRENT [ARGS]: the link `ringseed info` prints
	local t=$1
	shift
	"$RINGSEED" info "$@" "$S_DIR/torrents/$t.torrent" | sed -n 's/^magnet: *//p'
}
M_BIG=$(magnet big.bin)
M_TREE=$(magnet tree)
case $M_BIG in "magnet:?xt=urn:btih:$BIG&dn=big.bin&tr="*) ;; *) fail "magnet: $M_BIG" ;; esac

# An honest magnet download with the seeder's address only, beside the hostile
# peers: at 1.5 MB/s it lasts about as long as they do.
mkdir -p "$work/lt-peer"
bg "$PY" "$MAG" lt "$M_BIG" --peer "$ADDR" --bind 127.0.0.2 --save "$work/lt-peer" --timeout 120 \
	--rate 1500000 >"$work/lt-peer.out" 2>&1
LT_PEER=$BG_PID

# Magnet only, the tracker finds the seeder: aria2c and transmission-cli start
# now and run beside the hostile peers (transmission-cli takes the longest:
# its restarts around verifications), libtorrent's further below.
mkdir -p "$work/aria2" "$work/tr/cfg" "$work/tr/out"
# aria2c announces left=0 while it has no metadata, and the built-in tracker
# gives a seed only leechers: a tracker that hands out ringseed's address instead
bg "$PY" "$E2E_LIB/serve_tracker.py" --peer "$ADDR" --port-file "$work/aria2/tracker.port" \
	--lifetime 160 >"$work/aria2/tracker.log" 2>&1
wait_until 10 test -s "$work/aria2/tracker.port" || fail "the aria2c tracker did not start"
bg timeout 150 aria2c --dir="$work/aria2" --seed-time=0 --enable-dht=false --enable-dht6=false \
	--bt-enable-lpd=false --enable-peer-exchange=false --bt-require-crypto=false \
	--bt-exclude-tracker='*' --bt-tracker="http://127.0.0.1:$(cat "$work/aria2/tracker.port")/announce" \
	--interface=127.0.0.8 --listen-port="$(free_port)" --file-allocation=none \
	--bt-stop-timeout=120 --console-log-level=warn --summary-interval=0 \
	--log="$work/aria2/aria2.log" --log-level=info "$M_BIG" >"$work/aria2.out" 2>&1
ARIA=$BG_PID

tp=$(free_port)
cat >"$work/tr/cfg/settings.json" <<EOF
{
    "dht-enabled": false, "lpd-enabled": false, "pex-enabled": false, "utp-enabled": false,
    "port-forwarding-enabled": false, "encryption": 0, "bind-address-ipv4": "127.0.0.1",
    "peer-port": $tp, "speed-limit-down-enabled": false, "speed-limit-up-enabled": false,
    "download-dir": "$work/tr/out", "incomplete-dir-enabled": false, "start-added-torrents": true
}
EOF
printf '#!/bin/sh\ntouch "%s/done"\n' "$work/tr" >"$work/tr/done.sh"
chmod +x "$work/tr/done.sh"
# transmission-cli exits when it finds its torrent stopped, which it briefly
# is around a verification, the one after the metadata included: keep_running
# starts it again (same config, so it resumes) until it is done.
bg keep_running "$work/tr" "$work/tr/tr.out" transmission-cli -g "$work/tr/cfg" -w "$work/tr/out" \
	-p "$tp" -et -f "$work/tr/done.sh" "$M_BIG"
TR=$BG_PID
bg "$PY" "$E2E_LIB/serve_relay.py" --client "127.0.0.1:$tp" --seeder "$ADDR" --info-hash "$BIG" \
	--bind 127.0.0.7 --lifetime 140 >"$work/tr/relay.log" 2>&1
RELAY=$BG_PID

probe() { # probe CASE HASH [ARGS]
	local case=$1 h=$2
	shift 2
	if ! "$PY" "$MAG" probe "$case" "$ADDR" "$h" "$@" >"$work/probe-$case.out" 2>&1; then
		fail "probe $case"
		show "$work/probe-$case.out"
	else
		sed 's/^/  /' "$work/probe-$case.out"
	fi
}
probe fetch "$BIG" --info "$work/big.bin.info"
probe out-of-range "$BIG"
probe flood "$BIG" --count 200
probe flood "$BIG" --count 2000
probe bad-bencode "$BIG"
probe bad-handshake "$BIG"
probe have-all "$BIG"
probe bitfield "$BIG" --pieces 1221
probe upload-only "$BIG"
probe leecher-bitfield "$BIG" --pieces 1221
# private: its metadata only on a connection made with its hash
probe fetch "$TREE" --info "$work/tree.info"
probe unknown-hash "$BIG" --other "$(printf '%040x' 7)"
pid_alive "$S_PID" || fail "ringseed died under the hostile peers"
pid_alive "$LT_PEER" || echo "note: the honest download ended before the hostile peers did"

serve_wait_stat drop_seed 3 10 || fail "drop_seed=$(serve_stat drop_seed), want >= 3"
serve_wait_stat drop_bad_ext 2 10 || fail "drop_bad_ext=$(serve_stat drop_bad_ext), want >= 2"
serve_wait_stat meta_rejects 5 10 || fail "meta_rejects=$(serve_stat meta_rejects), want >= 5"
serve_wait_stat meta_flood 1 10 || fail "meta_flood=$(serve_stat meta_flood), want >= 1"
serve_wait_stat drop_flood 1 10 || fail "drop_flood=$(serve_stat drop_flood), want >= 1"
grep ' stats: ' "$S_LOG" | tail -n 1 | tr ' ' '\n' | grep -E '^(drop_seed|drop_bad_ext|meta_|drop_flood)' |
	tr '\n' ' '
echo

# A libtorrent session seeding the same torrent: the connection ends at once
# (libtorrent closes it on our have_all, before it says anything ringseed
# could count; the raw peers above are the counted cases).
"$PY" "$MAG" lt-seed "$S_DIR/torrents/big.bin.torrent" "$S_DIR/data" --peer "$ADDR" --bind 127.0.0.3 \
	--timeout 20 >"$work/lt-seed.out" 2>&1 || { fail "libtorrent seed"; show "$work/lt-seed.out"; }
cat "$work/lt-seed.out"

wait "$LT_PEER" || { fail "libtorrent, magnet + connect_peer"; show "$work/lt-peer.out"; }
cat "$work/lt-peer.out"
tree_cmp "$S_DIR/data/big.bin" "$work/lt-peer/big.bin" || fail "libtorrent (connect_peer): big.bin differs"

# Magnet only, the tracker finds the seeder: libtorrent (aria2c and
# transmission-cli are on their way since the start).
mkdir -p "$work/lt-tr" "$work/lt-pe" "$work/lt-priv"
bg "$PY" "$MAG" lt "$M_BIG" --bind 127.0.0.4 --save "$work/lt-tr" --timeout 120 \
	>"$work/lt-tr.out" 2>&1
LT_TR=$BG_PID
bg "$PY" "$MAG" lt "$(magnet big.bin --peer "$ADDR" | sed 's/&tr=[^&]*//g')" --bind 127.0.0.5 \
	--save "$work/lt-pe" --timeout 120 >"$work/lt-pe.out" 2>&1
LT_PE=$BG_PID
bg "$PY" "$MAG" lt "$M_TREE" --peer "$ADDR" --bind 127.0.0.6 --save "$work/lt-priv" --timeout 120 \
	>"$work/lt-priv.out" 2>&1
LT_PRIV=$BG_PID
LT_PE6=
if [ -n "$V6" ]; then
	mkdir -p "$work/lt-pe6"
	bg "$PY" "$MAG" lt "$(magnet big.bin --peer "$V6" | sed 's/&tr=[^&]*//g')" --bind ::1 \
		--save "$work/lt-pe6" --timeout 120 >"$work/lt-pe6.out" 2>&1
	LT_PE6=$BG_PID
else
	echo "note: no IPv6 loopback; x.pe=[::1]:PORT left out"
fi

for v in "$LT_TR lt-tr" "$LT_PE lt-pe" "$LT_PRIV lt-priv" ${LT_PE6:+"$LT_PE6 lt-pe6"}; do
	set -- $v
	wait "$1" || { fail "libtorrent ($2)"; show "$work/$2.out"; }
	echo "$2: $(cat "$work/$2.out")"
done
tree_cmp "$S_DIR/data/big.bin" "$work/lt-tr/big.bin" || fail "libtorrent (tracker): big.bin differs"
tree_cmp "$S_DIR/data/big.bin" "$work/lt-pe/big.bin" || fail "libtorrent (x.pe): big.bin differs"
[ -z "$LT_PE6" ] || tree_cmp "$S_DIR/data/big.bin" "$work/lt-pe6/big.bin" ||
	fail "libtorrent (x.pe=[::1]): big.bin differs"
tree_cmp "$S_DIR/data/tree" "$work/lt-priv/tree" || fail "libtorrent (private tree): differs"
wait "$ARIA" || {
	fail "aria2c, magnet + tracker: exit $?"
	show "$work/aria2.out"
	grep -iE 'error|exception|drop|closed' "$work/aria2/aria2.log" | tail -n 10 | sed 's/^/    | /'
}
tree_cmp "$S_DIR/data/big.bin" "$work/aria2/big.bin" && echo "aria2c: complete" ||
	fail "aria2c: big.bin differs"
if wait_until 120 test -e "$work/tr/done"; then
	tree_cmp "$S_DIR/data/big.bin" "$work/tr/out/big.bin" && echo "transmission-cli: complete" ||
		fail "transmission-cli: big.bin differs"
else
	fail "transmission-cli did not finish the magnet download"
	tr '\r' '\n' <"$work/tr/tr.out" | grep -v '^$' | tail -n 5 | sed 's/^/    | /'
	show_tail "$work/tr/relay.log" 10
fi
touch "$work/tr/stop"
kill "$RELAY" 2>/dev/null
wait "$TR" "$RELAY" 2>/dev/null
echo "transmission-cli: started $(grep -c . "$work/tr/starts") times"

serve_wait_stat meta_pieces 10 5 || fail "meta_pieces=$(serve_stat meta_pieces), want >= 10"
pid_alive "$S_PID" || fail "ringseed died"
serve_stop || fail "serve did not stop cleanly"
serve_logs_clean
echo "serve_magnet: $fails failures"
[ "$fails" -eq 0 ]
