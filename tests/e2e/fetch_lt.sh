#!/usr/bin/env bash
# timeout: 60
#
# `ringseed fetch` from python3-libtorrent seeders, byte-exact:
#   - a single file (4 MB + 11 bytes, 32 KiB pieces, short last piece) from a
#     seeder capped at 1 MB/s, the fetch killed with SIGKILL once its resume
#     state holds pieces; the second run says how many pieces were already
#     there (some, not all), fetches only the rest and completes;
#   - the multi-file test tree (nested directories, 0-byte files, odd sizes)
#     from an uncapped seeder;
#   - then `ringseed serve` on the fetcher's data and state directories
#     starts both torrents "verified from state" (no hashing: the fetch saved
#     the verify state), and a libtorrent leecher downloads both from it.
set -u
: "${RINGSEED:?RINGSEED must name the ringseed binary}"
: "${TOP:=$(cd "$(dirname "$0")/../.." && pwd)}"
. "$TOP/tests/lib/e2e.sh"
. "$TOP/tests/lib/serve.sh"
. "$TOP/tests/lib/fetch.sh"
serve_need
cd "$work" || exit 1

mkdir -p seed t
"$PY" "$LT" mkfile seed/one.bin 4000011 || exit 1
"$PY" "$LT" mktree seed/tree || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/one.bin -o t/one.bin.torrent || exit 1
"$RINGSEED" create -q -f v1 -l 32K seed/tree -o t/tree.torrent || exit 1
ONE=$("$PY" "$LT" hash t/one.bin.torrent)
P1=$(free_port)
P2=$(free_port)
fetch_lt_seed lt1.log t/one.bin.torrent seed "$P1" --rate 1000000 || exit 1
fetch_lt_seed lt2.log t/tree.torrent seed "$P2" || exit 1

# serve_init makes l/{data,torrents,state}: the fetches land where serve looks
serve_init "$work/l"

fetch_bg f1.log t/one.bin.torrent l --peer "127.0.0.1:$P1"
pid=$BG_PID
if wait_until 15 fetch_state_some "l/state/$ONE.fetch"; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	[ -e "l/state/$ONE.state" ] && fail "killed halfway, yet the verify state is there"
else
	fail "no resume state within 15 s"
	show f1.log
fi
if ! fetch_go f2.log t/one.bin.torrent l --peer "127.0.0.1:$P1"; then
	fail "second fetch of one.bin failed"
	show f2.log
fi
here=$(sed -n 's/.*fetch: one.bin: \([0-9]*\) of 123 pieces already here.*/\1/p' f2.log)
if [ -z "$here" ] || [ "$here" -eq 0 ] || [ "$here" -ge 123 ]; then
	fail "the second run did not resume halfway (already here: '${here:-none}')"
	show f2.log
fi
got=$(fetch_count f2.log pieces)
[ "${got:-0}" -eq $((123 - ${here:-0})) ] || fail "second run fetched ${got:-?} pieces, expected $((123 - ${here:-0}))"
tree_cmp seed/one.bin l/data/one.bin || fail "one.bin differs"
[ -e "l/state/$ONE.fetch" ] && fail "the .fetch state outlived the complete fetch"
[ -e "l/state/$ONE.state" ] || fail "no verify state after the fetch"

if ! fetch_go f3.log t/tree.torrent l --peer "127.0.0.1:$P2"; then
	fail "fetch of the tree failed"
	show f3.log
fi
tree_cmp seed/tree l/data/tree || fail "tree differs"
[ "$(fetch_count f3.log hash_fails)" = 0 ] || fail "hash failures from libtorrent"

# the seeder takes over without hashing
cp t/*.torrent l/torrents/
serve_start || exit 1
serve_wait_log 'torrent one.bin: verified from state' 5 || fail "one.bin was not verified from state"
serve_wait_log 'torrent tree: verified from state' 5 || fail "tree was not verified from state"
grep -q 'hashed' "$S_LOG" && { fail "serve hashed fetched content"; show_tail "$S_LOG"; }
if ! "$PY" "$LT" leech --peer "127.0.0.1:$S_PORT" --save "$work/leech" --timeout 15 \
	t/one.bin.torrent t/tree.torrent >leech.log 2>&1; then
	fail "libtorrent could not download the fetched content from serve"
	show leech.log
fi
tree_cmp seed/tree leech/tree || fail "leeched tree differs"
serve_stop || fail "serve did not stop cleanly"
sanitizer_clean f1.log f2.log f3.log || fail "sanitizer report in a fetch log"
serve_logs_clean || fail "sanitizer report in serve's log"
[ "$fails" -eq 0 ]
