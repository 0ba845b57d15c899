#!/usr/bin/env bash
# timeout: 120
#
# `ringseed serve` against hostile and broken peers (tests/lib/serve_hostile.py
# plays them, each from its own 127.0.0.X), while an honest libtorrent leecher
# downloads (rate-limited, so it runs through all of it) and must complete
# byte-exact without ever losing its connection.
#   greeting: our handshake bits (extension + Fast), HAVE_ALL to a Fast peer,
#     a full bitfield to a peer without Fast, the BEP 10 handshake, unchoke,
#     and right bytes for the first block and the short last piece
#   garbage handshake            -> EOF, nothing sent; drop_mse_refused +1 (this
#     instance runs with net.encryption = off; under allow, bytes that are not
#     a handshake are taken for an MSE opening: tests/e2e/serve_mse.sh)
#   unknown info-hash            -> EOF, nothing sent; drop_unknown_hash +1
#   bad requests with Fast (past a piece, past the torrent, past the short
#     last piece, length 0, length max_request+1, begin = piece size)
#                                -> one reject_request each, connection kept; rejects +6
#   100 requests too long, in one packet
#                                -> 100 reject_request, in order, intact; rejects +100
#   the same without Fast        -> EOF each; drop_bad_request +6
#   a 2 GB length prefix         -> EOF; drop_protocol +1
#   1000 requests at once (reqq 500) on a peer that reads nothing for 2 s
#                                -> EOF before all were served; drop_flood +1
#   450 requests then 300 cancels -> each request answered once: block, or
#                                   reject_request for a cancelled one (BEP 6)
#   300 requests, never reads    -> dropped after idle_timeout (5 s); drop_idle +1
#   reqq (500) requests at once on a peer that reads nothing for 1 s, then
#     500 more as blocks come    -> every block served once, in order, right
#                                   bytes (the request queue grows to reqq and
#                                   goes round its ring)
#   500 half-open handshakes     -> all closed after handshake_timeout (2 s);
#                                   drop_handshake_timeout +500
# Then the stuck peer, the cancels, the pipeline, the flood and the reject burst
# again with --send-strategy splice (blocks in flight in pipes) and, at the
# same time, serve.max_request=128K and serve.reqq=10: a 128 KiB
# block served, one byte more rejected, and the pipeline of 10 (a queue that
# is a ring from the start); and 1 worker, unchoke_slots=1, max_peers=16: a
# second interested peer stays choked (its request rejected) until the first
# leaves; 20 peers at once: 16 get our handshake, 4 EOF, drop_too_many +4.
# No worker restarts, a clean SIGTERM, no sanitizer report.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
serve_need
cd "$work" || exit 1
start=$(date +%s)

serve_init "$work/s"
S_PL=256K serve_add_file h.bin $((16 * 1048576 + 5000)) || exit 1
serve_add_file honest.bin $((12 * 1048576 + 3)) || exit 1
H=$S_DIR/torrents/h.bin.torrent
HC=$S_DIR/data/h.bin
OPTS=(-o serve.handshake_timeout=2 -o serve.stats_interval=1 -o serve.idle_timeout=5
	-o serve.unchoke_slots=0 -o serve.reqq=500 -o net.encryption=off)
serve_start "${OPTS[@]}" || exit 1
serve_wait_stat handshakes 0 5 || fail "no 'stats:' line within 5 s of ready (stats_interval=1)"

# hostile CASE IP ARGS...: one case of serve_hostile.py from 127.0.0.IP
hostile() {
	local c=$1 ip=$2
	shift 2
	"$PY" "$E2E_LIB/serve_hostile.py" "$c" --peer "127.0.0.1:$S_PORT" --torrent "$H" \
		--content "$HC" --bind "127.0.0.$ip" "$@" >"$work/$c.out" 2>&1
	local rc=$?
	cat "$work/$c.out"
	[ $rc -eq 0 ] || fail "$c: the peer did not see what the spec asks for (above)"
	return $rc
}

# no peer left connected (the last stats line says peers=0)
no_peers() {
	[ "$(serve_stat peers)" = 0 ]
}

# counted KEY DELTA CASE IP ARGS...: the case passes and KEY rises by DELTA
counted() {
	local key=$1 delta=$2 c=$3 before
	shift 2
	before=$(serve_stat "$key")
	hostile "$@"
	if ! serve_wait_stat "$key" $((${before:-0} + delta)) 5; then
		fail "$c: $key went from ${before:-?} to $(serve_stat "$key"), want +$delta"
	fi
}

# the honest leecher, through all of it
mkdir -p "$work/honest"
bg "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --bind 127.0.0.2 --save "$work/honest" \
	--timeout 80 --rate 1000000 --max-disconnects 0 --status "$work/honest.status" \
	"$S_DIR/torrents/honest.bin.torrent" >"$work/honest.out" 2>&1
honest=$BG_PID
wait_until 20 grep -qs ' 1$' "$work/honest.status" || fail "the honest leecher did not connect within 20 s"

# in the background meanwhile: the peer that never reads, the half-open crowd
before_idle=$(serve_stat drop_idle)
before_hst=$(serve_stat drop_handshake_timeout)
hostile stuck 30 --count 300 --wait 8 &
stuck=$!
hostile half-open 31 --count 500 --wait 8 &
halfopen=$!

hostile greet 10
hostile greet 11 --no-fast
hostile greet 12 --no-ext
counted drop_mse_refused 1 garbage 13
counted drop_unknown_hash 1 unknown-hash 14
counted rejects 6 bad-requests 15
counted rejects 100 reject-burst 24 --count 100
counted drop_bad_request 6 bad-requests-nofast 16
counted drop_protocol 1 big-length 17
counted drop_flood 1 flood 18 --count 1000
hostile cancel 19 --count 450
hostile pipeline 25 --count 500

wait $stuck || fails=$((fails + 1))
wait $halfopen || fails=$((fails + 1))
serve_wait_stat drop_idle $((${before_idle:-0} + 1)) 5 ||
	fail "stuck: drop_idle went from ${before_idle:-?} to $(serve_stat drop_idle), want +1"
serve_wait_stat drop_handshake_timeout $((${before_hst:-0} + 500)) 5 ||
	fail "half-open: drop_handshake_timeout went from ${before_hst:-?} to $(serve_stat drop_handshake_timeout), want +500"

# still healthy after all that
hostile greet 20
serve_save first

# Three more instances, each on this content with its own ports, while the
# honest leecher finishes on the first: one with --send-strategy splice, one
# with max_request raised and reqq 10, one with one worker and one unchoke
# slot. The cases of the last two go in the background (their failures
# counted through the exit status), starts and stops stay here.
# max_request raised to 128 KiB (pieces of h.bin are 256 KiB)
serve_init_shared "$work/s-maxreq"
maxreq=
if serve_start "${OPTS[@]}" -o serve.max_request=131072 -o serve.reqq=10; then
	serve_save maxreq
	(
		f0=$fails
		hostile max-request 21 --max-request 131072
		hostile pipeline 26 --count 10
		[ "$fails" -eq "$f0" ]
	) &
	maxreq=$!
fi

# one worker with one unchoke slot and room for 16 peers
serve_use first
serve_init_shared "$work/s-slots"
slots=
if serve_start --workers 1 -o serve.stats_interval=1 -o serve.unchoke_slots=1 -o serve.max_peers=16; then
	serve_save slots
	(
		f0=$fails
		hostile slots 22
		wait_until 5 no_peers || fail "slots: peers=$(serve_stat peers) 5 s after they left"
		counted drop_too_many 4 too-many 23 --count 20 --max-peers 16
		[ "$fails" -eq "$f0" ]
	) &
	slots=$!
fi

# the cases where blocks are in flight, with --send-strategy splice
serve_use first
serve_init_shared "$work/s-splice"
if serve_start "${OPTS[@]}" --send-strategy splice; then
	serve_wait_stat handshakes 0 5 || fail "splice: no 'stats:' line within 5 s of ready (stats_interval=1)"
	before_idle=$(serve_stat drop_idle)
	hostile stuck 32 --count 300 --wait 8 &
	stuck=$!
	hostile cancel 33 --count 450
	hostile pipeline 37 --count 500
	counted drop_flood 1 flood 34 --count 1000
	counted rejects 100 reject-burst 35 --count 100
	hostile greet 36
	wait $stuck || fails=$((fails + 1))
	serve_wait_stat drop_idle $((${before_idle:-0} + 1)) 5 ||
		fail "splice: stuck: drop_idle went from ${before_idle:-?} to $(serve_stat drop_idle), want +1"
	[ "$(serve_stat worker_restarts)" = 0 ] || fail "splice: worker_restarts=$(serve_stat worker_restarts)"
	serve_stop
fi
serve_save splice

serve_use first
if wait $honest; then
	cat "$work/honest.out"
	tree_cmp "$S_DIR/data/honest.bin" "$work/honest/honest.bin" || fail "honest.bin differs"
else
	fail "the honest leecher failed during the attacks"
	show "$work/honest.out"
fi
[ "$(serve_stat worker_restarts)" = 0 ] || fail "worker_restarts=$(serve_stat worker_restarts): a worker died"
grep ' stats: ' "$S_LOG" | tail -n 1 | sed 's/.*stats:/stats:/'
serve_stop
for i in maxreq slots; do
	[ -n "${!i}" ] || continue
	wait "${!i}" || fails=$((fails + 1))
	serve_use $i
	serve_stop
done
for i in first splice maxreq slots; do
	serve_use $i
	[ -z "$S_PID" ] || serve_logs_clean
done

echo "serve_hostile: $(($(date +%s) - start)) s, $fails failures"
[ $fails -eq 0 ]
