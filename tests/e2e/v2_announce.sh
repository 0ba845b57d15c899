#!/usr/bin/env bash
# timeout: 90
# A hybrid torrent is announced under both of its info-hashes (the v1 one
# and the v2 one cut to 20 bytes, BEP 52), so v1 and v2 clients each find
# the seeder in their own swarm: ringseed serves a hybrid that lists its own
# built-in tracker, and a peer announcing (HTTP, then UDP) with either hash
# gets ringseed's address back; an unrelated hash does not.
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
PROBE=$E2E_LIB/tracker_probe.py

serve_init "$work/s"
TP=$(free_port)
"$PY" "$LT" mkfile "$S_DIR/data/hy.bin" 3000017 hy || exit 1
S_FORMAT=hybrid serve_torrent "$S_DIR/data/hy.bin" hy -a "http://127.0.0.1:$TP/announce" || exit 1
read -r V1 V2 < <("$PY" -c 'import libtorrent as lt, sys
h = lt.torrent_info(sys.argv[1]).info_hashes()
print(h.v1, str(h.v2)[:40])' "$S_DIR/torrents/hy.torrent")
[ -n "$V1" ] && [ -n "$V2" ] && [ "$V1" != "$V2" ] || { fail "no two info-hashes: '$V1' '$V2'"; exit 1; }
serve_settle
serve_start --tracker-listen "127.0.0.1:$TP" -o serve.stats_interval=1 || exit 1
serve_wait_stat announces 2 20 ||
	fail "announces=$(serve_stat announces): not one per info-hash of the hybrid"

n=0
for h in "$V1" "$V2"; do
	n=$((n + 1))
	for proto in http udp; do
		url="http://127.0.0.1:$TP/announce"
		id=$(printf '%s' "-RSTEST-$n$proto-aaaaaaaaaaaa" | cut -c1-20)
		[ $proto = udp ] && url="127.0.0.1:$TP"
		if ! wait_until 10 "$PY" "$PROBE" $proto "$url" "$h" "$id" "127.0.0.$((20 + n))" $((7000 + n)) 1000 \
			>"$work/p.out" 2>&1 || ! grep -q "^127.0.0.1:$S_PORT\$" "$work/p.out"; then
			fail "$proto announce for $h did not give ringseed's address"
			show "$work/p.out"
		fi
	done
done
"$PY" "$PROBE" http "http://127.0.0.1:$TP/announce" 0123456789abcdef0123456789abcdef01234567 \
	-RSTEST-zzzzzzzzzzzz 127.0.0.30 7030 1000 >"$work/z.out" 2>&1 &&
	grep -q "^127.0.0.1:$S_PORT\$" "$work/z.out" && fail "an unknown hash was given ringseed's address"
echo "hybrid announced as $V1 and $V2"
serve_stop || fail "serve did not stop cleanly"
grep -q "stopped=2" "$S_LOG" || fail "not one 'stopped' per info-hash: $(grep -o 'stopped=[0-9]*' "$S_LOG" | tail -n 1)"
serve_logs_clean
[ $fails -eq 0 ]
