#!/usr/bin/env bash
# timeout: 150
# The built-in tracker through the real binary (--tracker-listen):
#   - two libtorrent leechers given only the .torrent find ringseed through
#     it and download byte-exact;
#   - two peers announcing to it (HTTP and UDP) each get the other back, and
#     ringseed itself, and never their own address;
#   - a flood of malformed and oversized requests (HTTP and UDP) is answered
#     with failure reasons or closed, and the tracker still answers after it;
#   - on shutdown ringseed tells its own tracker 'stopped'.
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
PY=/usr/bin/python3
PROBE=$E2E_LIB/tracker_probe.py

serve_init "$work/s"
TP=$(free_port)
head -c 6000011 /dev/urandom >"$S_DIR/data/bt.bin"
serve_torrent "$S_DIR/data/bt.bin" bt.bin -a "http://127.0.0.1:$TP/announce" || exit 1
HASH=$(serve_hash bt.bin)
serve_settle
serve_start --tracker-listen "127.0.0.1:$TP" || exit 1
grep -q " tracker listening on 127.0.0.1:$TP (HTTP and UDP)$" "$S_LOG" ||
	{ fail "no 'tracker listening on 127.0.0.1:$TP (HTTP and UDP)' line"; show_tail "$S_LOG" 10; }
# announces= of the client, not tracker_announces= of the tracker (the stats line has both)
serve_wait_stat announces 1 20 && serve_stat_ge tracker_announces 1 ||
	fail "ringseed did not announce to its own tracker (announces=$(serve_stat announces), tracker_announces=$(serve_stat tracker_announces))"

# Two real leechers, each on its own address, with nothing but the .torrent.
for ip in 127.0.0.5 127.0.0.6; do
	mkdir -p "$work/dl-$ip"
	"$PY" "$E2E_LIB/announce_lt.py" leech --bind "$ip" --save "$work/dl-$ip" --timeout 60 \
		"$S_DIR/torrents/bt.bin.torrent" >"$work/leech-$ip.out" 2>&1 &
	eval "lpid_${ip//./_}=$!"
done

# Two peers at the tracker: each sees the other and ringseed, never itself.
"$PY" "$PROBE" http "http://127.0.0.1:$TP/announce" "$HASH" -RSTEST-aaaaaaaaaaaa 127.0.0.7 7007 1000 \
	>"$work/p7.out" || { fail "HTTP announce from 127.0.0.7 failed"; show "$work/p7.out"; }
"$PY" "$PROBE" udp "127.0.0.1:$TP" "$HASH" -RSTEST-bbbbbbbbbbbb 127.0.0.8 7008 1000 \
	>"$work/p8.out" || { fail "UDP announce from 127.0.0.8 failed"; show "$work/p8.out"; }
"$PY" "$PROBE" http "http://127.0.0.1:$TP/announce" "$HASH" -RSTEST-aaaaaaaaaaaa 127.0.0.7 7007 1000 \
	>"$work/p7b.out" || fail "second HTTP announce from 127.0.0.7 failed"
grep -qx "127.0.0.8:7008" "$work/p7b.out" || { fail "127.0.0.7 was not given 127.0.0.8"; show "$work/p7b.out"; }
grep -qx "127.0.0.7:7007" "$work/p8.out" || { fail "127.0.0.8 was not given 127.0.0.7"; show "$work/p8.out"; }
grep -q "^127.0.0.1:$S_PORT\$" "$work/p7b.out" || fail "the tracker did not give out ringseed itself"
grep -q "127.0.0.7:7007" "$work/p7b.out" && fail "127.0.0.7 was given its own address"

# The flood, while the leechers download.
"$PY" "$PROBE" flood 127.0.0.1 "$TP" 600 >"$work/flood.out" 2>&1 || { fail "flood"; show "$work/flood.out"; }
"$PY" "$PROBE" udp "127.0.0.1:$TP" "$HASH" -RSTEST-cccccccccccc 127.0.0.9 7009 0 >"$work/p9.out" ||
	fail "the tracker does not answer after the flood"
pid_alive "$S_PID" || fail "ringseed died during the flood"

for ip in 127.0.0.5 127.0.0.6; do
	v=lpid_${ip//./_}
	wait "${!v}" || { fail "leecher $ip did not finish"; show "$work/leech-$ip.out"; }
	cmp -s "$work/dl-$ip/bt.bin" "$S_DIR/data/bt.bin" || fail "leecher $ip: content differs"
done
serve_stop || fail "serve did not stop cleanly"
grep -q "stopped=1" "$S_LOG" || fail "ringseed did not send 'stopped' to its own tracker"
serve_logs_clean || fail "sanitizer report in the logs"
echo "tracker_builtin: $fails failures"
[ "$fails" -eq 0 ]
