#!/usr/bin/env bash
# timeout: 90
#
# Super-seeding (BEP 16) through the real binary, ringseed the only seed:
#   - four libtorrent leechers (tests/lib/serve_superseed.py swarm), each
#     connected to the seeder and to the three others, download 1 MiB in
#     32 KiB pieces with serve.super_seed = off, then again with on: every
#     copy is byte-exact both times; with on, what ringseed claims to each
#     leecher (peer_info of its connection) is never more than one piece
#     beyond what that leecher has (plus one in flight), while with off it
#     claims every piece; and ringseed's own upload counter (up_bytes) is
#     lower with on than with off;
#   - a lone leecher is shown its next piece as soon as it has the last one
#     (nobody else could see it): it completes with no timeout;
#   - a peer without the Fast extension gets no bitfield, then one have;
#   - liars, with on: two raw peers shown a piece each that they never
#     fetch, a third that says `have` for every piece shown to them (their
#     pieces show no further), a fourth that claims piece 0 and asks for it:
#     superseed_liars counts both, and a request for a piece not shown is
#     refused (reject_request, superseed_refused);
#   - auto: a raw peer gets have_none and one have; a libtorrent seed of the
#     same torrent connects and stays (our witness): the first peer is sent
#     every other piece, a new peer gets have_all; the seed leaves: a new
#     peer gets have_none again; a tracker that says complete=3 keeps
#     another torrent off from the start.
set -u
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
SS=$E2E_LIB/serve_superseed.py
S_PL=32K
start=$(date +%s)

serve_init "$work/s"
serve_add_file ss.bin 1048576 || exit 1
H=$(serve_hash ss.bin)

# swarm MODE [N]: N (4) leechers; sets up_<MODE> and checks the copies
swarm() {
	local mode=$1 n=${2:-4} up0 up1 i
	up0=$(serve_stat up_bytes)
	if ! "$PY" "$SS" swarm --peer "127.0.0.1:$S_PORT" --n "$n" --net 3 --save "$work/l-$mode" \
		--timeout 30 --rate 2000000 "$S_DIR/torrents/ss.bin.torrent" >"$work/swarm-$mode.out" 2>&1; then
		fail "super_seed=$mode: the leechers did not all complete"
		show "$work/swarm-$mode.out"
	fi
	sed "s/^/  $mode: /" "$work/swarm-$mode.out"
	for ((i = 0; i < n; i++)); do
		tree_cmp "$S_DIR/data/ss.bin" "$work/l-$mode/$i/ss.bin" >/dev/null ||
			fail "super_seed=$mode: leecher $i's copy differs"
	done
	sleep 0.2 # the last blocks' counters
	up1=$(serve_stat up_bytes)
	eval "up_$mode=$((up1 - up0))"
}

serve_start -o serve.super_seed=off || exit 1
swarm off
grep -q 'seed_claims 32,' "$work/swarm-off.out" || fail "super_seed=off: the seed did not claim all 32 pieces"
serve_stop

serve_start -o serve.super_seed=on -o serve.super_seed_timeout=10 -o serve.stats_interval=1 || exit 1
swarm on
max_excess=$(sed -n 's/.*excess \([0-9-]*\),.*/\1/p' "$work/swarm-on.out" | sort -n | tail -n 1)
[ "${max_excess:-99}" -le 2 ] ||
	fail "super_seed=on: the seed claimed $max_excess pieces beyond what a leecher had, want <= 2"
echo "ringseed uploaded: off $up_off bytes, on $up_on bytes (content 1048576, 4 leechers)"
[ "$up_on" -lt "$up_off" ] || fail "up_bytes with super-seeding ($up_on) not below without ($up_off)"
[ "$(serve_stat superseed_reveals)" -ge 32 ] || fail "superseed_reveals=$(serve_stat superseed_reveals), want >= 32"

# a lone leecher: nobody else could see its pieces, so it is not kept waiting
swarm lone 1
[ "$(serve_stat superseed_timeouts)" = 0 ] || fail "the lone leecher waited for timeouts"

# a peer without the Fast extension gets no bitfield at all, then one have
"$PY" "$SS" probe --peer "127.0.0.1:$S_PORT" --hash "$H" --plain --pieces 32 --secs 0.3 >"$work/plain.out" 2>&1
echo "no Fast extension: $(cat "$work/plain.out")"
grep -q '^first=have haves=1 bitfield_pieces=0 ' "$work/plain.out" ||
	fail "a peer without the Fast extension: want no bitfield and one have: $(cat "$work/plain.out")"

# liars
"$PY" "$SS" liar --peer "127.0.0.1:$S_PORT" --hash "$H" --pieces 32 --secs 2.2 >"$work/liar.out" 2>&1 ||
	{ fail "the liar peers failed"; show "$work/liar.out"; }
echo "liar: $(cat "$work/liar.out")"
grep -q 'a_haves=1 b_haves=1 ' "$work/liar.out" ||
	fail "a liar's claims showed A or B a further piece: $(cat "$work/liar.out")"
serve_wait_stat superseed_liars 2 3 || fail "superseed_liars=$(serve_stat superseed_liars), want 2"
grep -q 'c_rejects=[1-9]' "$work/liar.out" || fail "C's request for a piece not shown was not rejected"
[ "$(serve_stat superseed_refused)" -ge 1 ] || fail "superseed_refused=$(serve_stat superseed_refused), want >= 1"
serve_stop
grep ' final: ' "$S_LOG" | tr ' ' '\n' | grep '^superseed_' | tr '\n' ' '
echo

# auto: a witness seed turns it off, and its leaving on again
ANN_PORTS=$work/ann.ports
bg "$PY" "$E2E_LIB/announce_tracker.py" --ports "$ANN_PORTS" --log "$work/ann.log"
trk_pid=$BG_PID
wait_until 5 test -s "$ANN_PORTS" || fail "announce_tracker.py did not start"
TRK=$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["http"])' "$ANN_PORTS")
cp "$S_DIR/data/ss.bin" "$S_DIR/data/crowded.bin"
serve_torrent "$S_DIR/data/crowded.bin" crowded.bin -a "http://127.0.0.1:$TRK/ok/announce" || exit 1
H2=$(serve_hash crowded.bin)
serve_start -o serve.super_seed=auto -o serve.stats_interval=1 -o announce.enable=yes || exit 1
probe() { "$PY" "$SS" probe --peer "127.0.0.1:$S_PORT" "$@"; }
probe --hash "$H" --secs 0.3 --until-file "$work/a.stop" >"$work/probe-a.out" 2>&1 &
pa=$!
sleep 0.5
bg "$PY" "$SS" seed --peer "127.0.0.1:$S_PORT" --data "$S_DIR/data" --until-file "$work/seed.stop" \
	"$S_DIR/torrents/ss.bin.torrent"
lseed=$BG_PID
serve_wait_stat superseed_off 1 5 || fail "auto: a libtorrent seed connected, superseed_off=$(serve_stat superseed_off)"
probe --hash "$H" --secs 0.3 >"$work/probe-b.out" 2>&1
touch "$work/a.stop"
wait $pa
touch "$work/seed.stop"
wait $lseed
echo "auto: before the seed: $(cat "$work/probe-a.out"); while it was there: $(cat "$work/probe-b.out")"
grep -q '^first=have_none haves=32 ' "$work/probe-a.out" ||
	fail "auto: the peer hidden from was not sent every piece once the seed came: $(cat "$work/probe-a.out")"
grep -q '^first=have_all ' "$work/probe-b.out" || fail "auto: a new peer did not get have_all with another seed there"
probe --hash "$H" --secs 0.5 >"$work/probe-c.out" 2>&1
echo "auto: after the seed left: $(cat "$work/probe-c.out")"
grep -q '^first=have_none haves=1 ' "$work/probe-c.out" || fail "auto: the seed left, a new peer did not get have_none and one have"
# auto never refuses a piece: a peer that asks for one it was not shown (a
# client or load generator that assumes a seed has everything) is served
# and becomes a plain peer, told every piece
probe --hash "$H" --request 7 --secs 3 >"$work/probe-r.out" 2>&1
echo "auto: a peer asking for a piece it was not shown: $(cat "$work/probe-r.out")"
grep -q '^first=have_none haves=32 .* pieces=1 rejects=0' "$work/probe-r.out" ||
	fail "auto: a request for a piece not shown was not served, or the peer not made plain"
# the tracker says complete=3 for the other torrent
wait_until 10 grep -q "$H2" "$work/ann.log" || fail "no announce of crowded.bin reached the tracker"
for ((i = 0; i < 6; i++)); do # the master copies the trackers' counts once a second
	probe --hash "$H2" --secs 0.2 >"$work/probe-d.out" 2>&1
	grep -q '^first=have_all ' "$work/probe-d.out" && break
	sleep 0.3
done
echo "auto: tracker says complete=3: $(cat "$work/probe-d.out")"
grep -q '^first=have_all ' "$work/probe-d.out" || fail "auto: complete=3 from the tracker, but no have_all"
serve_stop
kill "$trk_pid" 2>/dev/null
wait "$trk_pid" 2>/dev/null

echo "serve_superseed: $(($(date +%s) - start)) s, $fails failures"
serve_logs_clean
[ $fails -eq 0 ]
